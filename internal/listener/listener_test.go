package listener

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"iwf/internal/testutil"
)

// flaky is a listener whose Accept fails with errs, in turn, before it
// hands out the real listener's connections.
type flaky struct {
	net.Listener
	errs []error
}

func (f *flaky) Accept() (net.Conn, error) {
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	return f.Listener.Accept()
}

func tcpListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func acceptErr(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
}

func TestAcceptWaitsOutTransientErrors(t *testing.T) {
	inner := tcpListener(t)
	ln := Wrap(&flaky{Listener: inner, errs: []error{acceptErr(syscall.EMFILE), acceptErr(syscall.ENFILE), acceptErr(syscall.ECONNABORTED)}}, Budget{}, testutil.Logger(t))
	var waits []time.Duration
	ln.sleep = func(d time.Duration, _ <-chan struct{}) { waits = append(waits, d) }
	go func() {
		if c, err := net.Dial("tcp", inner.Addr().String()); err == nil {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c)
		}
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("Accept gave up: %v", err)
	}
	c.Close()
	if fmt.Sprint(waits) != "[5ms 10ms 20ms]" {
		t.Fatalf("waited %v, want a doubling back-off", waits)
	}
	if s := ln.Stats(); s.AcceptErrors != 3 || s.Accepted != 1 || s.Open != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestAcceptReturnsLastingErrors(t *testing.T) {
	lasting := errors.New("listener broken")
	ln := Wrap(&flaky{Listener: tcpListener(t), errs: []error{lasting}}, Budget{}, nil)
	if _, err := ln.Accept(); !errors.Is(err, lasting) {
		t.Fatalf("Accept = %v, want the lasting error", err)
	}
}

func TestCloseEndsAccept(t *testing.T) {
	ln := Wrap(tcpListener(t), Budget{}, nil)
	done := make(chan error, 1)
	go func() { _, err := ln.Accept(); done <- err }()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v", err)
	}
	if err := ln.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestBudget: a connection over the per-source cap is closed at once; a
// closed one frees its place.
func TestBudget(t *testing.T) {
	ln := Wrap(tcpListener(t), Budget{MaxConnections: 10, MaxPerSource: 2}, nil)
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() { ln.Close() })
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	dial()
	dial()
	<-accepted
	second := <-accepted
	over := dial()
	// The listener closes the third at once: the client reads EOF.
	_ = over.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := over.Read(make([]byte, 1)); err == nil {
		t.Fatal("the connection over the budget stays open")
	}
	testutil.Eventually(t, func() bool { return ln.Stats().Refused == 1 }, "the refusal to be counted")
	second.Close()
	testutil.Eventually(t, func() bool { return ln.Stats().Open == 1 }, "the closed connection to free its place")
	dial()
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(30 * time.Second):
		t.Fatal("a connection within the budget was not accepted")
	}
	if s := ln.Stats(); s.Accepted != 3 || s.Refused != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestBudgetValidate(t *testing.T) {
	err := Budget{MaxConnections: -1, MaxPerSource: -2}.Validate("msrp")
	if err == nil || !strings.Contains(err.Error(), "msrp.max_connections") || !strings.Contains(err.Error(), "msrp.max_per_source") {
		t.Fatalf("Validate = %v", err)
	}
}
