package store

import (
	"slices"
	"strings"
	"testing"

	"iwf/internal/testutil"
	"iwf/store/redistest"
)

// Topology shows the cluster's three masters with their slots and a
// replica each, the sentinel set's master (as the sentinels name it) and
// its replica, and the single Redis alone.
func TestTopology(t *testing.T) {
	ctx := testutil.Context(t)
	t.Run(ModeCluster, func(t *testing.T) {
		s := open(t, topology(t, ModeCluster))
		top, err := s.Topology(ctx)
		must(t, err)
		slots := 0
		for _, m := range top.Masters {
			if len(m.Replicas) != 1 || len(m.Slots) == 0 {
				t.Fatalf("master %+v: want slots and one replica", m)
			}
			for _, r := range m.Slots {
				a, b, ok := strings.Cut(r, "-")
				if !ok {
					b = a
				}
				lo, hi := atoi(t, a), atoi(t, b)
				slots += hi - lo + 1
			}
		}
		if top.Mode != ModeCluster || len(top.Masters) != 3 || slots != 16384 {
			t.Fatalf("topology %+v: want 3 masters serving 16384 slots", top)
		}
	})
	t.Run(ModeSentinel, func(t *testing.T) {
		s := open(t, topology(t, ModeSentinel))
		top, err := s.Topology(ctx)
		must(t, err)
		reps, err := shared.sentinel.Replicas()
		must(t, err)
		master, err := shared.sentinel.Master()
		must(t, err)
		if top.Mode != ModeSentinel || len(top.Masters) != 1 || top.Masters[0].Addr != master || !slices.Equal(top.Masters[0].Replicas, reps) {
			t.Fatalf("topology %+v: want master %s with replicas %v", top, master, reps)
		}
	})
	t.Run(ModeSingle, func(t *testing.T) {
		addr := redistest.Start(t)
		top, err := open(t, Config{Addr: addr}).Topology(ctx)
		must(t, err)
		if top.Mode != ModeSingle || len(top.Masters) != 1 || top.Masters[0].Addr != addr || len(top.Masters[0].Replicas) != 0 {
			t.Fatalf("topology %+v", top)
		}
	})
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("slot %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}
