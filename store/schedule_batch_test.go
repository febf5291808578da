package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"iwf/internal/testutil"
)

// gatherSchedules makes s write schedule writes only in batches of
// exactly n, as gather does for Enqueues.
func gatherSchedules(s *Store, n int) {
	s.schedules = newBatcher(time.Hour, n, s.writeSchedules)
	s.schedules.eager = false
}

// schedOp is one schedule write of a test and its outcome.
type schedOp struct {
	kind       byte // 's', 'r', 'u'
	name, id   string
	value      string
	maxLen     int
	due        time.Duration   // after the batch's due time (s, r)
	ctx        context.Context // nil: the test's
	wantOK     bool            // r, u: settled
	wantErr    error           // errors.Is
	wantErrMsg string          // contained in the error
	ok         bool
	err        error
}

// do runs the write.
func (o *schedOp) do(ctx context.Context, s *Store, due time.Time) {
	if o.ctx != nil {
		ctx = o.ctx
	}
	due = due.Add(o.due)
	switch o.kind {
	case 's':
		o.err = s.Schedule(ctx, o.name, o.id, []byte(o.value), due, o.maxLen, time.Hour)
	case 'r':
		o.ok, o.err = s.Reschedule(ctx, o.name, o.id, []byte(o.value), due)
	case 'u':
		o.ok, o.err = s.Unschedule(ctx, o.name, o.id, []byte(o.value))
	}
}

// check reports an outcome other than the one wanted.
func (o *schedOp) check(t *testing.T, i int) {
	t.Helper()
	switch {
	case o.wantErrMsg != "":
		if o.err == nil || !strings.Contains(o.err.Error(), o.wantErrMsg) || !strings.HasPrefix(o.err.Error(), "store: ") {
			t.Errorf("op %d %c %s/%s: %v, want a store error saying %s", i, o.kind, o.name, o.id, o.err, o.wantErrMsg)
		}
	case o.wantErr != nil:
		if !errors.Is(o.err, o.wantErr) {
			t.Errorf("op %d %c %s/%s: %v, want %v", i, o.kind, o.name, o.id, o.err, o.wantErr)
		}
	case o.err != nil || o.ok != o.wantOK:
		t.Errorf("op %d %c %s/%s = %v, %v; want %v, nil", i, o.kind, o.name, o.id, o.ok, o.err, o.wantOK)
	}
}

// scheduleInOrder runs ops as one batch, each caller joining it once
// the one before has: the batch holds them in the order given.
func scheduleInOrder(t *testing.T, s *Store, due time.Time, ops []*schedOp) {
	t.Helper()
	ctx := testutil.Context(t)
	gatherSchedules(s, len(ops))
	var wg sync.WaitGroup
	for i, o := range ops {
		wg.Go(func() { o.do(ctx, s, due) })
		if i < len(ops)-1 {
			testutil.Eventually(t, func() bool { return s.schedules.waitingNow() == i+1 }, "op %d in the batch", i)
		}
	}
	wg.Wait()
}

// commandCalls is how many times the masters ran each command (INFO
// commandstats calls, summed over the masters of a cluster).
func commandCalls(t *testing.T, e *env, cmds ...string) map[string]int64 {
	t.Helper()
	ctx := testutil.Context(t)
	out := make(map[string]int64)
	var mu sync.Mutex
	read := func(c redis.Cmdable) error {
		info, err := c.Info(ctx, "commandstats").Result()
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, cmd := range cmds {
			_, rest, ok := strings.Cut(info, "cmdstat_"+cmd+":calls=")
			if !ok {
				continue
			}
			n, _ := strconv.ParseInt(rest[:strings.IndexByte(rest, ',')], 10, 64)
			out[cmd] += n
		}
		return nil
	}
	c := e.raw(t)
	if cc, ok := c.(*redis.ClusterClient); ok {
		must(t, cc.ForEachMaster(ctx, func(_ context.Context, n *redis.Client) error { return read(n) }))
	} else {
		must(t, read(c))
	}
	return out
}

