package session_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrp"
	"iwf/session/msrptest"
)

// recorder is a Handler that hands everything to channels.
type recorder struct {
	msgs    chan *session.Message
	reports chan session.Report
	closed  chan error
	onMsg   func(*session.Message) error
}

func newRecorder() *recorder {
	return &recorder{msgs: make(chan *session.Message, 256), reports: make(chan session.Report, 256), closed: make(chan error, 1)}
}

func (r *recorder) HandleMessage(_ context.Context, _ *session.Session, m *session.Message) error {
	if r.onMsg != nil {
		if err := r.onMsg(m); err != nil {
			return err
		}
	}
	r.msgs <- m
	return nil
}
func (r *recorder) HandleReport(_ *session.Session, rep session.Report) { r.reports <- rep }
func (r *recorder) HandleClose(_ *session.Session, err error)           { r.closed <- err }

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// pair opens a session on a (active, the offerer) and one on b (passive)
// and connects them as an SDP offer/answer would.
func pair(t *testing.T, a, b *session.Endpoint, oa, ob session.SessionOptions) (*session.Session, *session.Session) {
	t.Helper()
	ctx := testutil.Context(t)
	sa, err := a.NewSession(ctx, oa)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.NewSession(ctx, ob)
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Connect(ctx, sa.LocalPath(), false); err != nil {
		t.Fatal(err)
	}
	if err := sa.Connect(ctx, sb.LocalPath(), true); err != nil {
		t.Fatal(err)
	}
	return sa, sb
}

func TestSendBothWaysWithReports(t *testing.T) {
	a := msrptest.NewEndpoint(t, session.Config{})
	b := msrptest.NewEndpoint(t, session.Config{})
	ra, rb := newRecorder(), newRecorder()
	sa, sb := pair(t, a, b, session.SessionOptions{Handler: ra}, session.SessionOptions{Handler: rb})
	ctx := testutil.Context(t)

	id, err := sa.Send(ctx, &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("Hey Bob, are you there?"), SuccessReport: true})
	if err != nil {
		t.Fatal(err)
	}
	m := recv(t, rb.msgs, "message at b")
	if string(m.Body) != "Hey Bob, are you there?" || m.ID != id || m.ContentType != "text/plain" || !m.SuccessReport {
		t.Fatalf("received %+v", m)
	}
	rep := recv(t, ra.reports, "success report at a")
	if rep.MessageID != id || rep.Status != 200 || rep.ByteRange != (msrp.ByteRange{Start: 1, End: 23, Total: 23}) {
		t.Fatalf("report %+v", rep)
	}
	// The passive side sends on the connection the active side opened.
	if _, err := sb.Send(ctx, &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("yes")}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, ra.msgs, "message at a"); string(m.Body) != "yes" {
		t.Fatalf("got %q", m.Body)
	}
	if st := a.Stats(); st.Connections != 1 || st.MessagesSent != 1 || st.MessagesReceived != 1 {
		t.Fatalf("stats a: %+v", st)
	}
	// No REPORT without Success-Report.
	select {
	case rep := <-rb.reports:
		t.Fatalf("unexpected report %+v", rep)
	default:
	}
}

