package store

import (
	"context"
	"strings"
	"sync"
	"testing"

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
		r.add(cmd)
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

// countRoundTrips hooks a counter into s's client. The scripts s uses
// should be loaded first (run the flow once): a script the server does
// not know yet costs one more round trip (NOSCRIPT, then EVAL).
func countRoundTrips(s *Store) *roundTrips {
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
		rt := countRoundTrips(e.s)
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
