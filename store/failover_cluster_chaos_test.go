//go:build chaos

package store

import (
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/store/redistest"
)

// TestChaosClusterFailover is TestChaosSentinelFailover on a Redis
// Cluster of 3 masters: producers send into conversations spread over
// every master, the master of one of them is SIGKILLed when a third of
// the messages are acknowledged, its replica takes its slots (cluster
// failover, cluster-node-timeout 1 s), and the rest is sent. Then every
// queue is read out: an acknowledged message missing is lost, one read
// twice duplicated. Only the dead master's conversations can lose
// anything; without min_replicas_ack the loss is the replication lag
// at the kill (printed, not asserted), with it none may be lost. With
// min_replicas_ack each master has two replicas, so that the promoted
// one still has a replica to WAIT for.
func TestChaosClusterFailover(t *testing.T) {
	for _, tc := range []struct {
		name     string
		wait     int
		replicas int
		mayLose  bool
		messages int
	}{
		{"async", 0, 1, true, 3000},
		{"min_replicas_ack=1", 1, 2, false, 3000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := runClusterFailover(t, tc.wait, tc.replicas, tc.messages)
			t.Logf("FAILOVER cluster %s: sent %d acknowledged %d delivered %d lost %d duplicated %d stored-unacknowledged %d (retried refusals %d)",
				tc.name, c.sent, c.acked, c.delivered, c.lost, c.duplicated, c.unackedStored, c.refusals)
			if !tc.mayLose && c.lost > 0 {
				t.Fatalf("%d acknowledged messages lost with min_replicas_ack", c.lost)
			}
			if c.acked != tc.messages {
				t.Fatalf("%d of %d messages acknowledged", c.acked, tc.messages)
			}
		})
	}
}

func runClusterFailover(t *testing.T, wait, replicas, messages int) failoverCounts {
	const producers, convs = 8, 32
	cl := redistest.StartCluster(t, redistest.ClusterOpts{Replicas: replicas})
	cfg := Config{Mode: ModeCluster, Addrs: cl.Addrs(),
		MinReplicasAck: wait, MinReplicasTimeout: 200 * time.Millisecond,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond}
	s := open(t, cfg)
	ctx := testutil.Context(t)
	victim, err := cl.MasterOf(s.keys.queue("c0"))
	must(t, err)

	l := &failoverLoad{messages: messages, convs: convs}
	l.start(ctx, s, producers)
	l.await(t, l.third)
	must(t, cl.Kill(victim))
	l.finish(t)
	// The producers got through, so a replica serves the dead master's
	// slots now.
	if m, err := cl.MasterOf(s.keys.queue("c0")); err != nil || m == victim {
		t.Fatalf("c0's master after the kill: %q, %v", m, err)
	}
	return l.tally(t, ctx, open(t, Config{Mode: ModeCluster, Addrs: cl.Addrs()}))
}