// TestLargeTransferDoesNotBlockChat sends 100 MB on one session while a
// second session on the same connection exchanges chat messages: each
// chat message must be delivered while the large one is still arriving.
func TestLargeTransferDoesNotBlockChat(t *testing.T) {
	size := int64(100 << 20)
	if testing.Short() {
		size = 8 << 20
	}
	a := msrptest.NewEndpoint(t, session.Config{})
	b := msrptest.NewEndpoint(t, session.Config{MaxMessageSize: 200 << 20})
	bigSink := &hashSink{h: sha256.New()}
	rBig, rChat := newRecorder(), newRecorder()
	var bigDone atomic.Bool
	rBig.onMsg = func(*session.Message) error { bigDone.Store(true); return nil }
	var chatDuringBig atomic.Int32
	rChat.onMsg = func(*session.Message) error {
		if !bigDone.Load() && bigSink.written.Load() < size {
			chatDuringBig.Add(1)
		}
		return nil
	}
	bigA, _ := pair(t, a, b, session.SessionOptions{}, session.SessionOptions{Handler: rBig, AcceptTypes: []string{"*"},
		NewSink: func(*session.Message) (session.Sink, error) { return bigSink, nil }})
	chatA, _ := pair(t, a, b, session.SessionOptions{}, session.SessionOptions{Handler: rChat})
	if st := a.Stats(); st.Connections != 1 {
		t.Fatalf("sessions to one peer use %d connections, want 1", st.Connections)
	}
	ctx := testutil.Context(t)
	content := &patternReader{n: size}
	bigErr := make(chan error, 1)
	go func() {
		_, err := bigA.Send(ctx, &session.OutgoingMessage{ContentType: "application/octet-stream", Reader: content, Size: size})
		bigErr <- err
	}()
	// Wait until the large message is flowing, then chat.
	recv(t, bigSink.reached(1<<20), "first MB")
	const chats = 20
	for i := range chats {
		if _, err := chatA.Send(ctx, &session.OutgoingMessage{ContentType: "text/plain", Body: fmt.Appendf(nil, "chat %d", i)}); err != nil {
			t.Fatal(err)
		}
		recv(t, rChat.msgs, "chat message")
	}
	if err := recv(t, bigErr, "large send"); err != nil {
		t.Fatal(err)
	}
	recv(t, rBig.msgs, "large message")
	if got := chatDuringBig.Load(); got != chats {
		t.Fatalf("%d of %d chat messages arrived while the large one was in progress", got, chats)
	}
	if bigSink.written.Load() != size || !bytes.Equal(bigSink.h.Sum(nil), content.sum()) {
		t.Fatalf("large message corrupted: %d bytes", bigSink.written.Load())
	}
	if st := a.Stats(); st.ChunksSent < 2*chats {
		t.Fatalf("large message was not chunked: %+v", st)
	}
}

// patternReader yields n bytes of a deterministic pattern, hashing them.
type patternReader struct {
	n, off int64
	h      hash.Hash
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.h == nil {
		p.h = sha256.New()
	}
	if p.off >= p.n {
		return 0, io.EOF
	}
	k := min(int64(len(b)), p.n-p.off)
	for i := range k {
		b[i] = byte((p.off + i) * 7 % 251)
	}
	p.off += k
	p.h.Write(b[:k])
	return int(k), nil
}

func (p *patternReader) sum() []byte { return p.h.Sum(nil) }

// hashSink hashes a message arriving in order and signals progress.
type hashSink struct {
	mu sync.Mutex
	h  interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
	written atomic.Int64
	waiters []waiter
}

type waiter struct {
	at int64
	ch chan struct{}
}

func (s *hashSink) WriteAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if off != s.written.Load() {
		return 0, fmt.Errorf("out of order write at %d, have %d", off, s.written.Load())
	}
	s.h.Write(p)
	n := s.written.Add(int64(len(p)))
	kept := s.waiters[:0]
	for _, w := range s.waiters {
		if n >= w.at {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	s.waiters = kept
	return len(p), nil
}

func (s *hashSink) reached(n int64) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	if s.written.Load() >= n {
		close(ch)
	} else {
		s.waiters = append(s.waiters, waiter{at: n, ch: ch})
	}
	return ch
}

