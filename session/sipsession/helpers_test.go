package sipsession

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"iwf/internal/sipstack"
	"iwf/internal/sipstack/sipstacktest"
	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrp"
	"iwf/session/msrpsdp"
	"iwf/session/msrptest"
)

// iwf is the system under test: a Manager on its own stack and endpoint.
type iwf struct {
	st       *sipstack.Stack
	ep       *session.Endpoint
	m        *Manager
	incoming chan *Call
}

// newIWF starts a Manager; tweak may change the config (OnIncoming
// defaults to accepting and publishing the call on incoming).
func newIWF(t testing.TB, tweak func(*Config)) *iwf {
	t.Helper()
	// Registered first, so it runs last: after the stack has stopped and
	// no handler can start any more. Only the Manager's goroutines count:
	// a peer a test started before may still run. Close waits for every
	// goroutine it started and every handler in flight; a handler sipgo
	// starts for a late datagram returns at once on a closed Manager.
	testutil.CheckLeaks(t, "iwf/session/sipsession.(*")
	w := &iwf{ep: msrptest.NewEndpoint(t, session.Config{}), incoming: make(chan *Call, 8)}
	cfg := Config{
		Endpoint:   w.ep,
		Logger:     testutil.Logger(t),
		AckTimeout: 2 * time.Second,
		OnIncoming: func(c *Call) error { w.incoming <- c; return nil },
	}
	if tweak != nil {
		tweak(&cfg)
	}
	var m *Manager
	sipstacktest.Start(t, func(st *sipstack.Stack, srv *sipgo.Server) {
		w.st, cfg.Stack = st, st
		var err error
		if m, err = New(cfg); err != nil {
			t.Fatal(err)
		}
		m.Register(srv)
	})
	w.m = m
	t.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			t.Errorf("manager close: %v", err)
		}
	})
	return w
}

// addr is the stack's address on transport, for a next hop or a peer.
func addr(st *sipstack.Stack, tp string) string { return st.Addr(tp).String() }

func trunkTo(st *sipstack.Stack, tp string) Trunk {
	t := DefaultTrunk()
	t.Name = "peer"
	t.NextHop = "sip:" + addr(st, tp) + ";transport=" + tp
	return t
}

// recorder collects MSRP messages received on a peer's session.
type recorder struct {
	msgs chan *session.Message
}

func newRecorder() *recorder { return &recorder{msgs: make(chan *session.Message, 16)} }

func (r *recorder) handler() session.Handler {
	return session.HandlerFuncs{Message: func(_ context.Context, _ *session.Session, m *session.Message) error {
		r.msgs <- m
		return nil
	}}
}

func (r *recorder) next(t testing.TB) *session.Message { return recv(t, r.msgs, "msrp message") }

// recv takes the next value from ch, failing after 10 s without one.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s", what)
		var zero T
		return zero
	}
}

// nextEvent reads the call's next event.
func nextEvent(t testing.TB, c *Call) Event {
	t.Helper()
	select {
	case ev, ok := <-c.Events():
		if !ok {
			t.Fatalf("events closed (reason %v, err %v)", c.Reason(), c.Err())
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
		return Event{}
	}
}

// waitClosed reads events up to EventClosed and returns it.
func waitClosed(t testing.TB, c *Call) Event {
	t.Helper()
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				return Event{Kind: EventClosed, Reason: c.Reason(), Err: c.Err()}
			}
			if ev.Kind == EventClosed {
				return ev
			}
		case <-time.After(10 * time.Second):
			t.Fatal("call not closed")
		}
	}
}

// peerMedia is the MSRP media of a test peer's session.
func peerMedia(s *session.Session, setup msrpsdp.Setup) msrpsdp.Media {
	u := s.LocalURI()
	return msrpsdp.Media{
		Addr: u.Host, Port: u.Port, Path: s.LocalPath(),
		AcceptTypes: []string{"message/cpim", "text/plain"}, Setup: setup,
	}
}

// buildOffer is an offer from a test peer.
func buildOffer(t testing.TB, m msrpsdp.Media) []byte {
	t.Helper()
	o, err := msrpsdp.NewOrigin(m.Addr)
	if err != nil {
		t.Fatal(err)
	}
	b, err := msrpsdp.BuildOffer(o, m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakePath is a peer path nobody listens on, for raw-connection tests.
func fakePath(id string) []msrp.URI {
	return []msrp.URI{{Host: "127.0.0.1", Port: 9, SessionID: id, Transport: "tcp"}}
}

// signal is a channel closed once.
type signal struct {
	once sync.Once
	ch   chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }
func (s *signal) fire()  { s.once.Do(func() { close(s.ch) }) }

func (s *signal) wait(t testing.TB, what string) {
	t.Helper()
	select {
	case <-s.ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
