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

// A Redis that would rewrite its append-only file every few seconds
// (AOF on, Redis's default rewrite minimum) is named on /status, with
// its settings and the advice; the store's start-up check found it.
func TestStatusShowsStoreWarnings(t *testing.T) {
	srv := redistest.StartServer(t, redistest.StartOpts{EverySec: true})
	rcs := iwftest.StartRCS(t, 0)
	d := startDaemon(t, writeE2EConfig(t, srv.Addr(), rcs.TCP()))
	code, body := httpGet(t, d.addr.statusURL()+"/status")
	var st struct {
		Store struct {
			Warnings []struct {
				Master         string            `json:"master"`
				Problem        string            `json:"problem"`
				Settings       map[string]string `json:"settings"`
				Recommendation string            `json:"recommendation"`
			} `json:"warnings"`
		} `json:"store"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("/status %d\n%s", code, body)
	}
	w := st.Store.Warnings
	if len(w) != 1 || w[0].Master != srv.Addr() || !strings.Contains(w[0].Problem, "append-only file") ||
		w[0].Settings["auto-aof-rewrite-min-size"] != "67108864" || w[0].Settings["appendonly"] != "yes" ||
		!strings.Contains(w[0].Recommendation, "auto-aof-rewrite-min-size 4gb") {
		t.Fatalf("store warnings %+v, want the AOF rewrite finding for %s", w, srv.Addr())
	}
}