// rawSession starts a passive session on ep whose peer is a raw test
// connection, for exact frames on the wire.
func rawSession(t *testing.T, ep *session.Endpoint, opts session.SessionOptions) (*session.Session, *msrptest.Peer, msrp.Frame) {
	t.Helper()
	ctx := testutil.Context(t)
	s, err := ep.NewSession(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	peerURI := msrp.URI{Host: "127.0.0.1", Port: 9, SessionID: "peer" + msrp.NewID(), Transport: "tcp"}
	if err := s.Connect(ctx, []msrp.URI{peerURI}, false); err != nil {
		t.Fatal(err)
	}
	p := msrptest.Dial(t, s.LocalURI().Addr())
	base := msrp.Frame{Method: msrp.MethodSEND, ToPath: s.LocalURI().String(), FromPath: peerURI.String()}
	return s, p, base
}

func chunk(base msrp.Frame, tid, id string, start int64, body string, total int64, flag byte) *msrp.Frame {
	f := base
	f.TransactionID = tid
	f.MessageID = id
	f.ContentType = "text/plain"
	f.Body = []byte(body)
	f.ByteRange = msrp.ByteRange{Start: start, End: start + int64(len(body)) - 1, Total: total}
	f.Flag = flag
	return &f
}

func TestOutOfOrderReassembly(t *testing.T) {
	ep := msrptest.NewEndpoint(t, session.Config{})
	rec := newRecorder()
	_, p, base := rawSession(t, ep, session.SessionOptions{Handler: rec})
	// Chunks 3, 1, 2 of "hello, out of order world"; the total is unknown
	// until the last chunk.
	p.Write(t, chunk(base, "tid00003", "msg00001", 15, "order world", msrp.Unknown, msrp.FlagEnd))
	if r := p.Read(t); r.StatusCode != 200 || r.TransactionID != "tid00003" {
		t.Fatalf("response %+v", r)
	}
	p.Write(t, chunk(base, "tid00001", "msg00001", 1, "hello, ", msrp.Unknown, msrp.FlagMore))
	if r := p.Read(t); r.StatusCode != 200 {
		t.Fatalf("response %+v", r)
	}
	select {
	case m := <-rec.msgs:
		t.Fatalf("delivered with a gap: %q", m.Body)
	default:
	}
	p.Write(t, chunk(base, "tid00002", "msg00001", 8, "out of ", msrp.Unknown, msrp.FlagMore))
	if r := p.Read(t); r.StatusCode != 200 {
		t.Fatalf("response %+v", r)
	}
	if m := recv(t, rec.msgs, "reassembled message"); string(m.Body) != "hello, out of order world" || m.Size != 25 {
		t.Fatalf("got %q", m.Body)
	}
}

func TestAbortedMessageIsDropped(t *testing.T) {
	ep := msrptest.NewEndpoint(t, session.Config{})
	rec := newRecorder()
	_, p, base := rawSession(t, ep, session.SessionOptions{Handler: rec})
	p.Write(t, chunk(base, "tid00001", "gone", 1, "first part ", msrp.Unknown, msrp.FlagMore))
	p.Read(t)
	abort := chunk(base, "tid00002", "gone", 12, "x", msrp.Unknown, msrp.FlagAbort)
	p.Write(t, abort)
	if r := p.Read(t); r.StatusCode != 200 {
		t.Fatalf("abort chunk answered %d", r.StatusCode)
	}
	p.Write(t, chunk(base, "tid00003", "next", 1, "after", 5, msrp.FlagEnd))
	p.Read(t)
	if m := recv(t, rec.msgs, "message after abort"); m.ID != "next" {
		t.Fatalf("aborted message delivered: %+v", m)
	}
}

func TestSenderAbortsOnCancel(t *testing.T) {
	a := msrptest.NewEndpoint(t, session.Config{})
	b := msrptest.NewEndpoint(t, session.Config{MaxMessageSize: 1 << 31})
	rb := newRecorder()
	sink := &hashSink{h: sha256.New()}
	sa, _ := pair(t, a, b, session.SessionOptions{}, session.SessionOptions{Handler: rb, AcceptTypes: []string{"*"},
		NewSink: func(m *session.Message) (session.Sink, error) {
			if m.ContentType == "text/plain" {
				return nil, nil
			}
			return sink, nil
		}})
	ctx, cancel := context.WithCancel(testutil.Context(t))
	errc := make(chan error, 1)
	go func() {
		_, err := sa.Send(ctx, &session.OutgoingMessage{ContentType: "application/octet-stream", Reader: &patternReader{n: 1 << 30}, Size: 1 << 30})
		errc <- err
	}()
	recv(t, sink.reached(256<<10), "first quarter MB")
	cancel()
	if err := recv(t, errc, "cancelled send"); !errors.Is(err, context.Canceled) {
		t.Fatalf("send: %v", err)
	}
	// The session still works and the aborted message never surfaces.
	if _, err := sa.Send(testutil.Context(t), &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("still here")}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, rb.msgs, "message after abort"); string(m.Body) != "still here" {
		t.Fatalf("got %+v", m)
	}
	if sink.written.Load() >= 1<<30 {
		t.Fatal("the whole message was sent despite cancel")
	}
}

