// Package sipstacktest runs a sipstack.Stack on loopback for tests, in
// the httptest style.
package sipstacktest

import (
	"context"
	"net"
	"testing"

	"github.com/emiago/sipgo"

	"iwf/internal/sipstack"
	"iwf/internal/testutil"
)

// Start runs a stack on 127.0.0.1 UDP and TCP, port 0, stopped when the
// test ends. register adds the handlers after the listeners exist (their
// clients and contacts need them) and before anything is served.
func Start(tb testing.TB, register func(*sipstack.Stack, *sipgo.Server)) *sipstack.Stack {
	tb.Helper()
	return StartOn(tb, "127.0.0.1", register)
}

// StartOn is Start on another loopback address.
func StartOn(tb testing.TB, ip string, register func(*sipstack.Stack, *sipgo.Server)) *sipstack.Stack {
	tb.Helper()
	st, err := sipstack.New(sipstack.Config{Listen: []sipstack.Listener{
		{Transport: "udp", Address: net.JoinHostPort(ip, "0")},
		{Transport: "tcp", Address: net.JoinHostPort(ip, "0")},
	}}, testutil.Logger(tb))
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.Listen(); err != nil {
		tb.Fatal(err)
	}
	register(st, st.Server())
	Serve(tb, st)
	return st
}

// Serve runs st, its handlers registered, until the test ends, and
// returns once it serves. It listens first unless st already does; a Run
// error fails the test at cleanup.
func Serve(tb testing.TB, st *sipstack.Stack) {
	tb.Helper()
	if err := st.Listen(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- st.Run(ctx) }()
	<-st.Ready()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("sip stack: %v", err)
		}
	})
}
