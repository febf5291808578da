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

// Issue 12 item 5: two daemons share a Redis Cluster; the ESME's traffic
// goes into the first, which is SIGKILLed when a third of the stream is
// acknowledged. The ESME binds to the second and resubmits what got no
// answer; the second takes the first's conversations over once their
// leases lapse (no restart of the first) and delivers what the first
// had acknowledged. Nothing acknowledged is lost; duplicates (the same
// Message-ID sent again by the new owner) are counted.
func TestChaosTwoNodesClusterTakeover(t *testing.T) {
	c := redistest.StartCluster(t, redistest.ClusterOpts{})
	store := fmt.Sprintf("{mode: cluster, addrs: [%s]}", strings.Join(c.Addrs(), ", "))
	e := newChaosEnvOn(t, store, texts("takeover", streamSize))
	o := chaosOptions
	o.Node = "e2e-b"
	cfgB := writeE2EConfigWith(t, store, e.rcs.TCP(), o)
	b := startDaemonEnv(t, cfgB)
	e.daemons = append(e.daemons, b)
	s, done := e.smsStream(conversations)
	e.tally.awaitAcked(t, streamSize/3)
	s.moveTo(b.addr.smpp)
	e.d.kill(t)
	// The survivor is the daemon finish watches from now on.
	e.d, e.cfg = b, cfgB
	e.follow(b)
	e.finish(done)
	f := e.tally.figures()
	t.Logf("sender: %s", s.summary())
	e.report("two nodes on a Redis Cluster, one SIGKILLed", "node A SIGKILL, ESME moves to node B, A stays down", f)
	checkSMSToRCS(t, f)
}