func TestStatusCodes(t *testing.T) {
	ep := msrptest.NewEndpoint(t, session.Config{})
	tests := []struct {
		name  string
		opts  session.SessionOptions
		frame func(base msrp.Frame) *msrp.Frame
		want  int
	}{
		{"415 unsupported type", session.SessionOptions{AcceptTypes: []string{"message/cpim"}}, func(base msrp.Frame) *msrp.Frame {
			return chunk(base, "tid00001", "msg00001", 1, "plain", 5, msrp.FlagEnd)
		}, 415},
		{"413 total over max-size", session.SessionOptions{MaxSize: 10}, func(base msrp.Frame) *msrp.Frame {
			return chunk(base, "tid00001", "msg00001", 1, "0123456789abc", 13, msrp.FlagEnd)
		}, 413},
		{"413 unknown total grows over max-size", session.SessionOptions{MaxSize: 10}, func(base msrp.Frame) *msrp.Frame {
			return chunk(base, "tid00001", "msg00001", 1, "0123456789abc", msrp.Unknown, msrp.FlagMore)
		}, 413},
		{"481 unknown session", session.SessionOptions{}, func(base msrp.Frame) *msrp.Frame {
			f := chunk(base, "tid00001", "msg00001", 1, "x", 1, msrp.FlagEnd)
			u, _ := msrp.ParseURI(base.ToPath)
			u.SessionID = "nosuchsession"
			f.ToPath = u.String()
			return f
		}, 481},
		{"481 wrong host without CEMA", session.SessionOptions{}, func(base msrp.Frame) *msrp.Frame {
			f := chunk(base, "tid00001", "msg00001", 1, "x", 1, msrp.FlagEnd)
			u, _ := msrp.ParseURI(base.ToPath)
			u.Host = "sbc.example.net"
			f.ToPath = u.String()
			return f
		}, 481},
		{"200 wrong host with CEMA", session.SessionOptions{CEMA: true}, func(base msrp.Frame) *msrp.Frame {
			f := chunk(base, "tid00001", "msg00001", 1, "x", 1, msrp.FlagEnd)
			u, _ := msrp.ParseURI(base.ToPath)
			u.Host = "sbc.example.net"
			f.ToPath = u.String()
			return f
		}, 200},
		{"481 unknown sender", session.SessionOptions{}, func(base msrp.Frame) *msrp.Frame {
			f := chunk(base, "tid00001", "msg00001", 1, "x", 1, msrp.FlagEnd)
			f.FromPath = "msrp://127.0.0.1:9/intruder;tcp"
			return f
		}, 481},
		{"501 unknown method", session.SessionOptions{}, func(base msrp.Frame) *msrp.Frame {
			f := base
			f.TransactionID = "tid00001"
			f.Method = "FOO"
			return &f
		}, 501},
		{"400 bad byte-range", session.SessionOptions{}, func(base msrp.Frame) *msrp.Frame {
			f := chunk(base, "tid00001", "msg00001", 1, "x", 1, msrp.FlagEnd)
			f.Headers = []msrp.Header{{Name: "Byte-Range", Value: "0-1/1"}}
			f.ByteRange = msrp.ByteRange{}
			return f
		}, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			tc.opts.Handler = rec
			_, p, base := rawSession(t, ep, tc.opts)
			f := tc.frame(base)
			p.Write(t, f)
			r := p.Read(t)
			if r.StatusCode != tc.want || r.TransactionID != "tid00001" {
				t.Fatalf("got %d %s, want %d", r.StatusCode, r.Comment, tc.want)
			}
			// Responses go one hop back (RFC 4975 section 7.2).
			if r.ToPath != f.FromPath {
				t.Fatalf("response To-Path %q", r.ToPath)
			}
		})
	}
}

func TestSendGets413AndAborts(t *testing.T) {
	a := msrptest.NewEndpoint(t, session.Config{})
	b := msrptest.NewEndpoint(t, session.Config{})
	rb := newRecorder()
	sa, _ := pair(t, a, b, session.SessionOptions{}, session.SessionOptions{Handler: rb, MaxSize: 1000})
	_, err := sa.Send(testutil.Context(t), &session.OutgoingMessage{ContentType: "text/plain", Body: bytes.Repeat([]byte("x"), 5000)})
	var se *session.StatusError
	if !errors.As(err, &se) || se.Code != 413 || se.Local {
		t.Fatalf("send: %v", err)
	}
	if _, err := sa.Send(testutil.Context(t), &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("small")}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, rb.msgs, "small message"); string(m.Body) != "small" {
		t.Fatalf("got %q", m.Body)
	}
}

func TestHandlerRejectMapsToStatus(t *testing.T) {
	a := msrptest.NewEndpoint(t, session.Config{})
	b := msrptest.NewEndpoint(t, session.Config{})
	rb := newRecorder()
	rb.onMsg = func(*session.Message) error { return session.Reject(415, "no CPIM inside") }
	sa, _ := pair(t, a, b, session.SessionOptions{}, session.SessionOptions{Handler: rb})
	_, err := sa.Send(testutil.Context(t), &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("x")})
	var se *session.StatusError
	if !errors.As(err, &se) || se.Code != 415 {
		t.Fatalf("send: %v", err)
	}
}

