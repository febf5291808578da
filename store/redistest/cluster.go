package redistest

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// ClusterOpts shapes a Cluster.
type ClusterOpts struct {
	// Masters is the number of masters; default (and minimum, for
	// redis-cli --cluster create) 3.
	Masters int
	// Replicas is the number of replicas of each master; default 0.
	Replicas int
}

// Cluster is a Redis Cluster of Masters x (1 + Replicas) redis-server
// processes, created with redis-cli --cluster create and ready
// (cluster_state:ok on every node, replicas in sync) when returned.
type Cluster struct {
	root  string
	nodes []*node
	opts  ClusterOpts
}

// StartCluster starts a Cluster for t and kills it when the test ends. A
// missing redis-server or redis-cli fails the test.
func StartCluster(t testing.TB, opts ClusterOpts) *Cluster {
	t.Helper()
	c, err := NewCluster(t.TempDir(), opts)
	return mustStart(t, c, err)
}

// NewCluster starts a Cluster whose files live under root; the caller
// must Close it (TestMain does, for a cluster shared by a package).
func NewCluster(root string, opts ClusterOpts) (*Cluster, error) {
	if opts.Masters == 0 {
		opts.Masters = 3
	}
	if opts.Masters < 3 || opts.Replicas < 0 {
		return nil, fmt.Errorf("redistest: cluster of %d masters, %d replicas: want 3 or more masters", opts.Masters, opts.Replicas)
	}
	srv, err := lookBin("redis-server", "redis-server")
	if err != nil {
		return nil, err
	}
	cli, err := lookBin("redis-cli", "redis-tools")
	if err != nil {
		return nil, err
	}
	c := &Cluster{root: root, opts: opts}
	for range opts.Masters * (1 + opts.Replicas) {
		n, err := c.startNode(srv)
		if err != nil {
			return nil, errors.Join(err, c.Close())
		}
		c.nodes = append(c.nodes, n)
	}
	// redis-cli makes the first Masters addresses masters and the rest
	// their replicas.
	args := []string{"--cluster", "create"}
	for _, n := range c.nodes {
		args = append(args, n.addr())
	}
	args = append(args, "--cluster-replicas", strconv.Itoa(opts.Replicas), "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		return nil, errors.Join(fmt.Errorf("redistest: redis-cli --cluster create: %w: %s", err, out), c.Close())
	}
	if err := c.awaitOK(); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

// startNode starts one cluster-enabled node, trying other ports when one
// is taken between the probe and the bind.
func (c *Cluster) startNode(bin string) (*node, error) {
	var last error
	for range startAttempts {
		n, err := newNode(bin, c.root, true)
		if err != nil {
			return nil, err
		}
		n.args = n.serverArgs("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "1000", "--cluster-require-full-coverage", "no")
		if last = n.start(); last == nil {
			return n, nil
		}
	}
	return nil, last
}

// awaitOK waits until every running node reports cluster_state:ok with
// every slot assigned and knows every replica as one (gossip spreads
// roles after the slots), and every replica's link to its master is up.
func (c *Cluster) awaitOK() error {
	return await("cluster ready", func() error {
		for _, n := range c.running() {
			nodes, err := command(n.addr(), "CLUSTER", "NODES")
			if err != nil {
				return err
			}
			if got, want := strings.Count(nodes, "slave"), c.opts.Masters*c.opts.Replicas; got != want {
				return fmt.Errorf("%s knows %d replicas of %d", n.addr(), got, want)
			}
			info, err := command(n.addr(), "CLUSTER", "INFO")
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_assigned:16384") {
				return fmt.Errorf("%s: cluster not ok", n.addr())
			}
			role, err := command(n.addr(), "ROLE")
			if err != nil {
				return err
			}
			if strings.HasPrefix(role, "slave") {
				if err := infoHas(n.addr(), "replication", "master_link_status:up"); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (c *Cluster) running() []*node {
	var out []*node
	for _, n := range c.nodes {
		n.mu.Lock()
		if n.proc != nil {
			out = append(out, n)
		}
		n.mu.Unlock()
	}
	return out
}

// Addrs returns the "127.0.0.1:port" of every node started, masters
// first: seeds for a cluster client.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.addr()
	}
	return out
}

// MasterOf returns the address of the running master serving key's slot.
func (c *Cluster) MasterOf(key string) (string, error) {
	for _, n := range c.running() {
		slot, err := command(n.addr(), "CLUSTER", "KEYSLOT", key)
		if err != nil {
			return "", err
		}
		nodes, err := command(n.addr(), "CLUSTER", "NODES")
		if err != nil {
			return "", err
		}
		s, _ := strconv.Atoi(strings.TrimSpace(slot))
		if a := masterOfSlot(nodes, s); a != "" {
			return a, nil
		}
	}
	return "", errors.New("redistest: no running node knows the slot's master")
}

// masterOfSlot reads CLUSTER NODES: "<id> <ip:port@bus> <flags> <master>
// <ping> <pong> <epoch> <link> <slot ranges...>".
func masterOfSlot(nodes string, slot int) string {
	for line := range strings.Lines(nodes) {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.Contains(f[2], "master") || strings.Contains(f[2], "fail") {
			continue
		}
		for _, r := range f[8:] {
			lo, hi, ok := strings.Cut(r, "-")
			if !ok {
				hi = lo
			}
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if err1 == nil && err2 == nil && a <= slot && slot <= b {
				addr, _, _ := strings.Cut(f[1], "@")
				return addr
			}
		}
	}
	return ""
}

// Kill sends SIGKILL to the node at addr and waits until it has exited.
func (c *Cluster) Kill(addr string) error {
	for _, n := range c.nodes {
		if n.addr() == addr {
			n.kill()
			return nil
		}
	}
	return fmt.Errorf("redistest: no cluster node %s", addr)
}

// Close kills every node.
func (c *Cluster) Close() error {
	for _, n := range c.nodes {
		n.kill()
	}
	return nil
}
