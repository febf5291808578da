package store

import (
	"errors"
	"testing"
	"time"

	"iwf/internal/testutil"
)

// Issue 12 (item 7): the nodes alive with their figures, for the status
// page; a node whose heartbeat expired leaves the list.
func TestNodesAlive(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		a, b := e.s, e.second(t)
		now := time.UnixMilli(1_700_000_000_000)
		if ns, err := a.Nodes(ctx); err != nil || len(ns) != 0 {
			t.Fatalf("nodes before any heartbeat: %v, %v", ns, err)
		}
		must(t, a.Heartbeat(ctx, "n2", NodeStatus{Conversations: 3, Sessions: map[string]int{"p": 2, "q": 0}}, 24*time.Hour, now))
		must(t, b.Heartbeat(ctx, "n1", NodeStatus{Conversations: 1}, e.ttl, now.Add(time.Second)))
		// A second heartbeat replaces the first.
		must(t, a.Heartbeat(ctx, "n2", NodeStatus{Conversations: 4, Sessions: map[string]int{"p": 1}}, 24*time.Hour, now.Add(2*time.Second)))
		ns, err := b.Nodes(ctx)
		must(t, err)
		if len(ns) != 2 || ns[0].Name != "n1" || ns[1].Name != "n2" {
			t.Fatalf("nodes %+v, want n1 and n2", ns)
		}
		if ns[0].Conversations != 1 || !ns[0].At.Equal(now.Add(time.Second)) {
			t.Fatalf("n1 %+v", ns[0])
		}
		if ns[1].Conversations != 4 || ns[1].Sessions["p"] != 1 || !ns[1].At.Equal(now.Add(2*time.Second)) {
			t.Fatalf("n2 %+v", ns[1])
		}
		e.elapse(t, func() bool {
			ns, err := a.Nodes(ctx)
			return err == nil && len(ns) == 1 && ns[0].Name == "n2"
		})
		if err := a.Heartbeat(ctx, "", NodeStatus{}, time.Second, now); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("heartbeat without a node: %v", err)
		}
	})
}