func TestWrongConnection506(t *testing.T) {
	ep := msrptest.NewEndpoint(t, session.Config{})
	rec := newRecorder()
	s, p1, base := rawSession(t, ep, session.SessionOptions{Handler: rec})
	p1.Write(t, chunk(base, "tid00001", "msg00001", 1, "bind", 4, msrp.FlagEnd))
	if r := p1.Read(t); r.StatusCode != 200 {
		t.Fatalf("first connection: %d", r.StatusCode)
	}
	p2 := msrptest.Dial(t, s.LocalURI().Addr())
	p2.Write(t, chunk(base, "tid00002", "msg00002", 1, "other", 5, msrp.FlagEnd))
	if r := p2.Read(t); r.StatusCode != 506 {
		t.Fatalf("second connection: %d, want 506", r.StatusCode)
	}
}

func TestNoResponsesWhenFailureReportNo(t *testing.T) {
	ep := msrptest.NewEndpoint(t, session.Config{})
	rec := newRecorder()
	_, p, base := rawSession(t, ep, session.SessionOptions{Handler: rec})
	f := chunk(base, "tid00001", "msg00001", 1, "quiet", 5, msrp.FlagEnd)
	f.FailureReport = msrp.ReportNo
	p.Write(t, f)
	recv(t, rec.msgs, "message")
	// A bodiless SEND afterwards is answered; had the first been answered,
	// its response would come first.
	g := base
	g.TransactionID = "tid00002"
	g.MessageID = "ping"
	p.Write(t, &g)
	if r := p.Read(t); r.TransactionID != "tid00002" {
		t.Fatalf("got a response to %s", r.TransactionID)
	}
}

