package session_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrp"
	"iwf/session/msrptest"
)

// gate is a Handler whose HandleMessage announces each message on
// started and then waits for release (or its context) before it returns.
type gate struct {
	started  chan string
	release  chan struct{}
	returned atomic.Int32
}

func newGate() *gate {
	return &gate{started: make(chan string, 64), release: make(chan struct{})}
}

func (g *gate) HandleMessage(ctx context.Context, _ *session.Session, m *session.Message) error {
	g.started <- string(m.Body)
	defer g.returned.Add(1)
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (g *gate) HandleReport(*session.Session, session.Report) {}
func (g *gate) HandleClose(*session.Session, error)           {}

// sharedSessions opens n passive sessions whose peer is one raw
// connection, and returns the frame templates addressing each.
func sharedSessions(t *testing.T, ep *session.Endpoint, handlers ...session.Handler) ([]*session.Session, *msrptest.Peer, []msrp.Frame) {
	t.Helper()
	ctx := testutil.Context(t)
	var ss []*session.Session
	var bases []msrp.Frame
	for _, h := range handlers {
		s, err := ep.NewSession(ctx, session.SessionOptions{Handler: h})
		if err != nil {
			t.Fatal(err)
		}
		peerURI := msrp.URI{Host: "127.0.0.1", Port: 9, SessionID: "peer" + msrp.NewID(), Transport: "tcp"}
		if err := s.Connect(ctx, []msrp.URI{peerURI}, false); err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
		bases = append(bases, msrp.Frame{Method: msrp.MethodSEND, ToPath: s.LocalURI().String(), FromPath: peerURI.String()})
	}
	return ss, msrptest.Dial(t, ss[0].LocalURI().Addr()), bases
}

// whole is a message in one chunk.
func whole(base msrp.Frame, tid, body string) *msrp.Frame {
	return chunk(base, tid, tid, 1, body, int64(len(body)), msrp.FlagEnd)
}

// TestSlowHandlerStallsOnlyItsSession: two sessions share a connection;
// while the Handler of A holds its first message, a message on B is
// handed over and answered, and A's messages keep their order: each is
// answered 200 only once the Handler returned, in the order they came.
func TestSlowHandlerStallsOnlyItsSession(t *testing.T) {
	ep := msrptest.NewEndpoint(t, session.Config{})
	slow, fast := newGate(), newRecorder()
	_, p, bases := sharedSessions(t, ep, slow, fast)
	a, b := bases[0], bases[1]

	for i := 1; i <= 3; i++ {
		p.Write(t, whole(a, fmt.Sprintf("a%07d", i), fmt.Sprintf("a%d", i)))
	}
	if got := recv(t, slow.started, "A's first message"); got != "a1" {
		t.Fatalf("A's handler got %q first", got)
	}
	p.Write(t, whole(b, "b0000001", "b1"))
	if m := recv(t, fast.msgs, "B's message"); string(m.Body) != "b1" {
		t.Fatalf("B got %q", m.Body)
	}
	// Nothing of A was answered: B's 200 is the first frame back.
	if r := p.Read(t); r.TransactionID != "b0000001" || r.StatusCode != 200 {
		t.Fatalf("first answer %s %d, want b0000001 200", r.TransactionID, r.StatusCode)
	}
	for i := 1; i <= 3; i++ {
		if i > 1 {
			if got := recv(t, slow.started, "A's next message"); got != fmt.Sprintf("a%d", i) {
				t.Fatalf("A's handler got %q as message %d", got, i)
			}
		}
		slow.release <- struct{}{}
		r := p.Read(t)
		if want := fmt.Sprintf("a%07d", i); r.TransactionID != want || r.StatusCode != 200 {
			t.Fatalf("answer %s %d, want %s 200", r.TransactionID, r.StatusCode, want)
		}
	}
	if st := ep.Stats(); st.MessagesReceived != 4 || st.IncompleteBytes != 0 {
		t.Fatalf("received %d, incomplete bytes %d", st.MessagesReceived, st.IncompleteBytes)
	}
}

// TestFullQueueAnswers503: with the Handler busy and max_queued_messages
// waiting, the next message is answered 503 at once (the reader never
// blocks on it) and the queued ones are delivered afterwards.
func TestFullQueueAnswers503(t *testing.T) {
	ep := msrptest.NewEndpoint(t, session.Config{MaxQueuedMessages: 2})
	g := newGate()
	_, p, bases := sharedSessions(t, ep, g)
	p.Write(t, whole(bases[0], "t0000001", "m1"))
	recv(t, g.started, "the first message")
	for i := 2; i <= 4; i++ {
		p.Write(t, whole(bases[0], fmt.Sprintf("t%07d", i), fmt.Sprintf("m%d", i)))
	}
	if r := p.Read(t); r.TransactionID != "t0000004" || r.StatusCode != 503 {
		t.Fatalf("got %s %d, want t0000004 503", r.TransactionID, r.StatusCode)
	}
	for i := 1; i <= 3; i++ {
		g.release <- struct{}{}
		if r := p.Read(t); r.TransactionID != fmt.Sprintf("t%07d", i) || r.StatusCode != 200 {
			t.Fatalf("got %s %d", r.TransactionID, r.StatusCode)
		}
		if i < 3 {
			recv(t, g.started, "the next message")
		}
	}
	if st := ep.Stats(); st.QueueFull != 1 || st.IncompleteBytes != 0 {
		t.Fatalf("queue full %d, incomplete bytes %d", st.QueueFull, st.IncompleteBytes)
	}
}

// TestSessionEndDropsQueued: messages still queued when their session
// ends are answered 481 and never handed over; the one the Handler holds
// finishes and is answered.
func TestSessionEndDropsQueued(t *testing.T) {
	ep := msrptest.NewEndpoint(t, session.Config{})
	g := newGate()
	ss, p, bases := sharedSessions(t, ep, g, newRecorder())
	p.Write(t, whole(bases[0], "t0000001", "m1"))
	recv(t, g.started, "the first message")
	p.Write(t, whole(bases[0], "t0000002", "m2"))
	// The peer's second session keeps the connection bound; a bodiless
	// SEND on it, answered after the second message was read, says that
	// the reader has queued it.
	keep := bases[1]
	keep.TransactionID, keep.MessageID = "k0000001", "k0000001"
	p.Write(t, &keep)
	if r := p.Read(t); r.TransactionID != "k0000001" {
		t.Fatalf("got %s first", r.TransactionID)
	}
	ss[0].Close()
	if r := p.Read(t); r.TransactionID != "t0000002" || r.StatusCode != 481 {
		t.Fatalf("got %s %d, want t0000002 481", r.TransactionID, r.StatusCode)
	}
	g.release <- struct{}{}
	if r := p.Read(t); r.TransactionID != "t0000001" || r.StatusCode != 200 {
		t.Fatalf("got %s %d, want t0000001 200", r.TransactionID, r.StatusCode)
	}
	testutil.Eventually(t, func() bool { return ep.Stats().IncompleteBytes == 0 }, "the bytes to be given back")
	if n := g.returned.Load(); n != 1 {
		t.Fatalf("handler ran %d times", n)
	}
}

// TestCloseWaitsForHandlers: Endpoint.Close returns only after a Handler
// that was holding a message has returned (its context is cancelled).
func TestCloseWaitsForHandlers(t *testing.T) {
	ep := msrptest.NewEndpoint(t, session.Config{})
	g := newGate()
	_, p, bases := sharedSessions(t, ep, g)
	p.Write(t, whole(bases[0], "t0000001", "m1"))
	recv(t, g.started, "the message")
	if err := ep.Close(); err != nil {
		t.Fatal(err)
	}
	if n := g.returned.Load(); n != 1 {
		t.Fatalf("Close returned with the handler still running (%d returned)", n)
	}
}

// TestIsComposingTaken: an is-composing indication (RFC 3994), bare or
// wrapped in CPIM, is answered 200, never handed to the Handler, even
// when a=accept-types does not list it.
func TestIsComposingTaken(t *testing.T) {
	const doc = `<?xml version="1.0" encoding="UTF-8"?>` + "\r\n" +
		`<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>active</state><contenttype>text/plain</contenttype></isComposing>`
	tests := []struct {
		name, ct, body string
	}{
		{"bare", "application/im-iscomposing+xml", doc},
		{"in cpim", "message/cpim", "From: <sip:a@example.com>\r\nTo: <sip:b@example.com>\r\nDateTime: 2024-01-01T10:00:00Z\r\n\r\n" +
			"Content-Type: Application/IM-isComposing+XML\r\n\r\n" + doc},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := msrptest.NewEndpoint(t, session.Config{})
			rec := newRecorder()
			_, p, bases := sharedSessions(t, ep, rec)
			f := whole(bases[0], "t0000001", tc.body)
			f.ContentType = tc.ct
			p.Write(t, f)
			if r := p.Read(t); r.StatusCode != 200 {
				t.Fatalf("got %d", r.StatusCode)
			}
			// A chat message after it is handed over, and is the first.
			p.Write(t, whole(bases[0], "t0000002", "hello"))
			if r := p.Read(t); r.StatusCode != 200 {
				t.Fatalf("got %d", r.StatusCode)
			}
			if m := recv(t, rec.msgs, "the message"); string(m.Body) != "hello" {
				t.Fatalf("handler got %q first", m.Body)
			}
			if st := ep.Stats(); st.Composing != 1 || st.MessagesReceived != 1 {
				t.Fatalf("composing %d, received %d", st.Composing, st.MessagesReceived)
			}
		})
	}
}