// A batch of writes of one schedule is one script call that runs them
// in the order they came, each seeing those before it (the bound, a
// value replaced or settled), with one PEXPIRE per key; a schedule
// beside it in the same batch gets its own call.
func TestBatchScheduleOneCallInOrder(t *testing.T) {
	eachBatchBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		s := e.s
		const a, b = "receipts:a", "receipts:b"
		ops := []*schedOp{
			{kind: 's', name: a, id: "1", value: "v1", maxLen: 2},
			{kind: 's', name: a, id: "2", value: "v2", maxLen: 2},
			{kind: 's', name: b, id: "1", value: "b1", maxLen: 1},
			{kind: 's', name: a, id: "3,", value: "v3", maxLen: 2, wantErr: ErrQueueFull},
			{kind: 's', name: a, id: "1", value: "v1'", maxLen: 2}, // replaces: no new job
			{kind: 'u', name: a, id: "1", value: "v1"},             // the old value: left
			{kind: 'u', name: a, id: "1", value: "v1'", wantOK: true},
			{kind: 's', name: a, id: "3,", value: "v,3\x00,9,", maxLen: 2}, // room again; any bytes
			{kind: 'r', name: a, id: "2", value: "v2", due: time.Hour, wantOK: true},
			{kind: 'r', name: a, id: "1", value: "v1'"}, // settled before
			{kind: 'u', name: a, id: "4", value: "v4"},  // never there
			{kind: 's', name: b, id: "2", value: "b2", maxLen: 1, wantErr: ErrQueueFull},
			{kind: 'u', name: b, id: "1", value: "b1", wantOK: true},
			{kind: 's', name: b, id: "1", value: "b1'", maxLen: 1, due: time.Minute}, // back
		}
		for _, name := range []string{a, b} {
			// The masters learn the script (a fresh one answers the
			// first EVALSHA with NOSCRIPT, and the batch EVALs).
			must(t, s.Schedule(ctx, name, "warm", []byte("w"), time.Now(), 1, time.Hour))
			if ok, err := s.Unschedule(ctx, name, "warm", []byte("w")); err != nil || !ok {
				t.Fatalf("Unschedule warm = %v, %v", ok, err)
			}
		}
		before := commandCalls(t, e, "evalsha", "eval", "pexpire")
		due := time.Now()
		scheduleInOrder(t, s, due, ops)
		after := commandCalls(t, e, "evalsha", "eval", "pexpire")
		for i, o := range ops {
			o.check(t, i)
		}
		if n := after["evalsha"] + after["eval"] - before["evalsha"] - before["eval"]; n != 2 {
			t.Errorf("%d script calls for a batch of two schedules, want 2", n)
		}
		if n := after["pexpire"] - before["pexpire"]; n != 4 {
			t.Errorf("%d PEXPIRE for a batch of two schedules, want 4 (one per key)", n)
		}
		got, err := s.TakeDue(ctx, a, due, 2*time.Hour, 10)
		must(t, err)
		var ids []string
		for _, j := range got {
			ids = append(ids, j.ID+"="+string(j.Value))
		}
		if want := "3,=v,3\x00,9,"; strings.Join(ids, " ") != want {
			t.Errorf("schedule a has %q due, want %s", ids, want)
		}
		later, err := s.TakeDue(ctx, a, due.Add(time.Hour), time.Minute, 10)
		if err != nil || len(later) != 1 || later[0].ID != "2" {
			t.Errorf("schedule a has %v due an hour later, %v; want job 2, rescheduled", later, err)
		}
		if got, err := s.TakeDue(ctx, b, due, time.Minute, 10); err != nil || len(got) != 0 {
			t.Errorf("schedule b has %v due, %v; want none", got, err)
		}
		got, err = s.TakeDue(ctx, b, due.Add(time.Minute), time.Minute, 10)
		if err != nil || len(got) != 1 || got[0].ID != "1" || string(got[0].Value) != "b1'" {
			t.Errorf("schedule b has %v due a minute later, %v; want 1=b1', scheduled again", got, err)
		}
		z, h := s.keys.schedule(a)
		for _, k := range []string{z, h} {
			if ttl := e.raw(t).PTTL(ctx, k).Val(); ttl <= 0 || ttl > time.Hour+time.Hour/16 {
				t.Errorf("TTL of %s = %v, want up to an hour and its slack", k, ttl)
			}
		}
	})
}

// A write Redis refuses fails the callers whose writes its schedule's
// call made, with Redis's error wrapped, and no other: those whose
// outcome needed no write keep it, another schedule of the batch is
// written. A schedule whose keys are unreadable fails all its callers
// alike.
func TestBatchScheduleErrors(t *testing.T) {
	eachBatchBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		s := e.s
		const torn, broken, fine = "receipts:torn", "receipts:broken", "receipts:fine"
		raw := e.raw(t)
		z, _ := s.keys.schedule(torn)
		must(t, raw.Set(ctx, z, "not a sorted set", time.Hour).Err()) // ZADD refused
		_, h := s.keys.schedule(broken)
		must(t, raw.Set(ctx, h, "not a hash", time.Hour).Err()) // every read refused
		ops := []*schedOp{
			{kind: 'u', name: torn, id: "1", value: "v"}, // a read only: not there
			{kind: 's', name: torn, id: "1", value: "v", maxLen: 10, wantErrMsg: "WRONGTYPE"},
			{kind: 's', name: fine, id: "1", value: "v", maxLen: 10},
			{kind: 'r', name: torn, id: "1", value: "v", wantErrMsg: "WRONGTYPE"},
			{kind: 'u', name: torn, id: "2", value: "v"}, // a read only: not there
			{kind: 's', name: broken, id: "1", value: "v", maxLen: 10, wantErrMsg: "WRONGTYPE"},
			{kind: 'r', name: broken, id: "1", value: "v", wantErrMsg: "WRONGTYPE"},
		}
		scheduleInOrder(t, s, time.Now(), ops)
		for i, o := range ops {
			o.check(t, i)
		}
		got, err := s.TakeDue(ctx, fine, time.Now(), time.Minute, 10)
		if err != nil || len(got) != 1 {
			t.Errorf("schedule beside the failing ones holds %v, %v; want its job", got, err)
		}
	})
}

