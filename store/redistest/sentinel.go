package redistest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// SentinelOpts shapes a Sentinel.
type SentinelOpts struct {
	// Replicas is the number of replicas of the master; default 1.
	Replicas int
	// Sentinels is the number of sentinels; default 3 (quorum 2).
	Sentinels int
}

// SentinelMaster is the name the sentinels monitor the master under.
const SentinelMaster = "iwf"

// Sentinel is one master with its replicas, watched by sentinels run as
// redis-server --sentinel, which fail over 1 s after the master stops
// answering. It is returned once the replicas are in sync and every
// sentinel knows every replica and every other sentinel, so that a
// failover can be authorised.
type Sentinel struct {
	root      string
	data      []*node // data[0] is the master at start
	sentinels []*node
	quorum    int
}

// StartSentinel starts a Sentinel for t and kills it when the test ends.
func StartSentinel(t testing.TB, opts SentinelOpts) *Sentinel {
	t.Helper()
	s, err := NewSentinel(t.TempDir(), opts)
	return mustStart(t, s, err)
}

// NewSentinel starts a Sentinel whose files live under root; the caller
// must Close it.
func NewSentinel(root string, opts SentinelOpts) (*Sentinel, error) {
	if opts.Replicas == 0 {
		opts.Replicas = 1
	}
	if opts.Sentinels == 0 {
		opts.Sentinels = 3
	}
	bin, err := lookBin("redis-server", "redis-server")
	if err != nil {
		return nil, err
	}
	s := &Sentinel{root: root, quorum: opts.Sentinels/2 + 1}
	for i := range 1 + opts.Replicas {
		var extra []string
		if i > 0 {
			extra = []string{"--replicaof", "127.0.0.1", strconv.Itoa(s.data[0].port)}
		}
		n, err := s.start(bin, func(n *node) error {
			n.args = n.serverArgs(extra...)
			return nil
		})
		if err != nil {
			return nil, errors.Join(err, s.Close())
		}
		s.data = append(s.data, n)
	}
	for range opts.Sentinels {
		n, err := s.start(bin, s.sentinelConfig)
		if err != nil {
			return nil, errors.Join(err, s.Close())
		}
		s.sentinels = append(s.sentinels, n)
	}
	if err := s.awaitReady(); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// start prepares and starts one node, trying other ports when one is
// taken between the probe and the bind.
func (s *Sentinel) start(bin string, setup func(*node) error) (*node, error) {
	var last error
	for range startAttempts {
		n, err := newNode(bin, s.root, false)
		if err != nil {
			return nil, err
		}
		if err := setup(n); err != nil {
			return nil, err
		}
		if last = n.start(); last == nil {
			return n, nil
		}
	}
	return nil, last
}

// sentinelConfig writes a sentinel's configuration file (a sentinel
// rewrites it with what it learns, so it must be a file of its own).
func (s *Sentinel) sentinelConfig(n *node) error {
	conf := fmt.Sprintf(`port %d
bind 127.0.0.1
daemonize no
loglevel warning
dir %s
sentinel monitor %s 127.0.0.1 %d %d
sentinel down-after-milliseconds %s 1000
sentinel failover-timeout %s 5000
sentinel parallel-syncs %s 1
`, n.port, n.dir, SentinelMaster, s.data[0].port, s.quorum, SentinelMaster, SentinelMaster, SentinelMaster)
	path := filepath.Join(n.dir, "sentinel.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return fmt.Errorf("redistest: %w", err)
	}
	n.args = []string{path, "--sentinel"}
	return nil
}

// awaitReady waits for replication and for the sentinels to know each
// other and the replicas (they learn it from hello messages every 2 s).
func (s *Sentinel) awaitReady() error {
	return await("sentinel ready", func() error {
		for _, d := range s.data[1:] {
			if err := infoHas(d.addr(), "replication", "master_link_status:up"); err != nil {
				return err
			}
		}
		for _, n := range s.sentinels {
			reps, err := command(n.addr(), "SENTINEL", "REPLICAS", SentinelMaster)
			if err != nil {
				return err
			}
			if got := strings.Count(reps, "\nflags\n"); got < len(s.data)-1 {
				return fmt.Errorf("%s knows %d replicas", n.addr(), got)
			}
			peers, err := command(n.addr(), "SENTINEL", "SENTINELS", SentinelMaster)
			if err != nil {
				return err
			}
			if got := strings.Count(peers, "\nflags\n"); got < len(s.sentinels)-1 {
				return fmt.Errorf("%s knows %d sentinels", n.addr(), got)
			}
		}
		return nil
	})
}

// Addrs returns the sentinels' "127.0.0.1:port".
func (s *Sentinel) Addrs() []string {
	out := make([]string, len(s.sentinels))
	for i, n := range s.sentinels {
		out[i] = n.addr()
	}
	return out
}

// Master returns the master's address as the sentinels report it now.
func (s *Sentinel) Master() (string, error) {
	var last error
	for _, n := range s.sentinels {
		n.mu.Lock()
		up := n.proc != nil
		n.mu.Unlock()
		if !up {
			continue
		}
		out, err := command(n.addr(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SentinelMaster)
		if err != nil {
			last = err
			continue
		}
		f := strings.Fields(out)
		if len(f) == 2 {
			return f[0] + ":" + f[1], nil
		}
	}
	return "", fmt.Errorf("redistest: no sentinel names the master: %w", last)
}

// KillMaster sends SIGKILL to the current master and returns its
// address; the sentinels then promote a replica.
func (s *Sentinel) KillMaster() (string, error) {
	addr, err := s.Master()
	if err != nil {
		return "", err
	}
	for _, d := range s.data {
		if d.addr() == addr {
			d.kill()
			return addr, nil
		}
	}
	return "", fmt.Errorf("redistest: the master %s is none of ours", addr)
}

// Restart starts the data node at addr again, empty; the sentinels make
// it a replica of the current master.
func (s *Sentinel) Restart(addr string) error {
	for _, d := range s.data {
		if d.addr() == addr {
			d.kill()
			return d.start()
		}
	}
	return fmt.Errorf("redistest: no data node %s", addr)
}

// AwaitFailover waits until every sentinel names the same master, other
// than old, and it answers as a master. Only then may old be restarted:
// a sentinel still on the old configuration would make the promoted
// replica a replica of the restarted, empty, node, which wipes it.
func (s *Sentinel) AwaitFailover(old string) (string, error) {
	var now string
	err := await("failover from "+old, func() error {
		m := ""
		for _, n := range s.sentinels {
			out, err := command(n.addr(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SentinelMaster)
			if err != nil {
				return err
			}
			f := strings.Fields(out)
			if len(f) != 2 {
				return fmt.Errorf("%s names no master", n.addr())
			}
			got := f[0] + ":" + f[1]
			if got == old || (m != "" && got != m) {
				return fmt.Errorf("%s names %s", n.addr(), got)
			}
			m = got
		}
		role, err := command(m, "ROLE")
		if err != nil {
			return err
		}
		if !strings.HasPrefix(role, "master") {
			return fmt.Errorf("%s is %s", m, strings.Fields(role)[0])
		}
		now = m
		return nil
	})
	return now, err
}

// AwaitReplicas waits until the master has n replicas connected and in
// sync.
func (s *Sentinel) AwaitReplicas(n int) error {
	return await("replicas", func() error {
		m, err := s.Master()
		if err != nil {
			return err
		}
		info, err := command(m, "INFO", "replication")
		if err != nil {
			return err
		}
		if got := strings.Count(info, ",state=online,"); got < n {
			return fmt.Errorf("%s has %d replicas online", m, got)
		}
		return nil
	})
}

// Replicas returns the addresses of the data nodes other than the
// current master.
func (s *Sentinel) Replicas() ([]string, error) {
	m, err := s.Master()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range s.data {
		if d.addr() != m {
			out = append(out, d.addr())
		}
	}
	return out, nil
}

// Pause stops the data node at addr with SIGSTOP (a replica that lags:
// its link stays open and nothing it is sent is applied); Resume
// continues it.
func (s *Sentinel) Pause(addr string) error { return s.signal(addr, syscall.SIGSTOP) }

// Resume continues a node Pause stopped.
func (s *Sentinel) Resume(addr string) error { return s.signal(addr, syscall.SIGCONT) }

func (s *Sentinel) signal(addr string, sig syscall.Signal) error {
	for _, d := range s.data {
		if d.addr() != addr {
			continue
		}
		d.mu.Lock()
		p := d.proc
		d.mu.Unlock()
		if p == nil {
			return fmt.Errorf("redistest: %s is not running", addr)
		}
		return p.cmd.Process.Signal(sig)
	}
	return fmt.Errorf("redistest: no data node %s", addr)
}

// DropReplicaLinks closes the master's connections to its replicas
// (CLIENT KILL TYPE replica): writes from then on reach no replica until
// one connects again, which a paused one cannot. Killing the master in
// that window loses what it acknowledged meanwhile, as when the replica
// link is cut by the network.
func (s *Sentinel) DropReplicaLinks() error {
	m, err := s.Master()
	if err != nil {
		return err
	}
	_, err = command(m, "CLIENT", "KILL", "TYPE", "replica")
	return err
}

// Close kills the sentinels and the data nodes.
func (s *Sentinel) Close() error {
	for _, n := range append(append([]*node{}, s.sentinels...), s.data...) {
		n.kill()
	}
	return nil
}
