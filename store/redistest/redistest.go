// Package redistest runs a real redis-server for tests, in the style of
// net/http/httptest: Start launches one on a free loopback port, waits until
// it answers PING and returns its address; the test's cleanup kills it.
//
// A missing redis-server binary fails the test (it is never skipped): the
// store's behaviour against real Redis is part of what the tests prove, and
// `make test` installs the binary (scripts/deps.sh).
//
// StartServer returns a *Server that crash tests can Kill (SIGKILL) and
// Restart on the same port; with StartOpts.Durable the server writes an
// append-only file with fsync on every write into a per-test directory, so
// that the restarted server holds what was acknowledged before the kill.
// Pause and Resume stop and continue it (SIGSTOP, SIGCONT): a stall in
// which connections stay open and commands wait unanswered.
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"iwf/internal/testutil"
)

// StartOpts tunes StartServer.
type StartOpts struct {
	// Durable turns on the append-only file with appendfsync always in a
	// directory of t.TempDir(), so that data survives Kill and Restart.
	Durable bool
	// EverySec turns on the append-only file with appendfsync everysec
	// (production's persistence) in a directory of t.TempDir(): for
	// benchmarks that measure what Redis spends.
	EverySec bool
}

// Server is a running redis-server owned by one test.
type Server struct {
	t    testing.TB
	bin  string
	port int
	dir  string
	opts StartOpts

	mu   sync.Mutex
	proc *process
}

// process is one run of redis-server; done closes when it has exited and
// been reaped.
type process struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// startAttempts bounds the retries when another process takes the port
// between our probe and redis-server's bind.
const startAttempts = 3

// readyTimeout is how long a starting server may take to answer PING.
const readyTimeout = 10 * time.Second

// Start runs a redis-server for t without persistence and returns its
// "127.0.0.1:port". The server is killed when the test ends.
func Start(t testing.TB) string {
	t.Helper()
	return StartServer(t, StartOpts{}).Addr()
}

// StartServer runs a redis-server for t and returns it; the server is
// killed when the test ends (a paused one too: SIGKILL ends a stopped
// process). Kill, Restart, Pause and Resume must be called from the test
// goroutine, as they fail the test on error.
func StartServer(t testing.TB, opts StartOpts) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redistest: redis-server not found on PATH: install redis-server (make test does)")
	}
	s := &Server{t: t, bin: bin, opts: opts}
	if opts.Durable || opts.EverySec {
		s.dir = t.TempDir()
	}
	t.Cleanup(s.stop)
	var last error
	for range startAttempts {
		// The port is released before redis-server binds it, so someone
		// else may take it: launch then fails and the loop tries another.
		s.port = testutil.FreePort(t)
		if last = s.launch(); last == nil {
			return s
		}
	}
	t.Fatalf("redistest: redis-server did not start after %d attempts: %v", startAttempts, last)
	return nil
}

// Addr returns "127.0.0.1:port".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Kill sends SIGKILL to the server and waits until it has exited: nothing
// is flushed, as in a crash.
func (s *Server) Kill() {
	s.t.Helper()
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	p.kill()
}

// Pause stops the server with SIGSTOP: its sockets stay open and accept
// connections and commands, which it answers only after Resume, as a
// Redis stalled by the host (a VM pause, swapping, a stuck disk) does.
func (s *Server) Pause() {
	s.t.Helper()
	s.signal(syscall.SIGSTOP, "pause")
}

// Resume continues a paused server with SIGCONT; the commands sent
// meanwhile are then executed and answered.
func (s *Server) Resume() {
	s.t.Helper()
	s.signal(syscall.SIGCONT, "resume")
}

// signal sends sig to the running server, failing the test when none
// runs.
func (s *Server) signal(sig syscall.Signal, what string) {
	s.t.Helper()
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		s.t.Fatalf("redistest: %s: the server is not running", what)
		return
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redistest: %s: %v", what, err)
	}
}

// Restart starts the server again on the same port (killing it first if it
// still runs) and waits until it answers PING. A Durable server reloads its
// append-only file.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	// The port was ours a moment ago; the retries cover a slow release by
	// the kernel, and anyone else taking it in between.
	var last error
	for range startAttempts {
		if last = s.launch(); last == nil {
			return
		}
	}
	s.t.Fatalf("redistest: restart on port %d: %v", s.port, last)
}

// stop is the cleanup: kill whatever still runs.
func (s *Server) stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.kill()
	}
}

// args is the command line: loopback only, no RDB snapshots, and either no
// AOF or an AOF fsynced on every write.
func (s *Server) args() []string {
	a := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--daemonize", "no",
		"--loglevel", "warning",
	}
	if s.opts.Durable {
		return append(a, "--appendonly", "yes", "--appendfsync", "always", "--dir", s.dir)
	}
	if s.opts.EverySec {
		return append(a, "--appendonly", "yes", "--appendfsync", "everysec", "--dir", s.dir)
	}
	return append(a, "--appendonly", "no")
}

// launch starts redis-server once and waits for PING. It returns an error
// (with the server's output) when the process exits first, as it does when
// the port is taken.
func (s *Server) launch() error {
	cmd := exec.Command(s.bin, s.args()...)
	out := &syncBuffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: start redis-server: %w", err)
	}
	p := &process{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		// The error is the exit status, which the output explains better.
		_ = cmd.Wait()
		close(p.done)
	}()
	if err := waitReady(s.Addr(), p.done); err != nil {
		p.kill()
		return fmt.Errorf("%w; output: %s", err, strings.TrimSpace(out.String()))
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return nil
}

// kill sends SIGKILL and waits for the reaper goroutine.
func (p *process) kill() {
	// An error means the process has already exited; done closes anyway.
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// waitReady polls addr with PING until it answers +PONG. Redis offers no
// readiness event, so the poll backs off from 1 ms to 50 ms; it gives up
// when exited closes (the process died) or after readyTimeout.
func waitReady(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(readyTimeout)
	wait := time.Millisecond
	for {
		err := ping(addr)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redistest: %s not ready after %v: %w", addr, readyTimeout, err)
		}
		timer := time.NewTimer(wait)
		select {
		case <-exited:
			timer.Stop()
			return errors.New("redistest: redis-server exited before answering PING")
		case <-timer.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// ping sends one inline PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	// -LOADING while an AOF replays is not ready yet.
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("redistest: PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// syncBuffer collects the server's output, written by exec's copier
// goroutine and read on failure.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
