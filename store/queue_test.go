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
)

const conv = "demo|+4611|+4622"

// enqueue adds payload under msgID and fails the test on error or dup.
func enqueue(t *testing.T, s *Store, conv, msgID string) {
	t.Helper()
	dup, err := s.Enqueue(testutil.Context(t), conv, msgID, []byte("body of "+msgID), time.Hour, 1000)
	if err != nil || dup {
		t.Fatalf("Enqueue(%s) = dup %v, %v", msgID, dup, err)
	}
}

// fields maps es with f: the message IDs or stream IDs of entries, the
// sequence numbers of parts.
func fields[T, U any](es []T, f func(T) U) []U {
	out := make([]U, len(es))
	for i, e := range es {
		out[i] = f(e)
	}
	return out
}

func msgIDs(es []Entry) []string { return fields(es, func(e Entry) string { return e.MsgID }) }
func ids(es []Entry) []string    { return fields(es, func(e Entry) string { return e.ID }) }

// readWant reads up to count entries of conv without blocking and fails
// the test unless their message IDs are want, in order.
func readWant(t *testing.T, s *Store, conv string, count int, want ...string) []Entry {
	t.Helper()
	es, err := s.Read(testutil.Context(t), conv, count, 0)
	if err != nil || !slices.Equal(msgIDs(es), want) {
		t.Fatalf("Read(%q, %d) = %q, %v; want %q", conv, count, msgIDs(es), err, want)
	}
	return es
}

func TestEnqueueDedup(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		enq := func(msgID string) bool {
			t.Helper()
			dup, err := e.s.Enqueue(ctx, conv, msgID, []byte("x"), e.ttl, 100)
			must(t, err)
			return dup
		}
		if enq("m1") {
			t.Fatal("first Enqueue is a duplicate")
		}
		if !enq("m1") {
			t.Fatal("second Enqueue within the dedup TTL is not a duplicate")
		}
		// The same message ID on another conversation is another message.
		if dup, err := e.s.Enqueue(ctx, conv+"x", "m1", []byte("x"), e.ttl, 100); err != nil || dup {
			t.Fatalf("other conversation: dup %v, %v", dup, err)
		}
		if n, _ := e.s.QueueLen(ctx, conv); n != 1 {
			t.Fatalf("queue length %d after a duplicate, want 1", n)
		}
		// After the TTL the marker is gone and the ID is new again.
		raw := e.raw(t)
		e.elapse(t, func() bool { return raw.Exists(ctx, e.s.keys.dedup(conv, "m1")).Val() == 0 })
		if enq("m1") {
			t.Fatal("Enqueue after the dedup TTL is a duplicate")
		}
		if n, _ := e.s.QueueLen(ctx, conv); n != 2 {
			t.Fatalf("queue length %d, want 2", n)
		}
	})
}

func TestEnqueueQueueFull(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		for i := range 3 {
			if _, err := e.s.Enqueue(ctx, conv, fmt.Sprint(i), nil, time.Hour, 3); err != nil {
				t.Fatalf("Enqueue %d: %v", i, err)
			}
		}
		_, err := e.s.Enqueue(ctx, conv, "3", nil, time.Hour, 3)
		if !errors.Is(err, ErrQueueFull) {
			t.Fatalf("4th Enqueue into 3: %v, want ErrQueueFull", err)
		}
		// A refused message leaves no dedup marker: its retry is queued
		// once there is room.
		es := readWant(t, e.s, conv, 1, "0")
		must(t, e.s.Ack(ctx, conv, es[0].ID))
		if dup, err := e.s.Enqueue(ctx, conv, "3", nil, time.Hour, 3); err != nil || dup {
			t.Fatalf("retry after Ack: dup %v, %v", dup, err)
		}
	})
}

func TestEnqueueInvalid(t *testing.T) {
	s := open(t, Config{})
	for _, tc := range []struct {
		name, conv, msgID string
		ttl               time.Duration
		max               int
	}{
		{"empty conv", "", "m", time.Second, 1},
		{"zero ttl", "c", "m", 0, 1},
		{"zero max", "c", "m", time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Enqueue(testutil.Context(t), tc.conv, tc.msgID, nil, tc.ttl, tc.max)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("err %v, want ErrInvalidArgument", err)
			}
		})
	}
}

