package main

import (
	"encoding/json"
	"strings"
	"testing"

	"iwf/internal/iwftest"
	"iwf/internal/testutil"
	"iwf/store/redistest"
)

// On a Redis Cluster, /status names the topology and each master with
// its slots, so an operator sees which shards the node talks to, and the
// IWF nodes alive on the store (their heartbeats).
func TestStatusShowsClusterTopology(t *testing.T) {
	cl := redistest.StartCluster(t, redistest.ClusterOpts{})
	rcs := iwftest.StartRCS(t, 0)
	addrs := `"` + strings.Join(cl.Addrs(), `", "`) + `"`
	cfg := writeE2EConfig(t, "{mode: cluster, addrs: ["+addrs+"]}", rcs.TCP())
	d := startDaemon(t, cfg)
	type statusView struct {
		Store struct {
			Topology string   `json:"topology"`
			Nodes    []string `json:"nodes"`
		} `json:"store"`
		Nodes []struct {
			Name string `json:"name"`
		} `json:"nodes"`
	}
	var st statusView
	read := func() {
		st = statusView{}
		code, body := httpGet(t, d.addr.statusURL()+"/status")
		if code != 200 || json.Unmarshal([]byte(body), &st) != nil {
			t.Fatalf("/status %d\n%s", code, body)
		}
	}
	read()
	if st.Store.Topology != "cluster" || len(st.Store.Nodes) != 3 {
		t.Fatalf("store topology %q, nodes %q; want cluster with 3 masters", st.Store.Topology, st.Store.Nodes)
	}
	// The first heartbeat is written once the engine runs.
	testutil.Eventually(t, func() bool {
		read()
		return len(st.Nodes) == 1 && st.Nodes[0].Name == "e2e"
	}, "this node, e2e, among the IWF nodes alive")
	for _, n := range st.Store.Nodes {
		if !strings.Contains(n, " slots ") {
			t.Errorf("master %q shows no slots", n)
		}
	}
}
