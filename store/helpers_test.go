package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"iwf/internal/testutil"
	"iwf/store/redistest"
)

// env is one backend under test: a Store on a fresh real redis-server, a
// fresh embedded miniredis, or a prefix of its own on the package's Redis
// Cluster or Sentinel set (started once, see TestMain).
type env struct {
	s    *Store
	cfg  Config
	real bool
	// ttl is a TTL short enough to wait out on real Redis and long enough
	// that the embedded store's own clock never reaches it in a test.
	ttl time.Duration
}

// backends are the topologies eachBackend runs a test against.
var backends = []string{"redis", "embedded", ModeCluster, ModeSentinel}

// eachBackend runs fn as a subtest against real Redis, the embedded store,
// a Redis Cluster and a Sentinel-watched master, each fresh (the shared
// ones by a key prefix of the subtest's own).
func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			e := &env{real: b != "embedded", ttl: time.Second}
			switch b {
			case "redis":
				e.cfg.Addr = redistest.Start(t)
			case "embedded":
				e.ttl = time.Hour
			default:
				e.cfg = topology(t, b)
			}
			e.s = open(t, e.cfg)
			fn(t, e)
		})
	}
}

// shared holds the cluster and the sentinel set the package's tests
// share: each takes seconds to start and to agree on its topology.
var shared struct {
	root         string
	clusterOnce  sync.Once
	cluster      *redistest.Cluster
	clusterErr   error
	sentinelOnce sync.Once
	sentinel     *redistest.Sentinel
	sentinelErr  error
	prefixes     atomic.Int64
}

// TestMain closes the shared topologies the tests started.
func TestMain(m *testing.M) {
	root, err := os.MkdirTemp("", "iwf-store-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared.root = root
	// go-redis logs failovers and pool events on its own package logger:
	// the tests assert on them through the store instead.
	redis.SetLogger(quietRedis{})
	code := m.Run()
	if shared.cluster != nil {
		_ = shared.cluster.Close()
	}
	if shared.sentinel != nil {
		_ = shared.sentinel.Close()
	}
	_ = os.RemoveAll(root)
	os.Exit(code)
}

// quietRedis drops go-redis's own log lines.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// topology returns a config for the shared cluster or sentinel set,
// starting it on first use, with a prefix no other test uses.
func topology(t testing.TB, mode string) Config {
	t.Helper()
	cfg := Config{Mode: mode, Prefix: fmt.Sprintf("t%d", shared.prefixes.Add(1))}
	switch mode {
	case ModeCluster:
		shared.clusterOnce.Do(func() {
			shared.cluster, shared.clusterErr = redistest.NewCluster(filepath.Join(shared.root, "cluster"), redistest.ClusterOpts{Replicas: 1})
		})
		if shared.clusterErr != nil {
			t.Fatal(shared.clusterErr)
		}
		cfg.Addrs = shared.cluster.Addrs()[:1]
	case ModeSentinel:
		shared.sentinelOnce.Do(func() {
			shared.sentinel, shared.sentinelErr = redistest.NewSentinel(filepath.Join(shared.root, "sentinel"), redistest.SentinelOpts{})
		})
		if shared.sentinelErr != nil {
			t.Fatal(shared.sentinelErr)
		}
		cfg.Addrs, cfg.MasterName = shared.sentinel.Addrs(), redistest.SentinelMaster
	}
	return cfg
}

// open opens a store closed at the end of the test.
func open(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(context.Background(), cfg, testutil.Logger(t))
	if err != nil {
		t.Fatalf("Open(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// second opens another Store on the same Redis, as another node (or the
// same node after a restart) would.
func (e *env) second(t *testing.T) *Store {
	t.Helper()
	cfg := e.cfg
	if !e.real {
		cfg.Addr = e.s.Addr()
	}
	return open(t, cfg)
}

// raw is a plain client of the same topology, to look at keys.
func (e *env) raw(t *testing.T) redis.UniversalClient {
	t.Helper()
	o := &redis.UniversalOptions{Addrs: []string{e.s.Addr()}}
	switch e.cfg.Mode {
	case ModeCluster:
		o.Addrs, o.IsClusterMode = e.cfg.Addrs, true
	case ModeSentinel:
		o.Addrs, o.MasterName = e.cfg.Addrs, e.cfg.MasterName
	}
	c := redis.NewUniversalClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// keys lists the keys matching pattern (KEYS), on every master.
func (e *env) keysMatching(t *testing.T, pattern string) []string {
	t.Helper()
	ctx := testutil.Context(t)
	var out []string
	c := e.raw(t)
	if cc, ok := c.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		must(t, cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			ks, err := n.Keys(ctx, pattern).Result()
			mu.Lock()
			out = append(out, ks...)
			mu.Unlock()
			return err
		}))
		slices.Sort(out)
		return out
	}
	out, err := c.Keys(ctx, pattern).Result()
	must(t, err)
	slices.Sort(out)
	return out
}

// elapse lets e.ttl pass and waits until cond holds: the embedded store's
// clock is moved at once, real Redis is polled until its TTL fires.
func (e *env) elapse(t *testing.T, cond func() bool) {
	t.Helper()
	if !e.real {
		e.s.mini.FastForward(e.ttl)
		if !cond() {
			t.Fatal("condition false after the embedded clock moved past the TTL")
		}
		return
	}
	// Polling Redis's clock: there is no expiry event to wait on.
	testutil.Eventually(t, cond, "the condition after the %v TTL", e.ttl)
}

// nextMilli waits until the wall clock reaches the next millisecond, so
// that two pending-index scores differ.
func nextMilli() {
	for start := time.Now().UnixMilli(); time.Now().UnixMilli() == start; {
	}
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func redistestDurable(t *testing.T) *redistest.Server {
	t.Helper()
	return redistest.StartServer(t, redistest.StartOpts{Durable: true})
}

// hashTag is the part of key Redis Cluster hashes (Cluster specification,
// "Hash tags"): between the first '{' and the next '}', when not empty.
func hashTag(key string) string {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			return key[s+1 : s+1+e]
		}
	}
	return key
}

// keySlot is CLUSTER KEYSLOT: CRC16 (XMODEM) of the tag modulo 16384.
func keySlot(key string) int { return int(clusterSlot(hashTag(key))) }