func TestReadOrderAndAck(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		var want []string
		for i := range 50 {
			id := fmt.Sprintf("m%02d", i)
			enqueue(t, e.s, conv, id)
			want = append(want, id)
		}
		var got []string
		for len(got) < len(want) {
			es, err := e.s.Read(ctx, conv, 7, 0)
			must(t, err)
			if len(es) == 0 || len(es) > 7 {
				t.Fatalf("Read returned %d entries with %d left", len(es), len(want)-len(got))
			}
			for _, en := range es {
				if string(en.Payload) != "body of "+en.MsgID {
					t.Fatalf("entry %s payload %q", en.MsgID, en.Payload)
				}
			}
			got = append(got, msgIDs(es)...)
			must(t, e.s.Ack(ctx, conv, ids(es)...))
			n, err := e.s.QueueLen(ctx, conv)
			must(t, err)
			if int(n) != len(want)-len(got) {
				t.Fatalf("QueueLen %d after acking %d of %d", n, len(got), len(want))
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("order %v, want %v", got, want)
		}
		readWant(t, e.s, conv, 10)
		// Acking again, or nothing, is no error.
		must(t, e.s.Ack(ctx, conv, "1-1"))
		must(t, e.s.Ack(ctx, conv))
	})
}

// A reader that crashes between Read and Ack leaves its entries pending;
// the next Store on the same Redis (the new owner) gets them first, in
// order, then the new ones.
func TestReadRedeliversUnacked(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		for _, id := range []string{"a", "b", "c"} {
			enqueue(t, e.s, conv, id)
		}
		readWant(t, e.s, conv, 2, "a", "b")
		enqueue(t, e.s, conv, "d")
		other := e.second(t)
		again := readWant(t, other, conv, 10, "a", "b", "c", "d")
		// Partly acknowledged: only the rest comes back.
		must(t, other.Ack(ctx, conv, again[0].ID, again[2].ID))
		readWant(t, e.s, conv, 10, "b", "d")
	})
}

// A crash of Redis itself: with appendfsync always an acknowledged Enqueue
// survives SIGKILL.
func TestEnqueueSurvivesRedisCrash(t *testing.T) {
	srv := redistestDurable(t)
	s := open(t, Config{Addr: srv.Addr()})
	ctx := testutil.Context(t)
	enqueue(t, s, conv, "a")
	srv.Kill()
	_, err := s.Enqueue(ctx, conv, "b", nil, time.Hour, 10)
	var ue *UnavailableError
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &ue) || ue.SIPStatus() != 503 || ue.SMPPStatus() != 0x64 {
		t.Fatalf("Enqueue with Redis down: %v, want ErrUnavailable (503 / ESME_RX_T_APPN)", err)
	}
	srv.Restart()
	readWant(t, s, conv, 10, "a")
	if dup, err := s.Enqueue(ctx, conv, "a", nil, time.Hour, 10); err != nil || !dup {
		t.Fatalf("dedup marker after restart: dup %v, %v", dup, err)
	}
}

func TestReadBlocks(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		// Nothing queued: a short block returns nothing, after the block.
		start := time.Now()
		es, err := e.s.Read(ctx, conv, 5, 50*time.Millisecond)
		if err != nil || len(es) != 0 {
			t.Fatalf("blocking Read on empty queue: %v, %v", msgIDs(es), err)
		}
		if d := time.Since(start); d < 40*time.Millisecond {
			t.Fatalf("blocking Read returned after %v, want about 50ms", d)
		}
		// A long block returns as soon as an entry arrives.
		type result struct {
			es  []Entry
			err error
		}
		done := make(chan result, 1)
		go func() {
			es, err := e.s.Read(ctx, conv, 5, time.Minute)
			done <- result{es, err}
		}()
		enqueue(t, e.second(t), conv, "late")
		select {
		case r := <-done:
			if r.err != nil || !slices.Equal(msgIDs(r.es), []string{"late"}) {
				t.Fatalf("blocking Read: %v, %v", msgIDs(r.es), r.err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("blocking Read did not return when an entry arrived")
		}
	})
}

