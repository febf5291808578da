//go:build chaos

package main

import (
	"fmt"
	"strings"
	"testing"

	"iwf/store/redistest"
)

// Issue 12, daemon SIGKILL mid-stream on a Redis Cluster (3 masters):
// TestChaosDaemonKill with the store on a cluster, so that the
// conversations' keys, the sharded pending index and the leases are
// spread over three masters. Everything acknowledged before the kill
// arrives after the restart.
func TestChaosDaemonKillCluster(t *testing.T) {
	c := redistest.StartCluster(t, redistest.ClusterOpts{})
	store := fmt.Sprintf("{mode: cluster, addrs: [%s]}", strings.Join(c.Addrs(), ", "))
	e := newChaosEnvOn(t, store, texts("kill-cluster", streamSize))
	s, done := e.smsStream(conversations)
	e.tally.awaitAcked(t, streamSize/3)
	e.d.kill(t)
	e.start()
	e.finish(done)
	f := e.tally.figures()
	t.Logf("sender: %s", s.summary())
	e.report("daemon SIGKILL mid-stream, Redis Cluster", "SIGKILL, restarted at once; store on 3 masters", f)
	checkSMSToRCS(t, f)
}
