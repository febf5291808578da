package store

import (
	"fmt"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/store/redistest"
)

// Issue 12 item 4: after a cluster master is SIGKILLed and its replica
// took its slots, the store reaches the conversations of those slots
// again as soon as the failover is over. go-redis alone reads the slot
// map once a minute or on MOVED, which a dead master never sends: the
// conversations stayed unreachable for up to a minute after the
// failover.
func TestClusterFollowsFailover(t *testing.T) {
	cl := redistest.StartCluster(t, redistest.ClusterOpts{Replicas: 1})
	s := open(t, Config{Mode: ModeCluster, Addrs: cl.Addrs(), DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
	ctx := testutil.Context(t)
	// m0 is on the replica before the kill (WAIT): replication is
	// asynchronous, and on a busy machine an unawaited write may not
	// have reached it.
	synced := open(t, Config{Mode: ModeCluster, Addrs: cl.Addrs(), MinReplicasAck: 1, MinReplicasTimeout: time.Minute})
	if _, err := synced.Enqueue(ctx, "c", "m0", []byte("x"), time.Hour, 100); err != nil {
		t.Fatal(err)
	}
	victim, err := cl.MasterOf(s.keys.queue("c"))
	must(t, err)
	must(t, cl.Kill(victim))
	// Polling the cluster: its failover has no event to wait on.
	testutil.Eventually(t, func() bool {
		m, err := cl.MasterOf(s.keys.queue("c"))
		return err == nil && m != victim
	}, "the replica of %s to take its slots", victim)
	n := 0
	testutil.Eventually(t, func() bool {
		n++
		_, err := s.Enqueue(ctx, "c", fmt.Sprint("m", n), []byte("x"), time.Hour, 100)
		return err == nil
	}, "an enqueue to the promoted replica")
	if l, err := s.QueueLen(ctx, "c"); err != nil || l < 2 {
		t.Fatalf("queue length %d, %v: want m0 kept by the replica and the new entry", l, err)
	}
}