// A block longer than the read timeout is no timeout: the client waits
// the block time on top of ReadTimeout.
func TestReadBlockBeyondReadTimeout(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		cfg := e.cfg
		if !e.real {
			cfg.Addr = e.s.Addr()
		}
		cfg.ReadTimeout = 50 * time.Millisecond
		s := open(t, cfg)
		start := time.Now()
		es, err := s.Read(testutil.Context(t), conv, 1, 300*time.Millisecond)
		if err != nil || len(es) != 0 {
			t.Fatalf("Read: %v, %v", msgIDs(es), err)
		}
		if d := time.Since(start); d < 250*time.Millisecond {
			t.Fatalf("Read returned after %v, want the 300ms block", d)
		}
	})
}

func TestPendingConversations(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		// Conversations in an order unlike their names; one millisecond
		// apart, so their scores differ.
		order := []string{"c", "a", "b"}
		for _, c := range order {
			enqueue(t, e.s, c, "m1")
			nextMilli()
		}
		// Queuing more does not make a conversation younger.
		enqueue(t, e.s, "c", "m2")
		got, err := e.s.PendingConversations(ctx, 10)
		must(t, err)
		if !slices.Equal(got, order) {
			t.Fatalf("pending %v, want oldest first %v", got, order)
		}
		got, err = e.s.PendingConversations(ctx, 2)
		must(t, err)
		if !slices.Equal(got, order[:2]) {
			t.Fatalf("pending limit 2: %v", got)
		}
	})
}

func TestSettle(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		raw := e.raw(t)
		enqueue(t, e.s, conv, "a")
		if ok, err := e.s.Settle(ctx, conv); err != nil || ok {
			t.Fatalf("Settle with a queued entry: %v, %v", ok, err)
		}
		es := readWant(t, e.s, conv, 10, "a")
		if ok, err := e.s.Settle(ctx, conv); err != nil || ok {
			t.Fatalf("Settle with an unacknowledged entry: %v, %v", ok, err)
		}
		must(t, e.s.Ack(ctx, conv, ids(es)...))
		if ok, err := e.s.Settle(ctx, conv); err != nil || !ok {
			t.Fatalf("Settle of an empty queue: %v, %v", ok, err)
		}
		if p, _ := e.s.PendingConversations(ctx, 10); len(p) != 0 {
			t.Fatalf("pending after Settle: %v", p)
		}
		if n := raw.Exists(ctx, e.s.keys.queue(conv)).Val(); n != 0 {
			t.Fatal("the empty stream is still there after Settle")
		}
		// The queue works again after its stream was deleted.
		enqueue(t, e.s, conv, "b")
		readWant(t, e.s, conv, 10, "b")
	})
}

// An Enqueue that lands between Settle's ZREM and its re-check keeps the
// conversation in the index.
func TestSettleRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		other := e.second(t)
		e.s.testHookSettle = func() { enqueue(t, other, conv, "raced") }
		ok, err := e.s.Settle(ctx, conv)
		must(t, err)
		if ok {
			t.Fatal("Settle reports removed although an Enqueue raced in")
		}
		p, err := e.s.PendingConversations(ctx, 10)
		must(t, err)
		if !slices.Equal(p, []string{conv}) {
			t.Fatalf("pending %v, want the raced conversation", p)
		}
		e.s.testHookSettle = nil
		readWant(t, e.s, conv, 10, "raced")
	})
}

// Many Enqueues against a settling owner: whatever the interleaving, every
// conversation with queued entries is in the index at the end.
func TestSettleConcurrent(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		convs := []string{"c0", "c1", "c2", "c3"}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := range 4 {
			wg.Go(func() {
				for i := range 100 {
					if _, err := e.s.Enqueue(ctx, convs[(w+i)%len(convs)], fmt.Sprint(w, "-", i), nil, time.Hour, 100000); err != nil {
						t.Errorf("Enqueue: %v", err)
						return
					}
				}
			})
		}
		settled := make(chan struct{})
		go func() {
			defer close(settled)
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, c := range convs {
					es, err := e.s.Read(ctx, c, 10, 0)
					if err == nil && len(es) > 0 {
						err = e.s.Ack(ctx, c, ids(es)...)
					}
					if err == nil {
						_, err = e.s.Settle(ctx, c)
					}
					if err != nil {
						t.Errorf("drain %s: %v", c, err)
						return
					}
				}
			}
		}()
		wg.Wait()
		close(stop)
		<-settled
		pending, err := e.s.PendingConversations(ctx, 100)
		must(t, err)
		for _, c := range convs {
			n, err := e.s.QueueLen(ctx, c)
			must(t, err)
			if n > 0 && !slices.Contains(pending, c) {
				t.Errorf("%s holds %d entries and is not pending", c, n)
			}
		}
	})
}