// A caller whose context ends while it waits for its batch returns with
// its context's error and is left out; the others of the batch are
// written.
func TestBatchScheduleCallerCancelled(t *testing.T) {
	eachBatchBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		s := e.s
		gone, cancel := context.WithCancel(ctx)
		cancel()
		const name = "receipts:p"
		ops := []*schedOp{
			{kind: 's', name: name, id: "gone", value: "v", maxLen: 10, ctx: gone, wantErr: context.Canceled},
			{kind: 's', name: name, id: "1", value: "v", maxLen: 10},
			{kind: 'u', name: name, id: "1", value: "v", wantOK: true},
			{kind: 's', name: name, id: "2", value: "v", maxLen: 10},
		}
		scheduleInOrder(t, s, time.Now(), ops)
		for i, o := range ops {
			o.check(t, i)
		}
		got, err := s.TakeDue(ctx, name, time.Now(), time.Minute, 10)
		if err != nil || len(got) != 1 || got[0].ID != "2" {
			t.Errorf("schedule holds %v, %v; want job 2 only: the cancelled write is left out", got, err)
		}
	})
}

// Close writes the schedule writes still gathering and returns once each
// has its outcome; a write after Close is refused as unavailable.
func TestBatchScheduleCloseFlushes(t *testing.T) {
	eachBatchBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		s, err := Open(ctx, e.cfg, testutil.Logger(t))
		must(t, err)
		gatherSchedules(s, 100)
		const name = "receipts:p"
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { errs[i] = s.Schedule(ctx, name, fmt.Sprint(i), []byte("v"), time.Now(), 10, time.Hour) })
		}
		testutil.Eventually(t, func() bool { return s.schedules.waitingNow() == 2 }, "both writes in the batch")
		must(t, s.Close())
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Schedule %d across Close: %v", i, err)
			}
		}
		got, err := e.second(t).TakeDue(ctx, name, time.Now(), time.Minute, 10)
		if err != nil || len(got) != 2 {
			t.Errorf("after Close the schedule holds %v, %v; want both jobs", got, err)
		}
		if _, err := s.Unschedule(ctx, name, "0", []byte("v")); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Unschedule after Close: %v, want ErrUnavailable", err)
		}
	})
}

// A schedule's expiry only grows, by a slack past what the last job
// needs: a write with a shorter TTL leaves it, writes within the slack
// rewrite it not at all (a PEXPIRE is a write to the AOF and the
// replicas), a longer TTL extends it.
func TestScheduleExpiryOnlyGrows(t *testing.T) {
	eachBatchBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		s := e.s
		const name = "receipts:ttl"
		z, h := s.keys.schedule(name)
		expiry := func() (lo time.Duration) {
			for i, k := range []string{z, h} {
				ttl := e.raw(t).PTTL(ctx, k).Val()
				if i == 0 || ttl < lo {
					lo = ttl
				}
			}
			return lo
		}
		pexpires := func(f func()) int64 {
			before := commandCalls(t, e, "pexpire")
			f()
			return commandCalls(t, e, "pexpire")["pexpire"] - before["pexpire"]
		}
		put := func(id string, ttl time.Duration) {
			must(t, s.Schedule(ctx, name, id, []byte("v"), time.Now().Add(time.Hour), 10, ttl))
		}
		if n := pexpires(func() { put("a", 2*time.Hour) }); n != 2 {
			t.Errorf("new schedule: %d PEXPIRE, want 2 (one per key)", n)
		}
		if got := expiry(); got <= 2*time.Hour-time.Minute || got > 2*time.Hour+2*time.Hour/16 {
			t.Errorf("expiry %v after a 2h job, want 2h and up to its slack", got)
		}
		if n := pexpires(func() { put("b", time.Hour); put("c", 2*time.Hour) }); n != 0 {
			t.Errorf("%d PEXPIRE for jobs the expiry already covers, want 0", n)
		}
		if got := expiry(); got <= 2*time.Hour-time.Minute {
			t.Errorf("expiry %v after a 1h job, want still the 2h job's", got)
		}
		put("d", 3*time.Hour)
		if got := expiry(); got <= 3*time.Hour-time.Minute {
			t.Errorf("expiry %v after a 3h job, want 3h or more", got)
		}
	})
}
