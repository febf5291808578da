package status

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// listen opens a loopback listener on a free port.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// waitErr waits for Serve's result, failing the test if it does not come.
func waitErr(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
		return nil
	}
}

// TestServeStopsOnCancel serves real requests, cancels, and checks Serve
// returns nil and the port is closed.
func TestServeStopsOnCancel(t *testing.T) {
	ln := listen(t)
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, Handler(Options{})) }()

	// The listener is open before Serve starts, so the first request is
	// the readiness check.
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	cancel()
	if err := waitErr(t, done); err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("port still accepts after Serve returned")
	}
}

// TestServeDrainsInFlight checks a request running when ctx ends still
// completes.
func TestServeDrainsInFlight(t *testing.T) {
	ln := listen(t)
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		if r.Context().Err() != nil {
			http.Error(w, "cancelled", 500)
			return
		}
		_, _ = io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-entered
	cancel()
	close(release)
	r := <-got
	if r.err != nil || r.body != "done" {
		t.Errorf("in-flight request: %q, %v; want done", r.body, r.err)
	}
	if err := waitErr(t, done); err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
}

// TestServeShutdownTimeout checks a request that outlives the grace period
// is cut off and reported with ErrShutdownTimeout.
func TestServeShutdownTimeout(t *testing.T) {
	ln := listen(t)
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		close(entered)
		<-release
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, h, 50*time.Millisecond) }()
	clientDone := make(chan struct{})
	go func() {
		defer close(clientDone)
		if resp, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	cancel()
	err := waitErr(t, done)
	if !errors.Is(err, ErrShutdownTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Serve = %v, want ErrShutdownTimeout and DeadlineExceeded", err)
	}
	<-clientDone
}

// TestServeErrors checks failures that are not a stop.
func TestServeErrors(t *testing.T) {
	t.Run("nil listener", func(t *testing.T) {
		if err := Serve(t.Context(), nil, Handler(Options{})); err == nil {
			t.Error("Serve(nil listener) = nil")
		}
	})
	t.Run("listener closed under it", func(t *testing.T) {
		ln := listen(t)
		ln.Close()
		err := Serve(t.Context(), ln, Handler(Options{}))
		if err == nil || errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve = %v, want the accept error", err)
		}
	})
}
