package testutil

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTB records what a test would report and runs its cleanups on
// demand. Fatal ends the goroutine as testing.T's does, so code that may
// call it runs in a goroutine of its own (see run).
type fakeTB struct {
	testing.TB // the real test, for Helper and what is not faked
	mu         sync.Mutex
	errors     []string
	fatal      string
	logs       []string
	cleanups   []func()
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Fatal(args ...any) {
	f.mu.Lock()
	f.fatal = fmt.Sprint(args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatal = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Log(args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprint(args...))
}

func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

// runCleanups runs the cleanups last registered first, as testing does.
func (f *fakeTB) runCleanups() {
	f.mu.Lock()
	cs := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

// run calls fn with f on a goroutine of its own and waits until fn has
// returned or called Fatal.
func (f *fakeTB) run(fn func(testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
}

func TestContextEndsAtCleanup(t *testing.T) {
	tb := &fakeTB{TB: t}
	ctx := Context(tb)
	if err := ctx.Err(); err != nil {
		t.Fatalf("context done before the cleanup: %v", err)
	}
	d, ok := ctx.Deadline()
	if !ok || time.Until(d) < ContextTimeout-time.Minute/2 || time.Until(d) > ContextTimeout {
		t.Fatalf("deadline in %v (set %v), want about %v", time.Until(d), ok, ContextTimeout)
	}
	tb.runCleanups()
	if err := ctx.Err(); err != context.Canceled {
		t.Fatalf("context after the cleanup: %v, want canceled", err)
	}
}

func TestLogger(t *testing.T) {
	tests := []struct {
		name string
		env  string
		want []string // lines reaching t.Log, before the cleanup
	}{
		{name: "discards by default", env: ""},
		{name: "through t.Log when asked", env: "1", want: []string{"level=DEBUG msg=detail", "level=INFO msg=hello k=v"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(LogEnv, tc.env)
			tb := &fakeTB{TB: t}
			log := Logger(tb)
			log.Debug("detail")
			log.Info("hello", "k", "v")
			tb.runCleanups()
			log.Info("after the test")
			if len(tb.logs) != len(tc.want) {
				t.Fatalf("logged %q, want %q", tb.logs, tc.want)
			}
			for i, w := range tc.want {
				// time=... comes first
				if !strings.HasSuffix(tb.logs[i], w) {
					t.Errorf("line %d %q, want it to end in %q", i, tb.logs[i], w)
				}
			}
		})
	}
}

func TestEventually(t *testing.T) {
	t.Run("returns once the condition holds", func(t *testing.T) {
		tb := &fakeTB{TB: t}
		calls := 0
		tb.run(func(tb testing.TB) {
			Eventually(tb, func() bool { calls++; return calls == 3 }, "three calls")
		})
		if tb.fatal != "" || calls != 3 {
			t.Fatalf("fatal %q after %d calls", tb.fatal, calls)
		}
	})
	t.Run("fails with the message when it never holds", func(t *testing.T) {
		tb := &fakeTB{TB: t}
		calls := 0
		tb.run(func(tb testing.TB) {
			eventually(tb, 30*time.Millisecond, func() bool { calls++; return false }, "the %s", "light")
		})
		if !strings.Contains(tb.fatal, "the light") || calls < 2 {
			t.Fatalf("fatal %q after %d calls", tb.fatal, calls)
		}
	})
}

// leaky blocks until stop closes: a goroutine of this module that the
// leak check must see.
func leaky(stop <-chan struct{}) { <-stop }

func TestLeakCheck(t *testing.T) {
	t.Run("finds a goroutine started since", func(t *testing.T) {
		l := NewLeakCheck()
		stop := make(chan struct{})
		go leaky(stop)
		tb := &fakeTB{TB: t}
		l.check(tb, 30*time.Millisecond)
		if len(tb.errors) != 1 || !strings.Contains(tb.errors[0], "1 goroutines leaked") ||
			!strings.Contains(tb.errors[0], "iwf/internal/testutil.leaky(") {
			t.Fatalf("errors %q, want one listing leaky", tb.errors)
		}
		// It waits for a goroutine that ends in the meantime.
		time.AfterFunc(10*time.Millisecond, func() { close(stop) })
		tb = &fakeTB{TB: t}
		l.Check(tb)
		if len(tb.errors) != 0 {
			t.Fatalf("errors after the goroutine ended: %q", tb.errors)
		}
	})
	t.Run("ignores goroutines running before", func(t *testing.T) {
		stop := make(chan struct{})
		defer close(stop)
		go leaky(stop)
		l := NewLeakCheck()
		tb := &fakeTB{TB: t}
		l.check(tb, 0)
		if len(tb.errors) != 0 {
			t.Fatalf("errors %q", tb.errors)
		}
	})
	t.Run("prefixes narrow what counts", func(t *testing.T) {
		l := NewLeakCheck("iwf/elsewhere.")
		stop := make(chan struct{})
		defer close(stop)
		go leaky(stop)
		tb := &fakeTB{TB: t}
		l.check(tb, 0)
		if len(tb.errors) != 0 {
			t.Fatalf("errors %q", tb.errors)
		}
	})
	t.Run("CheckLeaks checks at cleanup", func(t *testing.T) {
		tb := &fakeTB{TB: t}
		CheckLeaks(tb)
		stop := make(chan struct{})
		go leaky(stop)
		// A later cleanup (the Close of what the test started) ends it.
		tb.Cleanup(func() { close(stop) })
		tb.runCleanups()
		if len(tb.errors) != 0 {
			t.Fatalf("errors %q", tb.errors)
		}
	})
}

func TestFreePort(t *testing.T) {
	port := FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("tcp: %v", err)
	}
	ln.Close()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("udp: %v", err)
	}
	pc.Close()
}

func TestGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "golden", "out.txt")
	tb := &fakeTB{TB: t}
	tb.run(func(tb testing.TB) { Golden(tb, path, []byte("v1"), true) })
	if tb.fatal != "" || len(tb.errors) != 0 {
		t.Fatalf("update: fatal %q, errors %q", tb.fatal, tb.errors)
	}
	if got := ReadFile(t, path); string(got) != "v1" {
		t.Fatalf("golden file holds %q", got)
	}
	tb.run(func(tb testing.TB) { Golden(tb, path, []byte("v1"), false) })
	if len(tb.errors) != 0 {
		t.Fatalf("same output reported: %q", tb.errors)
	}
	tb.run(func(tb testing.TB) { Golden(tb, path, []byte("v2"), false) })
	if len(tb.errors) != 1 || !strings.Contains(tb.errors[0], "differs") {
		t.Fatalf("changed output: errors %q", tb.errors)
	}
	tb.run(func(tb testing.TB) { Golden(tb, path+".missing", []byte("v1"), false) })
	if !strings.Contains(tb.fatal, "-update") {
		t.Fatalf("missing golden file: fatal %q", tb.fatal)
	}
}

func TestFreePortsDiffer(t *testing.T) {
	ports := FreePorts(t, 8)
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d twice in %v", p, ports)
		}
		seen[p] = true
	}
}
