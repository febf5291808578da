package interwork

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"iwf/store"
	"iwf/store/redistest"
)

// The flow tests run on the store topology IWF_TEST_STORE names: unset
// or "single", a redis-server per test; "cluster", a Redis Cluster of 3
// masters; "sentinel", a master, a replica and 3 sentinels. The cluster
// and the sentinel set are started once for the package and shared, each
// startRedis call under a key prefix of its own, so that the nodes of
// one test share their state and tests do not see each other's:
//
//	IWF_TEST_STORE=cluster go test ./interwork/
//	IWF_TEST_STORE=sentinel go test ./interwork/
const storeEnv = "IWF_TEST_STORE"

// topo is the package's shared cluster or sentinel set.
var topo struct {
	once     sync.Once
	root     string
	cluster  *redistest.Cluster
	sentinel *redistest.Sentinel
	err      error
	prefixes atomic.Int64
}

// TestMain stops the shared topology after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if topo.cluster != nil {
		_ = topo.cluster.Close()
	}
	if topo.sentinel != nil {
		_ = topo.sentinel.Close()
	}
	if topo.root != "" {
		_ = os.RemoveAll(topo.root)
	}
	os.Exit(code)
}

// startRedis returns the store every node of the calling test shares: a
// redis-server's address, or a descriptor of the shared topology with a
// fresh prefix (storeConfig reads both).
func startRedis(t testing.TB) string {
	t.Helper()
	mode := os.Getenv(storeEnv)
	switch mode {
	case "", store.ModeSingle:
		return redistest.Start(t)
	case store.ModeCluster, store.ModeSentinel:
	default:
		t.Fatalf("%s=%q: want single, cluster or sentinel", storeEnv, mode)
	}
	topo.once.Do(func() {
		topo.root, topo.err = os.MkdirTemp("", "iwf-interwork-")
		if topo.err != nil {
			return
		}
		if mode == store.ModeCluster {
			topo.cluster, topo.err = redistest.NewCluster(topo.root, redistest.ClusterOpts{})
		} else {
			topo.sentinel, topo.err = redistest.NewSentinel(topo.root, redistest.SentinelOpts{})
		}
	})
	if topo.err != nil {
		t.Fatal(topo.err)
	}
	prefix := fmt.Sprintf("t%d", topo.prefixes.Add(1))
	if mode == store.ModeCluster {
		return strings.Join([]string{mode, prefix, strings.Join(topo.cluster.Addrs(), ",")}, "|")
	}
	return strings.Join([]string{mode, prefix, strings.Join(topo.sentinel.Addrs(), ",")}, "|")
}

// storeConfig is the store configuration startRedis's result names.
func storeConfig(redis string) store.Config {
	f := strings.Split(redis, "|")
	if len(f) != 3 {
		return store.Config{Addr: redis}
	}
	cfg := store.Config{Mode: f[0], Prefix: f[1], Addrs: strings.Split(f[2], ",")}
	if cfg.Mode == store.ModeSentinel {
		cfg.MasterName = redistest.SentinelMaster
	}
	return cfg
}