// TestKeepalive: a session without traffic for keepalive_interval gets a
// bodiless SEND (RFC 4975 section 7.1), another one each interval after;
// a 481 answer ends the session.
func TestKeepalive(t *testing.T) {
	const iv = 200 * time.Millisecond // passes only when the clock moves
	ep := msrptest.NewEndpoint(t, session.Config{KeepaliveInterval: iv})
	clk := newFakeClock()
	session.SetClock(ep, clk.Now)
	rec := newRecorder()
	_, p, base := rawSession(t, ep, session.SessionOptions{Handler: rec})
	bind := base
	bind.TransactionID, bind.MessageID = "bind0001", "bind0001"
	p.Write(t, &bind)
	if r := p.Read(t); r.StatusCode != 200 {
		t.Fatalf("bind: %d", r.StatusCode)
	}
	for i, answer := range []int{200, 481} {
		clk.Advance(iv)
		_ = p.Conn.SetReadDeadline(time.Now().Add(testutil.WaitTimeout))
		f := p.Read(t)
		if f.Method != msrp.MethodSEND || f.Body != nil || f.ContentType != "" || f.ToPath != base.FromPath || f.FromPath != base.ToPath {
			t.Fatalf("keep-alive %d: %+v", i, f)
		}
		p.Write(t, &msrp.Frame{TransactionID: f.TransactionID, StatusCode: answer, Comment: "x",
			ToPath: base.ToPath, FromPath: base.FromPath})
	}
	var se *session.StatusError
	if err := recv(t, rec.closed, "the session end"); !errors.As(err, &se) || se.Code != 481 {
		t.Fatalf("session ended with %v", err)
	}
	if st := ep.Stats(); st.Keepalives != 2 {
		t.Fatalf("keepalives %d", st.Keepalives)
	}
}

