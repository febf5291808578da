//go:build linux

package session_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrptest"
)

// emfileChild makes the test binary the endpoint process of
// TestServeSurvivesDescriptorExhaustion.
const emfileChild = "IWF_TEST_EMFILE_CHILD"

// TestServeSurvivesDescriptorExhaustion runs an endpoint in a child
// process whose descriptor limit is a few above what it has open, fills
// it with connections until accept fails with EMFILE, frees them, and
// checks that the same Serve then serves a new connection.
func TestServeSurvivesDescriptorExhaustion(t *testing.T) {
	if os.Getenv(emfileChild) != "" {
		exhaustedChild(t)
		return
	}
	ctx := testutil.Context(t)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestServeSurvivesDescriptorExhaustion$", "-test.count=1")
	cmd.Env = append(os.Environ(), emfileChild+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if l, ok := strings.CutPrefix(sc.Text(), "child: "); ok {
				lines <- l
			}
		}
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				_ = cmd.Wait()
				t.Fatalf("child ended before %s: %v\n%s", what, cmd.ProcessState, stderr.String())
			}
			return l
		case <-ctx.Done():
			t.Fatalf("no %s from the child", what)
		}
		return ""
	}
	addr, ok := strings.CutPrefix(next("address"), "addr ")
	if !ok {
		t.Fatal("child did not say its address")
	}
	// More connections than the child has descriptors left: its accepts
	// fail until some are closed.
	var conns []net.Conn
	for range 32 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	if l := next("exhaustion"); l != "exhausted" {
		t.Fatalf("child: %s", l)
	}
	for _, c := range conns {
		c.Close()
	}
	p := msrptest.Dial(t, addr)
	_ = p.Conn.SetReadDeadline(time.Now().Add(testutil.WaitTimeout))
	write(t, p, ping("tid00001"))
	if r := p.Read(t); r.StatusCode != 481 {
		t.Fatalf("after exhaustion: %d", r.StatusCode)
	}
	stdin.Close()
	if l := next("stats"); !strings.HasPrefix(l, "stats ") {
		t.Fatalf("child: %s", l)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
}

// exhaustedChild is the child's side: it serves with its descriptor
// limit a few above what is open, says "exhausted" once Serve waited out
// an accept error, and exits when stdin closes.
func exhaustedChild(t *testing.T) {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = uint64(len(fds) + 8)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	ep, err := session.NewEndpoint(session.Config{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- ep.Serve(ctx, ln) }()
	fmt.Printf("child: addr %s\n", ln.Addr())
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for said := false; ; {
		select {
		case err := <-served:
			fmt.Printf("child: serve ended: %v\n", err)
			t.Fatalf("serve ended: %v", err)
		case <-stdinClosed:
			st := ep.Stats()
			fmt.Printf("child: stats accept_errors=%d accepted=%d\n", st.AcceptErrors, st.ConnsAccepted)
			return
		case <-tick.C:
			if !said && ep.Stats().AcceptErrors > 0 {
				fmt.Println("child: exhausted")
				said = true
			}
		}
	}
}
