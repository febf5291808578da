//go:build linux

package smpp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
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
)

// fdChildEnv makes the test binary play the server of
// TestServerSurvivesDescriptorExhaustion.
const fdChildEnv = "IWF_SMPP_FD_CHILD"

// TestServerSurvivesDescriptorExhaustion runs a server in a child
// process whose descriptor table is full when a partner connects: the
// accept fails with EMFILE, and the server must wait that out and serve
// the partner once descriptors are free again, not stop (issue 11: one
// client could stop the daemon by running it out of descriptors). A
// child process, since the limit is the whole process's.
func TestServerSurvivesDescriptorExhaustion(t *testing.T) {
	if os.Getenv(fdChildEnv) != "" {
		fdChild()
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(testutil.Context(t), exe, "-test.run=^TestServerSurvivesDescriptorExhaustion$", "-test.count=1")
	cmd.Env = append(os.Environ(), fdChildEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close() // the child serves until its stdin ends
		if err := cmd.Wait(); err != nil {
			t.Errorf("child: %v\n%s", err, stderr.String())
		}
	})
	lines := bufio.NewScanner(stdout)
	await := func(prefix string) string {
		t.Helper()
		for lines.Scan() {
			l := lines.Text()
			if rest, ok := strings.CutPrefix(l, "fail: "); ok {
				t.Fatalf("child: %s", rest)
			}
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return rest
			}
		}
		t.Fatalf("child ended before %q: %v\n%s", prefix, lines.Err(), stderr.String())
		return ""
	}
	addr := await("addr ")
	await("full")
	c := dialRaw(t, addr) // the kernel takes it; the child cannot accept it
	await("freed")
	c.bind("acme", "pw", 1)
}

// fdChild serves, fills its descriptor table, reports how things go on
// standard output and serves until standard input ends.
func fdChild() {
	fail := func(format string, args ...any) {
		fmt.Printf("fail: "+format+"\n", args...)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("%v", err)
	}
	srv, err := NewServer(ln, serverConfig(acme()), SubmitHandlerFunc(func(context.Context, string, *Message) (string, error) {
		return "id", nil
	}), nil)
	if err != nil {
		fail("%v", err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(context.Background()) }()
	fmt.Println("addr", ln.Addr())

	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fail("getrlimit: %v", err)
	}
	low := lim
	low.Cur = 128
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		fail("setrlimit: %v", err)
	}
	var files []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if errors.Is(err, syscall.EMFILE) {
			break
		}
		if err != nil {
			fail("filling the descriptor table: %v", err)
		}
		files = append(files, f)
	}
	fmt.Println("full")
	// The parent connects now: wait for the accept to fail.
	tick := time.NewTicker(time.Millisecond)
	for srv.Stats().AcceptErrors == 0 {
		select {
		case err := <-runErr:
			fail("the server stopped when out of descriptors: %v", err)
		case <-tick.C:
		}
	}
	tick.Stop()
	for _, f := range files {
		_ = f.Close()
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fail("setrlimit: %v", err)
	}
	fmt.Println("freed")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := srv.Close(); err != nil {
		fail("close: %v", err)
	}
	if err := <-runErr; err != nil {
		fail("run: %v", err)
	}
}
