package session_test

import (
	"context"
	"io"
	"net"
	"testing"

	"iwf/internal/testutil"
	"iwf/session"
)

// listenSilent accepts connections and never writes.
func listenSilent(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			go io.Copy(io.Discard, c)
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// newEndpointNoCleanup serves an endpoint that the test closes itself.
func newEndpointNoCleanup(t *testing.T) *session.Endpoint {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep, err := session.NewEndpoint(session.Config{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port,
		Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	go ep.Serve(context.Background(), ln)
	return ep
}
