// Package testutil holds what the tests of every package here share: a
// context and a logger tied to the test, a check that the code under test
// leaves no goroutine behind, a wait for a condition that has no event,
// and a free port.
//
// It imports nothing of this module, so that any package's tests, internal
// ones included, can use it.
package testutil

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ContextTimeout bounds every Context, so that a hung test fails with a
// deadline error instead of running into go test's global timeout.
const ContextTimeout = 60 * time.Second

// LogEnv names the environment variable that turns test logs on: when it
// is set, Logger writes every record, debug included, through t.Log.
const LogEnv = "IWF_TEST_LOG"

// Context returns a context cancelled by a cleanup of tb, or after
// ContextTimeout. Unlike t.Context it lives until its own cleanup runs, so
// cleanups registered after the call can still use it to close what it
// opened.
func Context(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), ContextTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// Logger returns a logger for the code under test. It discards everything
// unless LogEnv is set: most tests assert on behaviour, and the logs of a
// passing test are noise. For a *testing.F it writes to standard error.
func Logger(tb testing.TB) *slog.Logger {
	if os.Getenv(LogEnv) == "" {
		return slog.New(slog.DiscardHandler)
	}
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	if _, ok := tb.(*testing.F); ok {
		// What a fuzz target runs may not log through f.
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	w := &tbWriter{tb: tb}
	tb.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, opts))
}

// tbWriter passes each log line to tb.Log until tb's cleanups run. The
// code under test may log from its goroutines after that, and testing
// panics on a Log after the test has completed.
type tbWriter struct {
	tb     testing.TB
	mu     sync.Mutex
	closed bool
}

// Write is called once per record by slog's text handler.
func (w *tbWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *tbWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}

// FreePort returns a loopback port that was free for both TCP and UDP a
// moment ago, for what takes a port number instead of a listener (another
// process, a config file). Someone else may take it before the caller
// binds it: on a busy machine any outgoing connection may get it as its
// local port. Where the code under test can bind port 0 and say where it
// listens (the daemon logs its listen addresses), do that instead.
func FreePort(tb testing.TB) int {
	tb.Helper()
	return FreePorts(tb, 1)[0]
}

// FreePorts returns n different loopback ports, each free for both TCP and
// UDP a moment ago: all are held until all are found, so that one config
// never gets the same port twice.
func FreePorts(tb testing.TB, n int) []int {
	tb.Helper()
	var held []io.Closer
	defer func() {
		for _, c := range held {
			_ = c.Close()
		}
	}()
	ports := make([]int, 0, n)
	for try := 0; len(ports) < n; try++ {
		if try == 20*n {
			tb.Fatal("testutil: no loopback port free for both TCP and UDP")
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("testutil: free port: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			_ = ln.Close()
			continue
		}
		held = append(held, ln, pc)
		ports = append(ports, port)
	}
	return ports
}

// ClosedAddr returns a loopback TCP address nothing listens on: a port
// the kernel handed out and that was closed again, so a dial is refused
// at once.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
