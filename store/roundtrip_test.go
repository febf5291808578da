package store

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"iwf/internal/testutil"
)

// roundTrips counts the round trips a client makes: one per command sent
// alone, one per pipeline or transaction (a cluster client's pipeline
// counts once, as it waits for its nodes together). Counting calls, not
// time, keeps the tests below deterministic on a loaded machine.
type roundTrips struct {
	mu    sync.Mutex
	calls []string // one line per round trip, its command names
}

func (*roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		switch cmd.Name() {
		case "hello", "auth", "select":
			// A new connection's set-up (a sentinel client's pool
			// dials on first use), not the operation's.
		default:
			r.add(cmd)
		}
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.add(cmds...)
		return next(ctx, cmds)
	}
}

func (r *roundTrips) add(cmds ...redis.Cmder) {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.Name()
	}
	r.mu.Lock()
	r.calls = append(r.calls, strings.Join(names, " "))
	r.mu.Unlock()
}

// take returns the round trips counted since the last take.
func (r *roundTrips) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

// countRoundTrips loads s's scripts (on every master of a cluster: a
// script a server does not know yet costs one more round trip, NOSCRIPT
// then EVAL) and hooks a counter into s's client.
func countRoundTrips(t *testing.T, s *Store) *roundTrips {
	t.Helper()
	ctx := testutil.Context(t)
	l := s.lua
	for _, sc := range []*redis.Script{l.enqueueBatch, l.settle, l.settleAll, l.recheck, l.acquire, l.release, l.ack} {
		must(t, sc.Load(ctx, s.client).Err())
	}
	r := &roundTrips{}
	s.client.AddHook(r)
	return r
}

// wantTrips fails the test unless the round trips got are want many.
func wantTrips(t *testing.T, what string, got []string, want int) {
	t.Helper()
	if len(got) != want {
		t.Errorf("%s: %d round trips %q, want %d", what, len(got), got, want)
	}
}

// A new conversation's first message: the enqueue and the worker's first
// read take one round trip each. The enqueue script creates the queue's
// consumer group with the queue, so that the read finds it (it took
// three: NOGROUP, XGROUP CREATE, the read again).
func TestNewConversationRoundTrips(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		// Load the scripts, and settle a conversation so that its queue
		// is deleted: the next message creates it again.
		enqueue(t, e.s, "warm", "w")
		must(t, e.s.Ack(ctx, "warm", ids(readWant(t, e.s, "warm", 10, "w"))...))
		if ok, err := e.s.Settle(ctx, "warm"); err != nil || !ok {
			t.Fatalf("Settle: %v %v", ok, err)
		}
		rt := countRoundTrips(t, e.s)
		for _, c := range []string{conv, "warm"} {
			enqueue(t, e.s, c, "a")
			wantTrips(t, c+": enqueue", rt.take(), 1)
			readWant(t, e.s, c, 10, "a")
			wantTrips(t, c+": first read", rt.take(), 1)
		}
	})
}

// A queue of an earlier version, which has entries and no consumer
// group, is still read: Read creates the group on NOGROUP.
func TestReadCreatesMissingGroup(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		must(t, e.raw(t).XAdd(ctx, &redis.XAddArgs{Stream: e.s.keys.queue(conv), Values: []string{"m", "old", "p", "x"}}).Err())
		enqueue(t, e.s, conv, "new")
		readWant(t, e.s, conv, 10, "old", "new")
	})
}

// A conversation's end: a worker whose queue ran empty settles it and
// frees its lease in one round trip off a Cluster (Settle took three,
// the release one more); on a Cluster, where the pending index is in
// another slot, the release rides on Settle's re-check (three, was four).
func TestConversationEndRoundTrips(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		for _, c := range []string{"warm", conv} {
			if ok, err := e.s.Acquire(ctx, c, "n1", time.Minute); err != nil || !ok {
				t.Fatalf("Acquire: %v %v", ok, err)
			}
			enqueue(t, e.s, c, "a")
			must(t, e.s.AckOwned(ctx, c, "n1", ids(readWant(t, e.s, c, 10, "a"))...))
		}
		// Load the scripts.
		if ok, err := e.s.SettleRelease(ctx, "warm", "n1"); err != nil || !ok {
			t.Fatalf("SettleRelease: %v %v", ok, err)
		}
		rt := countRoundTrips(t, e.s)
		if ok, err := e.s.SettleRelease(ctx, conv, "n1"); err != nil || !ok {
			t.Fatalf("SettleRelease: %v %v", ok, err)
		}
		want := 1
		if e.cfg.Mode == ModeCluster {
			want = 3
		}
		wantTrips(t, "settle and release", rt.take(), want)
		if owner, err := e.s.Owner(ctx, conv); err != nil || owner != "" {
			t.Fatalf("lease held by %q (%v) after SettleRelease", owner, err)
		}
	})
}

