package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"iwf/internal/testutil"
	"iwf/store/redistest"
)

// batchBackends are the topologies the batch tests run on: one Redis,
// where a batch is one script call, and a cluster, where it is one per
// slot spread over the masters.
var batchBackends = []string{"redis", ModeCluster}

// eachBatchBackend runs fn on a fresh store of each batch backend.
func eachBatchBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range batchBackends {
		t.Run(b, func(t *testing.T) {
			e := &env{real: true}
			if b == ModeCluster {
				e.cfg = topology(t, b)
			} else {
				e.cfg.Addr = redistest.Start(t)
			}
			e.s = open(t, e.cfg)
			fn(t, e)
		})
	}
}

// gather makes s write Enqueues only in batches of exactly n: the window
// never ends within a test, so a batch is written when its n-th entry
// comes (or at Close), whatever the scheduler does.
func gather(s *Store, n int) {
	s.batch = newBatcher(time.Hour, n, s.writeEnqueues)
	s.batch.eager = false
}

// call is one Enqueue of a test and its outcome.
type call struct {
	conv, msgID string
	maxLen      int
	dup         bool
	err         error
}

// enqueueAll runs the calls concurrently, each with its own context
// from ctxOf, and returns once every one has its outcome.
func enqueueAll(s *Store, calls []*call, ctxOf func(i int) context.Context) {
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.dup, c.err = s.Enqueue(ctxOf(i), c.conv, c.msgID, []byte(c.msgID), time.Hour, c.maxLen)
		}()
	}
	wg.Wait()
}

// queued lists the payloads queued on conv, oldest first.
func queued(t *testing.T, s *Store, conv string) []string {
	t.Helper()
	es, err := s.Read(testutil.Context(t), conv, 100, 0)
	must(t, err)
	var out []string
	for _, e := range es {
		out = append(out, string(e.Payload))
	}
	return out
}

// One batch holding a new entry, a duplicate of an entry queued before,
// the same new message twice, and an entry beyond the queue's bound:
// each caller gets its own entry's outcome, as if they had come one
// after the other. On the cluster the batch spans several slots.
func TestBatchOutcomesPerCaller(t *testing.T) {
	eachBatchBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		s := e.s
		if _, err := s.Enqueue(ctx, "full", "f0", []byte("f0"), time.Hour, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Enqueue(ctx, "c", "m0", []byte("m0"), time.Hour, 10); err != nil {
			t.Fatal(err)
		}
		calls := []*call{
			{conv: "c", msgID: "m0", maxLen: 10},   // duplicate of an earlier batch
			{conv: "c", msgID: "m1", maxLen: 10},   // new
			{conv: "c", msgID: "m2", maxLen: 10},   // twice in this batch
			{conv: "c", msgID: "m2", maxLen: 10},   //
			{conv: "full", msgID: "f1", maxLen: 1}, // queue full
			{conv: "other", msgID: "o1", maxLen: 10},
			{conv: "c", msgID: "", maxLen: 10}, // no dedup
		}
		gather(s, len(calls))
		enqueueAll(s, calls, func(int) context.Context { return ctx })

		want := func(i int, dup bool, err error) {
			t.Helper()
			c := calls[i]
			if c.dup != dup || !errors.Is(c.err, err) || (err == nil) != (c.err == nil) {
				t.Errorf("Enqueue(%s, %q) = dup %v, %v; want dup %v, %v", c.conv, c.msgID, c.dup, c.err, dup, err)
			}
		}
		want(0, true, nil)
		want(1, false, nil)
		want(4, false, ErrQueueFull)
		want(5, false, nil)
		want(6, false, nil)
		// The same message twice in one batch: stored once, the other a
		// duplicate, whichever came first.
		if calls[2].err != nil || calls[3].err != nil || calls[2].dup == calls[3].dup {
			t.Errorf("m2 twice: dup %v, %v / dup %v, %v; want one stored and one duplicate",
				calls[2].dup, calls[2].err, calls[3].dup, calls[3].err)
		}
		got := queued(t, s, "c")
		slices.Sort(got)
		if want := []string{"", "m0", "m1", "m2"}; !slices.Equal(got, want) {
			t.Errorf("queue c holds %q, want %q", got, want)
		}
		if got := queued(t, s, "full"); !slices.Equal(got, []string{"f0"}) {
			t.Errorf("queue full holds %q, want [f0]", got)
		}
		pending, err := s.PendingConversations(ctx, 10)
		must(t, err)
		slices.Sort(pending)
		if want := []string{"c", "full", "other"}; !slices.Equal(pending, want) {
			t.Errorf("pending index %q, want %q", pending, want)
		}
	})
}

