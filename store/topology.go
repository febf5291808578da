package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Topology is the Redis deployment behind the store as it is now, for
// an operator's status page: the masters, each with the slots it serves
// (cluster) and its replicas.
type Topology struct {
	// Mode is ModeSingle, ModeCluster or ModeSentinel.
	Mode string
	// Masters are sorted by address; one outside a cluster.
	Masters []Master
}

// Master is one Redis master of a Topology.
type Master struct {
	// Addr is its "host:port".
	Addr string
	// Slots are its cluster slot ranges ("0-5460", or "42" alone), none
	// outside a cluster.
	Slots []string
	// Replicas are the "host:port" of its replicas: in a cluster those
	// CLUSTER NODES lists, else the online ones of INFO replication.
	Replicas []string
}

// Topology reads the deployment: CLUSTER NODES on a cluster; elsewhere
// INFO replication of the master, whose address the sentinels give in
// sentinel mode.
func (s *Store) Topology(ctx context.Context) (Topology, error) {
	const op = "topology"
	t := Topology{Mode: s.mode}
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		// CLUSTER NODES rather than CLUSTER SLOTS, which leaves out
		// replicas that have not replicated anything yet.
		nodes, err := cc.ClusterNodes(ctx).Result()
		if err != nil {
			return t, wrap(op, err)
		}
		t.Masters = clusterMasters(nodes)
		return t, nil
	}
	addr := s.addr
	if s.mode == ModeSentinel {
		a, err := s.sentinelMaster(ctx)
		if err != nil {
			return t, wrap(op, err)
		}
		addr = a
	}
	info, err := s.client.Info(ctx, "replication").Result()
	if err != nil {
		return t, wrap(op, err)
	}
	t.Masters = []Master{{Addr: addr, Replicas: onlineReplicas(info)}}
	return t, nil
}

// clusterMasters reads CLUSTER NODES, a line per node: "<id>
// <ip:port@bus> <flags> <master id or -> <ping> <pong> <epoch> <link>
// <slot ranges...>". Failed nodes are left out.
func clusterMasters(nodes string) []Master {
	byID := map[string]*Master{}
	replicasOf := map[string][]string{}
	for line := range strings.Lines(nodes) {
		f := strings.Fields(line)
		if len(f) < 8 || strings.Contains(f[2], "fail") || strings.Contains(f[2], "noaddr") {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		switch {
		case strings.Contains(f[2], "master"):
			m := &Master{Addr: addr}
			for _, r := range f[8:] {
				if !strings.HasPrefix(r, "[") { // "[slot->-id]": a slot migrating
					m.Slots = append(m.Slots, r)
				}
			}
			byID[f[0]] = m
		case strings.Contains(f[2], "slave"):
			replicasOf[f[3]] = append(replicasOf[f[3]], addr)
		}
	}
	out := make([]Master, 0, len(byID))
	for id, m := range byID {
		m.Replicas = replicasOf[id]
		slices.Sort(m.Replicas)
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b Master) int { return strings.Compare(a.Addr, b.Addr) })
	return out
}

// sentinelMaster asks the sentinels, in turn, for the master's address.
func (s *Store) sentinelMaster(ctx context.Context) (string, error) {
	var errs []error
	for _, a := range s.sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: a, DialTimeout: s.dialTimeout, DisableIdentity: true})
		hp, err := sc.GetMasterAddrByName(ctx, s.masterName).Result()
		errs = append(errs, err, sc.Close())
		if err == nil && len(hp) == 2 {
			return net.JoinHostPort(hp[0], hp[1]), nil
		}
	}
	return "", fmt.Errorf("no sentinel names master %q: %w", s.masterName, errors.Join(errs...))
}

// onlineReplicas reads the "slaveN:ip=...,port=...,state=online,..."
// lines of INFO replication.
func onlineReplicas(info string) []string {
	var out []string
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(k, "slave") || strings.HasPrefix(k, "slave_") {
			continue
		}
		f := map[string]string{}
		for kv := range strings.SplitSeq(v, ",") {
			a, b, _ := strings.Cut(kv, "=")
			f[a] = b
		}
		if _, err := strconv.Atoi(f["port"]); err == nil && f["state"] == "online" {
			out = append(out, net.JoinHostPort(f["ip"], f["port"]))
		}
	}
	slices.Sort(out)
	return out
}
