package redistest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"iwf/store/redistest"
)

func client(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestStartAnswersPing(t *testing.T) {
	addr := redistest.Start(t)
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("Start returned %q (%v), want 127.0.0.1:port", addr, err)
	}
	ctx := context.Background()
	c := client(t, addr)
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING: %v", err)
	}
	// Not durable: the server runs with the AOF off and no snapshots.
	cfg, err := c.ConfigGet(ctx, "*").Result()
	if err != nil {
		t.Fatalf("CONFIG GET: %v", err)
	}
	if cfg["appendonly"] != "no" || cfg["save"] != "" || cfg["bind"] != "127.0.0.1" {
		t.Fatalf("config appendonly=%q save=%q bind=%q", cfg["appendonly"], cfg["save"], cfg["bind"])
	}
}

func TestTwoServersDiffer(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	if a == b {
		t.Fatalf("two servers on one address %s", a)
	}
}

func TestKillRestart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		durable bool
		want    string // value after the restart, "" = lost
	}{
		{name: "durable keeps data", durable: true, want: "v"},
		{name: "volatile loses data", durable: false, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.StartServer(t, redistest.StartOpts{Durable: tc.durable})
			ctx := context.Background()
			c := client(t, srv.Addr())
			if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatalf("SET: %v", err)
			}
			srv.Kill()
			conn, err := net.DialTimeout("tcp", srv.Addr(), time.Second)
			if err == nil {
				conn.Close()
				t.Fatal("killed server still accepts connections")
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("dial after Kill: %v, want connection refused", err)
			}
			srv.Restart()
			got, err := c.Get(ctx, "k").Result()
			if errors.Is(err, redis.Nil) {
				got, err = "", nil
			}
			if err != nil || got != tc.want {
				t.Fatalf("GET after restart = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// fatalTB records Fatal and ends the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingBinaryFails(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		redistest.Start(tb)
	}()
	<-done
	if !strings.Contains(tb.msg, "install redis-server (make test does)") {
		t.Fatalf("Fatal message %q", tb.msg)
	}
}

// A paused server leaves a command unanswered (the read deadline, not a
// measured time, is how the test sees that no answer comes) and answers
// it once resumed.
func TestPauseResume(t *testing.T) {
	srv := redistest.StartServer(t, redistest.StartOpts{})
	conn, err := net.DialTimeout("tcp", srv.Addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	srv.Pause()
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if err := conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, err := conn.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("paused server answered %q, %v; want no answer", buf[:n], err)
	}
	srv.Resume()
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, err := conn.Read(buf)
	if err != nil || string(buf[:n]) != "+PONG\r\n" {
		t.Fatalf("after Resume: %q, %v; want +PONG", buf[:n], err)
	}
}