// Settle deletes the stream a reader may be blocked on: the reader gets
// nothing, and its next Read works.
func TestSettleWhileReading(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		readWant(t, e.s, conv, 1) // creates the group
		done := make(chan error, 1)
		go func() {
			_, err := e.s.Read(ctx, conv, 1, 2*time.Second)
			done <- err
		}()
		if _, err := e.s.Settle(ctx, conv); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("blocked Read across Settle: %v", err)
		}
		enqueue(t, e.s, conv, "a")
		readWant(t, e.s, conv, 1, "a")
	})
}

// Keys of one conversation share a Cluster hash slot, whatever the
// conversation holds, and the tags of different conversations differ.
func TestConversationKeysShareSlot(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		for _, c := range []string{conv, "a{b}c", "}{", "%7B", "x}:q"} {
			enqueue(t, e.s, c, "m}1")
			must(t, e.s.SaveConversation(ctx, c, map[string]string{"state": "idle"}, time.Hour))
			if ok, err := e.s.Acquire(ctx, c, "node1", time.Hour); err != nil || !ok {
				t.Fatalf("Acquire: %v %v", ok, err)
			}
			_, err := e.s.Read(ctx, c, 1, 0)
			must(t, err)
			prefix := e.s.keys.conv(c)
			keys := e.keysMatching(t, escapeGlob(prefix)+":*")
			if len(keys) != 4 {
				t.Fatalf("%q: keys %q, want queue, dedup, record, lease", c, keys)
			}
			want := keySlot(keys[0])
			for _, k := range keys {
				if keySlot(k) != want || hashTag(k) != hashTag(prefix) {
					t.Fatalf("%q: key %q in slot %d (tag %q), want %d", c, k, keySlot(k), hashTag(k), want)
				}
			}
		}
		if hashTag(e.s.keys.queue("a{b}c")) == hashTag(e.s.keys.queue("a{b")) {
			t.Fatal("two conversations share a tag")
		}
	})
}

// escapeGlob escapes the KEYS pattern characters.
func escapeGlob(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}

func TestReadInvalid(t *testing.T) {
	s := open(t, Config{})
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		conv  string
		count int
		block time.Duration
	}{
		{"empty conv", "", 1, 0},
		{"zero count", "c", 0, 0},
		{"negative block", "c", 1, -time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Read(ctx, tc.conv, tc.count, tc.block); !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("err %v, want ErrInvalidArgument", err)
			}
		})
	}
}

// TestEnqueueWithoutDedup: an empty message id queues every time and
// leaves no marker behind (an id the IWF made up can never come again).
func TestEnqueueWithoutDedup(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		for range 2 {
			if dup, err := e.s.Enqueue(ctx, conv, "", []byte("x"), time.Hour, 10); err != nil || dup {
				t.Fatalf("dup %v, %v", dup, err)
			}
		}
		if n, err := e.s.QueueLen(ctx, conv); err != nil || n != 2 {
			t.Fatalf("queue length %d, %v; want 2", n, err)
		}
		if keys := e.keysMatching(t, escapeGlob(e.s.keys.conv(conv))+":d:*"); len(keys) != 0 {
			t.Fatalf("dedup markers %v", keys)
		}
	})
}

