package redistest_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"iwf/store/redistest"
)

// A started cluster serves every slot: keys of three tags that live on
// different masters are written and read through a cluster client, and a
// script over two keys of one tag runs.
func TestStartCluster(t *testing.T) {
	c := redistest.StartCluster(t, redistest.ClusterOpts{Replicas: 1})
	if got := len(c.Addrs()); got != 6 {
		t.Fatalf("%d nodes, want 6", got)
	}
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()[:1]})
	t.Cleanup(func() { _ = cc.Close() })
	masters := map[string]bool{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		if err := cc.Set(ctx, k, k, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
		m, err := c.MasterOf(k)
		if err != nil {
			t.Fatal(err)
		}
		masters[m] = true
	}
	if len(masters) < 2 {
		t.Fatalf("six keys on %d masters", len(masters))
	}
	n, err := redis.NewScript(`return redis.call('SET', KEYS[1], 1) and redis.call('INCR', KEYS[2])`).
		Run(ctx, cc, []string{"{t}:a", "{t}:b"}).Int64()
	if err != nil || n != 1 {
		t.Fatalf("script = %d, %v", n, err)
	}
}

// Killing the master makes the sentinels promote the replica, which then
// takes writes through a failover client.
func TestStartSentinelFailover(t *testing.T) {
	s := redistest.StartSentinel(t, redistest.SentinelOpts{})
	ctx := context.Background()
	fc := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: redistest.SentinelMaster, SentinelAddrs: s.Addrs()})
	t.Cleanup(func() { _ = fc.Close() })
	if err := fc.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := fc.Do(ctx, "WAIT", 1, 5000).Int64(); err != nil || n != 1 {
		t.Fatalf("WAIT = %d, %v", n, err)
	}
	old, err := s.KillMaster()
	if err != nil {
		t.Fatal(err)
	}
	now, err := s.AwaitFailover(old)
	if err != nil {
		t.Fatal(err)
	}
	if now == old {
		t.Fatalf("master still %s", old)
	}
	// The replica held the write that WAIT confirmed.
	nc := redis.NewClient(&redis.Options{Addr: now})
	t.Cleanup(func() { _ = nc.Close() })
	if v, err := nc.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET on the new master = %q, %v", v, err)
	}
	if err := s.Restart(old); err != nil {
		t.Fatal(err)
	}
	if err := s.AwaitReplicas(1); err != nil {
		t.Fatal(err)
	}
}
