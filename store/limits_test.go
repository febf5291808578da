package store

import (
	"errors"
	"testing"
	"time"

	"iwf/internal/testutil"
)

// Issue 12: a partner's rate limit is one bucket for every node. Two
// stores (two nodes) take from it at one instant: together they get the
// burst and no more; a second later the bucket has refilled by the rate.
func TestTakeTokensSharedBucket(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		a, b := e.s, e.second(t)
		now := time.UnixMilli(1_700_000_000_000)
		got := 0
		for i := range 10 {
			s := a
			if i%2 == 1 {
				s = b
			}
			n, err := s.TakeTokens(ctx, "p", 5, 5, 1, now)
			must(t, err)
			got += n
		}
		if got != 5 {
			t.Fatalf("took %d tokens at one instant from a bucket of 5", got)
		}
		n, err := b.TakeTokens(ctx, "p", 5, 5, 10, now.Add(time.Second))
		must(t, err)
		if n != 5 {
			t.Fatalf("took %d tokens after a second at 5/s, want 5", n)
		}
		// A clock behind the last refill refills nothing.
		if n, err := a.TakeTokens(ctx, "p", 5, 5, 1, now); err != nil || n != 0 {
			t.Fatalf("took %d, %v with a clock behind", n, err)
		}
		// Another partner has its own bucket.
		if n, err := a.TakeTokens(ctx, "q", 5, 5, 3, now); err != nil || n != 3 {
			t.Fatalf("other bucket: %d, %v", n, err)
		}
		// Fractions accumulate: 200 ms at 5/s is one token.
		if n, err := a.TakeTokens(ctx, "p", 5, 5, 2, now.Add(1200*time.Millisecond)); err != nil || n != 1 {
			t.Fatalf("took %d, %v after 200 ms more, want 1", n, err)
		}
	})
}

func TestTakeTokensInvalid(t *testing.T) {
	s := open(t, Config{})
	ctx := testutil.Context(t)
	for _, tc := range []struct {
		name        string
		bucket      string
		rate, burst float64
		want        int
	}{
		{"no name", "", 1, 1, 1},
		{"zero rate", "p", 0, 1, 1},
		{"no burst", "p", 1, 0.5, 1},
		{"want none", "p", 1, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.TakeTokens(ctx, tc.bucket, tc.rate, tc.burst, tc.want, time.Now()); !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("err %v, want ErrInvalidArgument", err)
			}
		})
	}
}

// Issue 12: max_sessions counts the sessions of every node alive. A
// node's sessions count while its heartbeat lives and stop counting once
// it expired (the node died); a node's own reservation replaces its
// published count.
func TestReserveSessionAcrossNodes(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		a, b := e.s, e.second(t)
		now := time.Now()
		must(t, a.Heartbeat(ctx, "A", NodeStatus{Sessions: map[string]int{"p": 1}}, e.ttl, now))
		must(t, b.Heartbeat(ctx, "B", NodeStatus{}, 24*time.Hour, now))
		if ok, err := b.ReserveSession(ctx, "p", "B", 1, 1); err != nil || ok {
			t.Fatalf("B reserved beyond max_sessions 1 with A's session alive: %v, %v", ok, err)
		}
		if ok, err := b.ReserveSession(ctx, "p", "B", 1, 2); err != nil || !ok {
			t.Fatalf("B could not reserve the second of 2: %v, %v", ok, err)
		}
		if ok, err := a.ReserveSession(ctx, "p", "A", 2, 2); err != nil || ok {
			t.Fatalf("A reserved a third of 2: %v, %v", ok, err)
		}
		// Other partners are counted apart.
		if ok, err := a.ReserveSession(ctx, "q", "A", 1, 1); err != nil || !ok {
			t.Fatalf("partner q: %v, %v", ok, err)
		}
		// B publishes that its session ended: A's second fits.
		must(t, b.Heartbeat(ctx, "B", NodeStatus{Sessions: map[string]int{"p": 0}}, 24*time.Hour, now))
		if ok, err := a.ReserveSession(ctx, "p", "A", 2, 2); err != nil || !ok {
			t.Fatalf("A could not reserve after B's ended: %v, %v", ok, err)
		}
		// A dies: its heartbeat expires and its sessions no longer count.
		e.elapse(t, func() bool {
			ok, err := b.ReserveSession(ctx, "p", "B", 2, 2)
			return err == nil && ok
		})
	})
}