// TestAckOwned: only the lease holder acknowledges; a node that lost the
// lease acknowledges nothing and learns it.
func TestAckOwned(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		for _, id := range []string{"a", "b"} {
			if _, err := e.s.Enqueue(ctx, conv, id, []byte(id), time.Hour, 10); err != nil {
				t.Fatal(err)
			}
		}
		entries, err := e.s.Read(ctx, conv, 10, 0)
		if err != nil || len(entries) != 2 {
			t.Fatalf("read %d, %v", len(entries), err)
		}
		if err := e.s.AckOwned(ctx, conv, "n1", entries[0].ID); !errors.Is(err, ErrNotHolder) {
			t.Fatalf("ack without the lease: %v", err)
		}
		if ok, err := e.s.Acquire(ctx, conv, "n2", time.Hour); err != nil || !ok {
			t.Fatalf("acquire: %v %v", ok, err)
		}
		if err := e.s.AckOwned(ctx, conv, "n1", entries[0].ID); !errors.Is(err, ErrNotHolder) {
			t.Fatalf("ack under another's lease: %v", err)
		}
		if n, _ := e.s.QueueLen(ctx, conv); n != 2 {
			t.Fatalf("queue length %d after refused acks, want 2", n)
		}
		must(t, e.s.AckOwned(ctx, conv, "n2", entries[0].ID))
		if n, _ := e.s.QueueLen(ctx, conv); n != 1 {
			t.Fatalf("queue length %d after the holder's ack, want 1", n)
		}
		left, err := e.s.Read(ctx, conv, 10, 0)
		if err != nil || len(left) != 1 || left[0].MsgID != "b" {
			t.Fatalf("left %+v, %v", left, err)
		}
	})
}

// The unsharded pending index of earlier versions is moved into the
// shards when a store opens, scores kept, so that an upgrade strands no
// queued conversation.
func TestLegacyPendingMigrated(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		raw := e.raw(t)
		must(t, raw.ZAdd(ctx, e.s.keys.legacyPending(), redis.Z{Score: 1, Member: "old"}, redis.Z{Score: 3, Member: "older?"}).Err())
		enqueue(t, e.s, "new", "m1")
		s := e.second(t)
		got, err := s.PendingConversations(ctx, 10)
		must(t, err)
		if !slices.Equal(got, []string{"old", "older?", "new"}) {
			t.Fatalf("pending after the move: %q", got)
		}
		if n := raw.Exists(ctx, e.s.keys.legacyPending()).Val(); n != 0 {
			t.Fatal("the legacy index is still there")
		}
	})
}

// TestAckOwnedRead: the acknowledgement and the next read in one round
// trip act as AckOwned then Read: a node that is not the holder
// acknowledges nothing and gets no entries (what the read took comes
// back first later), the holder's read sees its acknowledgement, and a
// server that lost the script still takes both.
func TestAckOwnedRead(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		for _, id := range []string{"a", "b"} {
			if _, err := e.s.Enqueue(ctx, conv, id, []byte(id), time.Hour, 10); err != nil {
				t.Fatal(err)
			}
		}
		if ok, err := e.s.Acquire(ctx, conv, "n1", time.Hour); err != nil || !ok {
			t.Fatalf("acquire: %v %v", ok, err)
		}
		first, err := e.s.Read(ctx, conv, 1, 0)
		if err != nil || len(first) != 1 || first[0].MsgID != "a" {
			t.Fatalf("first read %+v, %v", first, err)
		}
		if _, err := e.s.Enqueue(ctx, conv, "c", []byte("c"), time.Hour, 10); err != nil {
			t.Fatal(err)
		}
		got, err := e.s.AckOwnedRead(ctx, conv, "n2", []string{first[0].ID}, 10)
		if !errors.Is(err, ErrNotHolder) || len(got) != 0 {
			t.Fatalf("ack and read without the lease: %+v, %v", got, err)
		}
		if n, _ := e.s.QueueLen(ctx, conv); n != 3 {
			t.Fatalf("queue length %d after a refused ack, want 3", n)
		}
		got, err = e.s.AckOwnedRead(ctx, conv, "n1", []string{first[0].ID}, 10)
		if err != nil || !slices.EqualFunc(got, []string{"b", "c"}, func(en Entry, id string) bool { return en.MsgID == id }) {
			t.Fatalf("ack and read by the holder: %+v, %v", got, err)
		}
		if n, _ := e.s.QueueLen(ctx, conv); n != 2 {
			t.Fatalf("queue length %d after the holder's ack, want 2", n)
		}
		if e.real && e.cfg.Mode == "" {
			must(t, e.raw(t).ScriptFlush(ctx).Err())
			got, err = e.s.AckOwnedRead(ctx, conv, "n1", []string{got[0].ID}, 10)
			if err != nil || len(got) != 1 || got[0].MsgID != "c" {
				t.Fatalf("ack and read after SCRIPT FLUSH: %+v, %v", got, err)
			}
		}
	})
}
