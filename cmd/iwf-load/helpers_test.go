package main

import (
	"context"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"iwf/internal/cpim"
	"iwf/internal/sipstack"
	"iwf/session"
	"iwf/session/sipsession"
)

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// ctxT is a context that ends with the test, or after 60 s.
func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// noLeaks fails the test when a goroutine of the IWF's packages or of
// this command outlives it. It is registered first, so it runs after
// every other cleanup; a goroutine that has just signalled its WaitGroup
// may still be returning, so it retries briefly.
func noLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			left := ourGoroutines()
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutines leaked:\n%s", len(left), strings.Join(left, "\n\n"))
				return
			}
			runtime.Gosched()
			<-time.After(10 * time.Millisecond)
		}
	})
}

func ourGoroutines() []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		ours := strings.Contains(g, "iwf/") || strings.Contains(g, "main.(*")
		if !ours || strings.Contains(g, "testing.tRunner") || strings.Contains(g, "ourGoroutines") {
			continue
		}
		out = append(out, g)
	}
	return out
}

// uac is an IWF-like session originator: a SIP stack, an MSRP endpoint
// and a sipsession Manager that opens sessions (it refuses incoming ones).
type uac struct {
	st *sipstack.Stack
	ep *session.Endpoint
	m  *sipsession.Manager
}

// startUAC runs a uac on loopback port 0 until the test ends.
func startUAC(t testing.TB) *uac {
	t.Helper()
	st, err := sipstack.New(sipstack.Config{Listen: []sipstack.Listener{
		{Transport: "udp", Address: "127.0.0.1:0"},
		{Transport: "tcp", Address: "127.0.0.1:0"},
	}}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep, err := session.NewEndpoint(session.Config{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := sipsession.New(sipsession.Config{Stack: st, Endpoint: ep, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	m.Register(st.Server())
	if err := st.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stDone, epDone := make(chan error, 1), make(chan error, 1)
	go func() { stDone <- st.Run(ctx) }()
	go func() { epDone <- ep.Serve(ctx, ln) }()
	<-st.Ready()
	t.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			t.Logf("uac manager close: %v", err) // BYEs to a peer already gone
		}
		cancel()
		for _, ch := range []chan error{stDone, epDone} {
			if err := <-ch; err != nil {
				t.Errorf("uac: %v", err)
			}
		}
		if err := ep.Close(); err != nil {
			t.Errorf("uac endpoint close: %v", err)
		}
	})
	return &uac{st: st, ep: ep, m: m}
}

// open calls number at the SIP address hop over transport.
func (u *uac) open(ctx context.Context, from, number string, hop net.Addr, transport string) (*sipsession.Call, error) {
	tr := sipsession.DefaultTrunk()
	tr.Name = "rcs"
	tr.NextHop = "sip:" + hop.String() + ";transport=" + transport
	host, _, _ := net.SplitHostPort(hop.String())
	return u.m.Open(ctx, sipsession.OpenRequest{
		From:  "sip:" + from + "@127.0.0.1",
		To:    "sip:" + number + "@" + host,
		Trunk: tr,
	})
}

// cpimText wraps text in message/cpim as the IWF sends it.
func cpimText(t testing.TB, from, to, text string) []byte {
	t.Helper()
	b, err := wrapCPIM(from, to, text)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wrapCPIM(from, to, text string) ([]byte, error) {
	m, err := cpim.Wrap("<sip:"+from+"@127.0.0.1>", "<sip:"+to+"@127.0.0.1>", "text/plain;charset=utf-8", []byte(text), cpim.IMDN{})
	if err != nil {
		return nil, err
	}
	return m.Marshal()
}