// TestExpiredReportCoversReceived: the 408 failure REPORT for a message
// whose chunks stopped coming gives the bytes received (RFC 4975 section
// 7.1.2), not an empty range.
func TestExpiredReportCoversReceived(t *testing.T) {
	const timeout = 200 * time.Millisecond // passes only when the clock moves
	ep := msrptest.NewEndpoint(t, session.Config{IncompleteTimeout: timeout})
	clk := newFakeClock()
	session.SetClock(ep, clk.Now)
	_, p, base := rawSession(t, ep, session.SessionOptions{})
	p.Write(t, chunk(base, "tid00001", "msg00001", 1, "0123456789", 100, msrp.FlagMore))
	p.Write(t, chunk(base, "tid00002", "msg00001", 21, "abcde", 100, msrp.FlagMore))
	for range 2 {
		if r := p.Read(t); r.StatusCode != 200 {
			t.Fatalf("chunk: %d", r.StatusCode)
		}
	}
	clk.Advance(2 * timeout)
	_ = p.Conn.SetReadDeadline(time.Now().Add(testutil.WaitTimeout))
	r := p.Read(t)
	want := msrp.ByteRange{Start: 1, End: 25, Total: 100}
	if r.Method != msrp.MethodREPORT || r.Status.Code != 408 || r.MessageID != "msg00001" || r.ByteRange != want {
		t.Fatalf("got %s %d for %s range %+v, want REPORT 408 range %+v", r.Method, r.Status.Code, r.MessageID, r.ByteRange, want)
	}
}