// Entries of one conversation keep their order within a batch and
// across batches, and two conversations of one batch on different
// masters of a cluster are both written.
func TestBatchKeepsOrder(t *testing.T) {
	eachBatchBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		s := e.s
		gather(s, 4)
		convs := []string{"a", "b", "c", "d"} // on several masters of the cluster
		for i := range 3 {
			var calls []*call
			for _, c := range convs {
				calls = append(calls, &call{conv: c, msgID: fmt.Sprint(c, i), maxLen: 10})
			}
			enqueueAll(s, calls, func(int) context.Context { return ctx })
			for _, c := range calls {
				must(t, c.err)
			}
		}
		for _, c := range convs {
			want := []string{c + "0", c + "1", c + "2"}
			if got := queued(t, s, c); !slices.Equal(got, want) {
				t.Errorf("queue %s holds %q, want %q", c, got, want)
			}
		}
	})
}

// A caller whose context ends while it waits for its batch returns with
// its context's error and is left out of the batch; the others of the
// batch are written as usual.
func TestBatchCallerCancelled(t *testing.T) {
	eachBatchBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		s := e.s
		gather(s, 3)
		gone, cancel := context.WithCancel(ctx)
		first := make(chan error, 1)
		go func() {
			_, err := s.Enqueue(gone, "c", "gone", []byte("gone"), time.Hour, 10)
			first <- err
		}()
		testutil.Eventually(t, func() bool { return s.batch.waitingNow() == 1 }, "the first Enqueue in the batch")
		cancel()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Enqueue: %v, want context.Canceled", err)
		}
		calls := []*call{{conv: "c", msgID: "m1", maxLen: 10}, {conv: "d", msgID: "m2", maxLen: 10}}
		enqueueAll(s, calls, func(int) context.Context { return ctx })
		for _, c := range calls {
			if c.err != nil || c.dup {
				t.Errorf("Enqueue(%s, %s) beside a cancelled one: dup %v, %v", c.conv, c.msgID, c.dup, c.err)
			}
		}
		if got := queued(t, s, "c"); !slices.Equal(got, []string{"m1"}) {
			t.Errorf("queue c holds %q, want [m1]: the cancelled entry is left out", got)
		}
	})
}

// Close writes the batch still gathering and returns once every caller
// has its outcome; an Enqueue after Close is refused as unavailable.
func TestBatchCloseFlushes(t *testing.T) {
	eachBatchBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		s, err := Open(ctx, e.cfg, testutil.Logger(t))
		must(t, err)
		gather(s, 100)
		calls := []*call{{conv: "a", msgID: "m1", maxLen: 10}, {conv: "b", msgID: "m2", maxLen: 10}}
		done := make(chan struct{})
		go func() {
			enqueueAll(s, calls, func(int) context.Context { return ctx })
			close(done)
		}()
		testutil.Eventually(t, func() bool { return s.batch.waitingNow() == 2 }, "both Enqueues in the batch")
		must(t, s.Close())
		<-done
		for _, c := range calls {
			if c.err != nil || c.dup {
				t.Errorf("Enqueue(%s) across Close: dup %v, %v; want written", c.conv, c.dup, c.err)
			}
		}
		for _, c := range []string{"a", "b"} {
			if got := queued(t, e.second(t), c); len(got) != 1 {
				t.Errorf("queue %s holds %q after Close, want one entry", c, got)
			}
		}
		if _, err := s.Enqueue(ctx, "a", "m3", []byte("x"), time.Hour, 10); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Enqueue after Close: %v, want ErrUnavailable", err)
		}
	})
}