// SettleRelease frees the lease only with the queue settled, and only
// the owner's.
func TestSettleRelease(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		raw := e.raw(t)
		owner := func() string {
			t.Helper()
			o, err := e.s.Owner(ctx, conv)
			must(t, err)
			return o
		}
		if ok, err := e.s.Acquire(ctx, conv, "n1", time.Minute); err != nil || !ok {
			t.Fatalf("Acquire: %v %v", ok, err)
		}
		enqueue(t, e.s, conv, "a")
		if ok, err := e.s.SettleRelease(ctx, conv, "n1"); err != nil || ok {
			t.Fatalf("SettleRelease with a queued entry: %v, %v", ok, err)
		}
		if o := owner(); o != "n1" {
			t.Fatalf("lease of %q after SettleRelease of a queue not empty, want n1's", o)
		}
		must(t, e.s.AckOwned(ctx, conv, "n1", ids(readWant(t, e.s, conv, 10, "a"))...))
		if ok, err := e.s.SettleRelease(ctx, conv, "n1"); err != nil || !ok {
			t.Fatalf("SettleRelease of an empty queue: %v, %v", ok, err)
		}
		if o := owner(); o != "" {
			t.Fatalf("lease of %q after SettleRelease, want free", o)
		}
		if p, _ := e.s.PendingConversations(ctx, 10); len(p) != 0 {
			t.Fatalf("pending after SettleRelease: %v", p)
		}
		if n := raw.Exists(ctx, e.s.keys.queue(conv)).Val(); n != 0 {
			t.Fatal("the empty stream is still there after SettleRelease")
		}
		// Another owner's lease stays.
		if ok, err := e.s.Acquire(ctx, conv, "n2", time.Minute); err != nil || !ok {
			t.Fatalf("Acquire: %v %v", ok, err)
		}
		if ok, err := e.s.SettleRelease(ctx, conv, "n1"); err != nil || !ok {
			t.Fatalf("SettleRelease of an empty queue: %v, %v", ok, err)
		}
		if o := owner(); o != "n2" {
			t.Fatalf("lease of %q after n1's SettleRelease, want n2's", o)
		}
		if _, err := e.s.SettleRelease(ctx, conv, ""); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("SettleRelease without owner: %v, want ErrInvalidArgument", err)
		}
	})
}

// A session open reads the conversation's record and records the state
// "opening" in one round trip (LoadConversation and SaveConversation
// took two), and stores what SaveConversation would.
func TestLoadSaveConversation(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		rt := countRoundTrips(t, e.s)
		got, err := e.s.LoadSaveConversation(ctx, conv, map[string]string{"state": "opening", "node": "n1"}, time.Hour)
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("first LoadSaveConversation: %v, %v; want an empty map", got, err)
		}
		wantTrips(t, "load and save", rt.take(), 1)
		must(t, e.s.SaveConversation(ctx, conv, map[string]string{"state": "idle", "conversation_id": "c1"}, time.Hour))
		got, err = e.s.LoadSaveConversation(ctx, conv, map[string]string{"state": "opening"}, e.ttl)
		must(t, err)
		if want := map[string]string{"state": "idle", "node": "n1", "conversation_id": "c1"}; !maps.Equal(got, want) {
			t.Fatalf("record before %v, want %v", got, want)
		}
		got, err = e.s.LoadConversation(ctx, conv)
		must(t, err)
		if want := map[string]string{"state": "opening", "node": "n1", "conversation_id": "c1"}; !maps.Equal(got, want) {
			t.Fatalf("record after %v, want %v", got, want)
		}
		// The TTL is the last one given, as with SaveConversation.
		e.elapse(t, func() bool {
			m, err := e.s.LoadConversation(ctx, conv)
			return err == nil && len(m) == 0
		})
		if _, err := e.s.LoadSaveConversation(ctx, "", nil, time.Hour); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("empty conversation: %v, want ErrInvalidArgument", err)
		}
		if _, err := e.s.LoadSaveConversation(ctx, conv, nil, 0); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("no TTL: %v, want ErrInvalidArgument", err)
		}
	})
}
