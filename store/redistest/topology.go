package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A Cluster and a Sentinel are sets of redis-server processes that tests
// start either for themselves (StartCluster, StartSentinel: killed when
// the test ends) or once for a whole package from TestMain (NewCluster,
// NewSentinel, then Close), where starting one per test would cost more
// than the tests. Both are loopback only and not durable.

// topologyTimeout bounds the wait for a cluster or the sentinels to agree
// on their topology.
const topologyTimeout = 30 * time.Second

// node is one redis-server of a topology, restartable on its port.
type node struct {
	bin  string
	port int
	dir  string
	args []string // after the config file, if any

	mu   sync.Mutex
	proc *process
}

func (n *node) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)) }

// start launches the node and waits until it answers PING.
func (n *node) start() error {
	cmd := exec.Command(n.bin, n.args...)
	cmd.Dir = n.dir
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: start %s: %w", n.bin, err)
	}
	p := &process{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // the output explains an exit better
		close(p.done)
	}()
	if err := waitReady(n.addr(), p.done); err != nil {
		p.kill()
		return fmt.Errorf("%w; output: %s", err, strings.TrimSpace(out.String()))
	}
	n.mu.Lock()
	n.proc = p
	n.mu.Unlock()
	return nil
}

// kill sends SIGKILL and waits until the process is reaped; a node not
// running is left alone.
func (n *node) kill() {
	n.mu.Lock()
	p := n.proc
	n.proc = nil
	n.mu.Unlock()
	if p != nil {
		p.kill()
	}
}

// newNode prepares a node in its own directory under root, on a port
// free a moment ago; bus asks that port+10000 be free too (the cluster
// bus).
func newNode(bin, root string, bus bool) (*node, error) {
	port, err := freePort(bus)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, strconv.Itoa(port))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("redistest: %w", err)
	}
	return &node{bin: bin, port: port, dir: dir}, nil
}

// serverArgs are the command line of a data node: loopback, nothing
// persisted, working files in its directory.
func (n *node) serverArgs(extra ...string) []string {
	return append([]string{
		"--port", strconv.Itoa(n.port), "--bind", "127.0.0.1", "--dir", n.dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
	}, extra...)
}

// freePort returns a loopback TCP port free a moment ago (and, with bus,
// port+10000 as well).
func freePort(bus bool) (int, error) {
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("redistest: free port: %w", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		if !bus {
			_ = ln.Close()
			return port, nil
		}
		if port+10000 > 65535 {
			_ = ln.Close()
			continue
		}
		ln2, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		_ = ln.Close()
		if err != nil {
			continue
		}
		_ = ln2.Close()
		return port, nil
	}
	return 0, errors.New("redistest: no free port pair for a cluster node")
}

// command sends one command on a fresh connection and returns the reply
// as text: a bulk string's body, an integer's digits, or the lines of an
// array of bulk strings (nested arrays flattened). An error reply is an
// error.
func command(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	var out strings.Builder
	r := bufio.NewReader(c)
	if err := readReply(r, &out); err != nil {
		return "", err
	}
	return out.String(), nil
}

// readReply appends one RESP2 reply to out.
func readReply(r *bufio.Reader, out *strings.Builder) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return errors.New("redistest: empty reply line")
	}
	switch line[0] {
	case '+', ':':
		out.WriteString(line[1:] + "\n")
	case '-':
		return errors.New(line[1:])
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		out.Write(buf[:n])
		out.WriteString("\n")
	case '*':
		n, _ := strconv.Atoi(line[1:])
		for range max(n, 0) {
			if err := readReply(r, out); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("redistest: reply %q", line)
	}
	return nil
}

// await polls cond, backing off from 10 ms to 200 ms, until it returns
// nil or topologyTimeout passes: Redis announces no topology change to a
// client that is not subscribed, so polling is the readiness signal.
func await(what string, cond func() error) error {
	deadline := time.Now().Add(topologyTimeout)
	wait := 10 * time.Millisecond
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redistest: %s after %v: %w", what, topologyTimeout, err)
		}
		time.Sleep(wait)
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// infoHas checks that INFO section on addr has every "field:value".
func infoHas(addr, section string, want ...string) error {
	info, err := command(addr, "INFO", section)
	if err != nil {
		return err
	}
	for _, w := range want {
		if !strings.Contains(info, w+"\r\n") && !strings.Contains(info, w+"\n") {
			return fmt.Errorf("%s: INFO %s lacks %q", addr, section, w)
		}
	}
	return nil
}

// lookBin finds a binary, failing with a hint on how to install it.
func lookBin(name, pkg string) (string, error) {
	bin, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("redistest: %s not found on PATH: install %s (make test does): %w", name, pkg, err)
	}
	return bin, nil
}

// mustStart turns a constructor's error into a test failure and
// registers close as the test's cleanup.
func mustStart[T interface{ Close() error }](t testing.TB, v T, err error) T {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := v.Close(); err != nil {
			t.Errorf("redistest: close: %v", err)
		}
	})
	return v
}