func TestTransactionTimeout408(t *testing.T) {
	a := msrptest.NewEndpoint(t, session.Config{TransactionTimeout: 300 * time.Millisecond})
	s, err := a.NewSession(testutil.Context(t), session.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ln := listenSilent(t) // a peer that accepts and never answers
	err = s.Connect(testutil.Context(t), []msrp.URI{{Host: "127.0.0.1", Port: ln, SessionID: "x", Transport: "tcp"}}, true)
	var se *session.StatusError
	if !errors.As(err, &se) || se.Code != 408 || !se.Local {
		t.Fatalf("connect: %v", err)
	}
}

func TestConnectionDropFailsSessionWithoutLeaks(t *testing.T) {
	leaks := testutil.NewLeakCheck()
	func() {
		ep := newEndpointNoCleanup(t)
		defer ep.Close()
		rec := newRecorder()
		ctx := testutil.Context(t)
		s, err := ep.NewSession(ctx, session.SessionOptions{Handler: rec})
		if err != nil {
			t.Fatal(err)
		}
		peerURI := msrp.URI{Host: "127.0.0.1", Port: 9, SessionID: "peer1", Transport: "tcp"}
		if err := s.Connect(ctx, []msrp.URI{peerURI}, false); err != nil {
			t.Fatal(err)
		}
		p := msrptest.Dial(t, s.LocalURI().Addr())
		base := msrp.Frame{Method: msrp.MethodSEND, ToPath: s.LocalURI().String(), FromPath: peerURI.String()}
		p.Write(t, chunk(base, "tid00001", "half", 1, "first half ", 100, msrp.FlagMore))
		p.Read(t)
		p.Conn.Close()
		err = recv(t, rec.closed, "session close")
		if !errors.Is(err, session.ErrConnLost) {
			t.Fatalf("close reason %v", err)
		}
		select {
		case m := <-rec.msgs:
			t.Fatalf("partial message delivered: %+v", m)
		default:
		}
	}()
	leaks.Check(t)
}

func TestRelayAuth(t *testing.T) {
	tests := []struct {
		name        string
		password    string
		minExpires  uint32
		maxExpires  uint32
		boundsFirst bool
		wantErr     bool
		rounds      int
		wantExpires uint32 // of the last AUTH, when not 0
	}{
		{"digest then 200", "secret", 0, 0, false, false, 2, 0},
		{"423 then Min-Expires", "secret", 3600, 0, false, false, 3, 3600},
		{"423 then Max-Expires", "secret", 0, 300, false, false, 3, 300},
		// A relay that checks the interval first: the retry carries no
		// credentials, since no challenge came yet.
		{"423 before the challenge", "secret", 3600, 0, true, false, 3, 3600},
		{"wrong password", "wrong", 0, 0, false, true, 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			relay := msrptest.NewRelay(t, msrptest.RelayOptions{Username: "iwf", Password: "secret",
				MinExpires: tc.minExpires, MaxExpires: tc.maxExpires, BoundsFirst: tc.boundsFirst})
			ep := msrptest.NewEndpoint(t, session.Config{Relay: &session.RelayConfig{
				URI: relay.URI.String(), Username: "iwf", Password: tc.password, Expires: 10 * time.Minute}})
			s, err := ep.NewSession(testutil.Context(t), session.SessionOptions{})
			if tc.wantErr {
				if !errors.Is(err, session.ErrRelayAuth) {
					t.Fatalf("got %v, want ErrRelayAuth", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			path := s.LocalPath()
			if len(path) != 2 || path[0].Port != relay.URI.Port || path[0].SessionID == "" || !path[1].Equal(s.LocalURI()) {
				t.Fatalf("local path %v", path)
			}
			att := relay.Attempts()
			// Credentials follow the challenge, which a relay checking
			// the interval first sends only after the 423.
			challenged := 1
			if tc.boundsFirst {
				challenged = 2
			}
			if len(att) != tc.rounds || att[0].Authorization != "" || att[challenged-1].Authorization != "" ||
				!strings.HasPrefix(att[challenged].Authorization, "Digest ") {
				t.Fatalf("%d AUTH attempts: %+v", len(att), att)
			}
			if last := att[len(att)-1]; tc.wantExpires != 0 && last.Expires.Value != tc.wantExpires {
				t.Fatalf("retry Expires %d, want %d", last.Expires.Value, tc.wantExpires)
			}
			// RFC 4976 section 5.1: AUTH comes from the URI the session
			// puts last in its a=path.
			for i, a := range att {
				if a.FromPath != s.LocalURI().String() {
					t.Fatalf("AUTH %d From-Path %q, want the session's URI %q", i+1, a.FromPath, s.LocalURI())
				}
			}
			// A second session reuses the registration.
			if _, err := ep.NewSession(testutil.Context(t), session.SessionOptions{}); err != nil || len(relay.Attempts()) != tc.rounds {
				t.Fatalf("second session re-authenticated: %v", err)
			}
		})
	}
}

// TestRelayReauthAfterConnectionLoss: the relay routes to us over the
// connection we authenticated on; once it is lost the Use-Path is
// dropped and the next session authenticates again, on a new connection.
func TestRelayReauthAfterConnectionLoss(t *testing.T) {
	relay := msrptest.NewRelay(t, msrptest.RelayOptions{Username: "iwf", Password: "secret"})
	ep := msrptest.NewEndpoint(t, session.Config{Relay: &session.RelayConfig{
		URI: relay.URI.String(), Username: "iwf", Password: "secret", Expires: 10 * time.Minute}})
	ctx := testutil.Context(t)
	first, err := ep.NewSession(ctx, session.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(relay.Attempts()); n != 2 {
		t.Fatalf("%d AUTH attempts for the first session", n)
	}
	relay.DropConnections()
	testutil.Eventually(t, func() bool { return ep.Stats().Connections == 0 }, "relay connection still open")

	second, err := ep.NewSession(ctx, session.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	att := relay.Attempts()
	if len(att) != 4 {
		t.Fatalf("%d AUTH attempts, want 2 more after the connection loss", len(att))
	}
	if att[2].FromPath != second.LocalURI().String() {
		t.Fatalf("new AUTH From-Path %q, want %q", att[2].FromPath, second.LocalURI())
	}
	if second.LocalPath()[0].SessionID == first.LocalPath()[0].SessionID {
		t.Fatalf("second session kept the old Use-Path %v", second.LocalPath()[0])
	}
	peer := []msrp.URI{{Host: "bob.example", Port: 7000, SessionID: "bob1", Transport: "tcp"}}
	if err := second.Connect(ctx, peer, false); err != nil {
		t.Fatal(err)
	}
	if st := ep.Stats(); st.Connections != 1 {
		t.Fatalf("AUTH and SEND should share the new relay connection: %d", st.Connections)
	}
}