// With MinReplicasAck a batch over several masters waits for each
// master's replicas once, and every entry reports the WAIT of its own
// master.
func TestBatchMinReplicasAck(t *testing.T) {
	for _, mode := range []string{ModeCluster, ModeSentinel} {
		t.Run(mode, func(t *testing.T) {
			ctx := testutil.Context(t)
			cfg := topology(t, mode)
			cfg.MinReplicasAck = 1
			s := open(t, cfg)
			gather(s, 4)
			var calls []*call
			for _, c := range []string{"a", "b", "c", "d"} {
				calls = append(calls, &call{conv: c, msgID: "m", maxLen: 10})
			}
			enqueueAll(s, calls, func(int) context.Context { return ctx })
			for _, c := range calls {
				if c.err != nil || c.dup {
					t.Errorf("Enqueue(%s) with one replica asked: dup %v, %v", c.conv, c.dup, c.err)
				}
			}
			cfg.MinReplicasAck, cfg.MinReplicasTimeout = 2, 50*time.Millisecond
			two := open(t, cfg)
			gather(two, 2)
			calls = []*call{{conv: "a", msgID: "m", maxLen: 10}, {conv: "d", msgID: "n", maxLen: 10}}
			enqueueAll(two, calls, func(int) context.Context { return ctx })
			for _, c := range calls {
				if !errors.Is(c.err, ErrUnavailable) {
					t.Errorf("Enqueue(%s, %s) with two replicas asked of one: %v, want ErrUnavailable", c.conv, c.msgID, c.err)
				}
			}
		})
	}
}

// clusterSlot matches the Cluster specification's CRC16 check value
// and Redis's own CLUSTER KEYSLOT for the store's keys.
func TestClusterSlot(t *testing.T) {
	// Cluster specification, "Key distribution model": CRC16 of
	// "123456789" is 0x31C3.
	if got := clusterSlot("123456789"); got != 0x31C3 {
		t.Errorf("clusterSlot(123456789) = %#x, want 0x31c3", got)
	}
	ctx := testutil.Context(t)
	e := &env{real: true, cfg: topology(t, ModeCluster)}
	e.s = open(t, e.cfg)
	raw := e.raw(t)
	for _, conv := range []string{"demo|+4611|+4622", "a", "x{y}%z", "ü"} {
		q := e.s.keys.queue(conv)
		want, err := raw.ClusterKeySlot(ctx, q).Result()
		must(t, err)
		if got := clusterSlot(e.s.keys.tag(conv)); int64(got) != want {
			t.Errorf("slot of %q = %d, CLUSTER KEYSLOT %d", q, got, want)
		}
	}
}

// Schedule writes share a pipeline: in one batch, after the server lost
// its scripts (SCRIPT FLUSH), two new jobs for a schedule with room for
// one and a job of another schedule each get their own outcome.
func TestBatchScripts(t *testing.T) {
	eachBatchBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		s := e.s
		gatherSchedules(s, 3)
		raw := e.raw(t)
		must(t, raw.ScriptFlush(ctx).Err())
		if cc, ok := raw.(interface {
			ForEachMaster(context.Context, func(context.Context, *redis.Client) error) error
		}); ok {
			must(t, cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.ScriptFlush(ctx).Err() }))
		}
		due := time.Now()
		jobs := []struct{ name, id string }{{"one", "j1"}, {"one", "j2"}, {"other", "j3"}}
		errs := make([]error, len(jobs))
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Schedule(ctx, j.name, j.id, []byte(j.id), due, 1, time.Hour)
			}()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Errorf("two jobs for one place: %v, %v; want one taken and one ErrQueueFull", errs[0], errs[1])
		}
		for i := range 2 {
			if errs[i] != nil && !errors.Is(errs[i], ErrQueueFull) {
				t.Errorf("job %s: %v, want nil or ErrQueueFull", jobs[i].id, errs[i])
			}
		}
		if errs[2] != nil {
			t.Errorf("job of another schedule: %v", errs[2])
		}
		got, err := s.TakeDue(ctx, "other", due, time.Minute, 10)
		must(t, err)
		if len(got) != 1 || got[0].ID != "j3" {
			t.Errorf("schedule other holds %v, want j3", got)
		}
	})
}

// An Enqueue that finds no batch being written goes at once: a lone
// caller does not wait for the window (here an hour) to pass.
func TestBatchLoneEnqueueGoesAtOnce(t *testing.T) {
	eachBatchBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		s := e.s
		s.batch = newBatcher(time.Hour, 64, s.writeEnqueues)
		for i := range 3 {
			if _, err := s.Enqueue(ctx, "c", fmt.Sprint("m", i), []byte("x"), time.Hour, 10); err != nil {
				t.Fatalf("lone Enqueue %d: %v", i, err)
			}
		}
	})
}
