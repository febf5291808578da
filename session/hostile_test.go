package session_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"iwf/internal/listener"
	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrp"
	"iwf/session/msrptest"
)

// These tests play hostile or broken peers on raw sockets: the endpoint
// must keep serving, answer or close within its configured deadlines,
// and keep its memory bounded, whatever they send or fail to read.

// ping is a bodiless SEND for a session nobody has: answered 481.
func ping(tid string) []byte {
	return []byte("MSRP " + tid + " SEND\r\n" +
		"To-Path: msrp://127.0.0.1:9/nosuchsession;tcp\r\n" +
		"From-Path: msrp://127.0.0.1:9/peer;tcp\r\n" +
		"Message-ID: " + tid + "\r\n" +
		"Byte-Range: 1-0/0\r\n" +
		"-------" + tid + "$\r\n")
}

// write puts raw bytes on the peer's connection.
func write(t *testing.T, p *msrptest.Peer, b []byte) {
	t.Helper()
	if _, err := p.Conn.Write(b); err != nil {
		t.Fatal(err)
	}
}

// flakyListener fails its first accepts as a process out of descriptors
// does.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestServeWaitsOutTransientAcceptErrors: Serve handed a bare listener
// (no listener.Wrap) does not end on EMFILE; it waits and serves on.
func TestServeWaitsOutTransientAcceptErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: ln}
	fl.fails.Store(3)
	ep, err := session.NewEndpoint(session.Config{Host: "127.0.0.1", Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ep.Serve(context.Background(), fl) }()
	t.Cleanup(func() {
		ep.Close()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	p := msrptest.Dial(t, ln.Addr().String())
	write(t, p, ping("tid00001"))
	if r := p.Read(t); r.StatusCode != 481 {
		t.Fatalf("got %d, want 481", r.StatusCode)
	}
	if st := ep.Stats(); st.AcceptErrors != 3 || st.ConnsAccepted != 1 {
		t.Fatalf("accept errors %d, accepted %d; want 3, 1", st.AcceptErrors, st.ConnsAccepted)
	}
}

// TestBudgetRefusesAndCounts: with max_per_source 1 a second connection
// from the same address is closed at once and counted; once the first
// leaves, a new one is served.
func TestBudgetRefusesAndCounts(t *testing.T) {
	ep := msrptest.NewEndpoint(t, session.Config{Budget: listener.Budget{MaxPerSource: 1}})
	addr := fmt.Sprintf("127.0.0.1:%d", ep.LocalPort())
	first := msrptest.Dial(t, addr)
	write(t, first, ping("tid00001"))
	first.Read(t) // served, so it holds the place
	second := msrptest.Dial(t, addr)
	if got := second.AwaitClose(t); len(got) != 0 {
		t.Fatalf("over-budget connection got %d frames", len(got))
	}
	if st := ep.Stats(); st.ConnsRefused != 1 || st.ConnsAccepted != 1 {
		t.Fatalf("refused %d, accepted %d; want 1, 1", st.ConnsRefused, st.ConnsAccepted)
	}
	first.Conn.Close()
	testutil.Eventually(t, func() bool { return ep.Stats().Connections == 0 }, "the first connection to leave")
	third := msrptest.Dial(t, addr)
	write(t, third, ping("tid00003"))
	if r := third.Read(t); r.StatusCode != 481 {
		t.Fatalf("got %d", r.StatusCode)
	}
}

// fakeClock is the time of an endpoint's reapers (session.SetClock):
// tests move it past a deadline instead of waiting for it, so a slow
// machine cannot make a deadline pass early.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestUnboundConnectionsAreClosed: an accepted connection that binds no
// session within bind_timeout is closed, whether it is silent or sends
// requests for sessions we do not have; garbage closes it at once. A
// connection bound before stays.
func TestUnboundConnectionsAreClosed(t *testing.T) {
	// Short, so that the reaper ticks often; it passes only when the test
	// moves the clock, however slow the machine.
	const bindTimeout = 200 * time.Millisecond
	tests := []struct {
		name string
		// peer plays the client until the connection closes, moving the
		// clock past the bind timeout once the endpoint has the
		// connection.
		peer       func(t *testing.T, ep *session.Endpoint, clk *fakeClock, p *msrptest.Peer)
		bindClosed uint64
		malformed  uint64
	}{
		{"silent", func(t *testing.T, ep *session.Endpoint, clk *fakeClock, p *msrptest.Peer) {
			testutil.Eventually(t, func() bool { return ep.Stats().Connections == 2 }, "the connection to be accepted")
			clk.Advance(bindTimeout)
			if got := p.AwaitClose(t); len(got) != 0 {
				t.Fatalf("got %d frames", len(got))
			}
		}, 1, 0},
		{"requests for no session", func(t *testing.T, ep *session.Endpoint, clk *fakeClock, p *msrptest.Peer) {
			// Requests answered 481 do not keep it open.
			_ = p.Conn.SetReadDeadline(time.Now().Add(testutil.WaitTimeout))
			for i := 0; ; i++ {
				if _, err := p.Conn.Write(ping(fmt.Sprintf("tid%05d", i))); err != nil {
					return
				}
				r, err := p.Next()
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("still open after %d requests", i+1)
				}
				var pe *msrp.ParseError
				if errors.As(err, &pe) {
					t.Fatal(err)
				}
				if err != nil {
					return // closed
				}
				if r.StatusCode != 481 {
					t.Fatalf("answer %d", r.StatusCode)
				}
				if i == 0 {
					clk.Advance(bindTimeout)
				}
			}
		}, 1, 0},
		{"garbage", func(t *testing.T, _ *session.Endpoint, _ *fakeClock, p *msrptest.Peer) {
			write(t, p, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			if got := p.AwaitClose(t); len(got) != 0 {
				t.Fatalf("got %d frames", len(got))
			}
		}, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := msrptest.NewEndpoint(t, session.Config{BindTimeout: bindTimeout})
			clk := newFakeClock()
			session.SetClock(ep, clk.Now)
			_, bound, base := rawSession(t, ep, session.SessionOptions{})
			keep := base
			keep.TransactionID, keep.MessageID = "keep0001", "keep0001"
			bound.Write(t, &keep)
			bound.Read(t)

			tc.peer(t, ep, clk, msrptest.Dial(t, bound.Conn.RemoteAddr().String()))
			st := ep.Stats()
			if st.ClosedBindTimeout != tc.bindClosed || st.ClosedMalformed != tc.malformed {
				t.Fatalf("closed for bind timeout %d, malformed %d; want %d, %d", st.ClosedBindTimeout, st.ClosedMalformed, tc.bindClosed, tc.malformed)
			}
			keep.TransactionID = "keep0002"
			bound.Write(t, &keep)
			if r := bound.Read(t); r.StatusCode != 200 {
				t.Fatalf("bound connection: %d", r.StatusCode)
			}
		})
	}
}

// TestIdleConnectionIsClosed: a bound connection without traffic for
// idle_timeout is closed and its session fails with ErrConnLost.
func TestIdleConnectionIsClosed(t *testing.T) {
	const idle = 200 * time.Millisecond // passes only with the clock
	ep := msrptest.NewEndpoint(t, session.Config{IdleTimeout: idle})
	clk := newFakeClock()
	session.SetClock(ep, clk.Now)
	rec := newRecorder()
	_, p, base := rawSession(t, ep, session.SessionOptions{Handler: rec})
	f := base
	f.TransactionID, f.MessageID = "tid00001", "bind0001"
	p.Write(t, &f)
	if r := p.Read(t); r.StatusCode != 200 {
		t.Fatalf("bind: %d", r.StatusCode)
	}
	// The reaper sees the traffic at one tick and the silence after it at
	// a later one: move the clock until it has.
	testutil.Eventually(t, func() bool {
		clk.Advance(idle)
		return ep.Stats().ClosedIdle == 1
	}, "the idle connection to be closed")
	if got := p.AwaitClose(t); len(got) != 0 {
		t.Fatalf("unexpected frames %+v", got)
	}
	if err := recv(t, rec.closed, "session end"); !errors.Is(err, session.ErrConnLost) {
		t.Fatalf("session ended with %v", err)
	}
	if st := ep.Stats(); st.ClosedIdle != 1 || st.ClosedBindTimeout != 0 {
		t.Fatalf("closed idle %d, bind timeout %d", st.ClosedIdle, st.ClosedBindTimeout)
	}
}

// TestPeerThatDoesNotReadIsCutOff: a peer that writes bodiless SENDs and
// never reads the 200s fills its write queue, which never passes its
// bound: the endpoint stops reading it, and cuts it off once the blocked
// write has waited the transaction timeout.
func TestPeerThatDoesNotReadIsCutOff(t *testing.T) {
	const maxQueue = 8 << 10
	ep := msrptest.NewEndpoint(t, session.Config{MaxWriteQueue: maxQueue, Limits: msrp.Limits{MaxHeaderBytes: 4096},
		TransactionTimeout: 500 * time.Millisecond})
	_, p, base := rawSession(t, ep, session.SessionOptions{})
	var batch []byte
	for i := range 256 {
		f := base
		f.TransactionID = fmt.Sprintf("t%07d", i)
		f.MessageID = f.TransactionID
		b, err := msrp.AppendFrame(nil, &f)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, b...)
	}
	// Socket buffers take a few MB of answers before the queue fills and
	// reading stops; 256 MB of requests taken means there is no bound.
	_ = p.Conn.SetWriteDeadline(time.Now().Add(testutil.WaitTimeout))
	var sent int
	for sent < 256<<20 {
		n, err := p.Conn.Write(batch)
		sent += n
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the endpoint stopped reading without closing (%d bytes sent)", sent)
			}
			break // cut off
		}
	}
	if sent >= 256<<20 {
		t.Fatalf("%d bytes of requests and the connection is still open", sent)
	}
	testutil.Eventually(t, func() bool { return ep.Stats().ClosedSlowReader == 1 }, "the slow reader to be counted")
	st := ep.Stats()
	if st.WriteQueuePeak > maxQueue || st.WriteQueuePeak == 0 {
		t.Fatalf("write queue peaked at %d, bound %d", st.WriteQueuePeak, maxQueue)
	}
	testutil.Eventually(t, func() bool { return ep.Stats().WriteQueueBytes == 0 }, "the queue to be released")
}

// TestClaimedRangesDoNotAllocate: memory follows the bytes received,
// never a Byte-Range total or offset a peer claims.
func TestClaimedRangesDoNotAllocate(t *testing.T) {
	ep := msrptest.NewEndpoint(t, session.Config{MaxMessageSize: 1 << 30})
	_, p, base := rawSession(t, ep, session.SessionOptions{})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	// Ten bytes of a message said to be 500 MB, and ten bytes at 400 MB.
	p.Write(t, chunk(base, "tid00001", "big00001", 1, "0123456789", 500_000_000, msrp.FlagMore))
	p.Write(t, chunk(base, "tid00002", "far00001", 400_000_001, "0123456789", msrp.Unknown, msrp.FlagMore))
	for range 2 {
		if r := p.Read(t); r.StatusCode != 200 {
			t.Fatalf("got %d", r.StatusCode)
		}
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("20 bytes received allocated %d MB", grew>>20)
	}
	if st := ep.Stats(); st.IncompleteBytes != 20 {
		t.Fatalf("incomplete bytes %d, want 20", st.IncompleteBytes)
	}
	// Aborting gives the bytes back.
	p.Write(t, chunk(base, "tid00003", "big00001", 11, "", msrp.Unknown, msrp.FlagAbort))
	p.Write(t, chunk(base, "tid00004", "far00001", 400_000_011, "", msrp.Unknown, msrp.FlagAbort))
	p.Read(t)
	p.Read(t)
	if st := ep.Stats(); st.IncompleteBytes != 0 {
		t.Fatalf("incomplete bytes %d after abort", st.IncompleteBytes)
	}
}

// TestIncompleteBytesBounds: bytes of incomplete messages are bounded per
// session and per endpoint; beyond either a chunk gets 413, and what was
// held is given back.
func TestIncompleteBytesBounds(t *testing.T) {
	tests := []struct {
		name     string
		cfg      session.Config
		sessions int // the second message goes to a second session when 2
	}{
		{"per session", session.Config{MaxMessageSize: 1000, MaxIncompleteBytes: 1500, MaxIncompleteBytesTotal: 1 << 20}, 1},
		{"per endpoint", session.Config{MaxMessageSize: 1000, MaxIncompleteBytes: 1000, MaxIncompleteBytesTotal: 1500}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := msrptest.NewEndpoint(t, tc.cfg)
			rec := newRecorder()
			_, p1, base1 := rawSession(t, ep, session.SessionOptions{Handler: rec})
			p2, base2 := p1, base1
			if tc.sessions == 2 {
				_, p2, base2 = rawSession(t, ep, session.SessionOptions{Handler: newRecorder()})
			}
			p1.Write(t, chunk(base1, "tid00001", "msg00001", 1, strings.Repeat("a", 900), 1000, msrp.FlagMore))
			if r := p1.Read(t); r.StatusCode != 200 {
				t.Fatalf("first chunk: %d", r.StatusCode)
			}
			p2.Write(t, chunk(base2, "tid00002", "msg00002", 1, strings.Repeat("b", 700), 1000, msrp.FlagMore))
			if r := p2.Read(t); r.StatusCode != 413 {
				t.Fatalf("chunk beyond the bound: %d, want 413", r.StatusCode)
			}
			if st := ep.Stats(); st.IncompleteBytes != 900 {
				t.Fatalf("incomplete bytes %d, want 900", st.IncompleteBytes)
			}
			p1.Write(t, chunk(base1, "tid00003", "msg00001", 901, strings.Repeat("a", 100), 1000, msrp.FlagEnd))
			if r := p1.Read(t); r.StatusCode != 200 {
				t.Fatalf("last chunk: %d", r.StatusCode)
			}
			if m := recv(t, rec.msgs, "message"); len(m.Body) != 1000 || !bytes.Equal(m.Body, bytes.Repeat([]byte("a"), 1000)) {
				t.Fatalf("got %d bytes", len(m.Body))
			}
			if st := ep.Stats(); st.IncompleteBytes != 0 {
				t.Fatalf("incomplete bytes %d after completion", st.IncompleteBytes)
			}
		})
	}
}

// TestReassemblyWithGapsAndOverlaps: chunks out of order, overlapping and
// resent still make the message, and the bytes held come back to zero.
func TestReassemblyWithGapsAndOverlaps(t *testing.T) {
	ep := msrptest.NewEndpoint(t, session.Config{})
	rec := newRecorder()
	_, p, base := rawSession(t, ep, session.SessionOptions{Handler: rec})
	const text = "abcdefghijklmnopqrstuvwxyz"
	parts := []struct {
		start int // 1-based
		end   int
		flag  byte
	}{
		{20, 26, msrp.FlagEnd},  // the tail first
		{10, 15, msrp.FlagMore}, // a piece in the middle
		{12, 21, msrp.FlagMore}, // overlapping both
		{10, 15, msrp.FlagMore}, // resent
		{1, 11, msrp.FlagMore},  // the head, joining everything
	}
	for i, pt := range parts {
		tid := fmt.Sprintf("tid%05d", i)
		p.Write(t, chunk(base, tid, "msg00001", int64(pt.start), text[pt.start-1:pt.end], msrp.Unknown, pt.flag))
		if r := p.Read(t); r.StatusCode != 200 {
			t.Fatalf("chunk %d: %d", i, r.StatusCode)
		}
	}
	if m := recv(t, rec.msgs, "message"); string(m.Body) != text {
		t.Fatalf("got %q", m.Body)
	}
	if st := ep.Stats(); st.IncompleteBytes != 0 {
		t.Fatalf("incomplete bytes %d", st.IncompleteBytes)
	}
}

// TestMalformedIsAnsweredOrClosed: a request the reader refuses is
// answered 400 (413 for a body over the limit) as soon as it is seen,
// even if the peer then stalls, when its paths can be read; otherwise
// the connection is closed. Never silence on an open connection.
func TestMalformedIsAnsweredOrClosed(t *testing.T) {
	long := "X-Long: " + strings.Repeat("x", 2000)
	tests := []struct {
		name   string
		send   func(to, from string) string // what the peer sends before it stalls
		answer int                          // 0: the connection is closed
	}{
		{"header over the limit after the paths", func(to, from string) string {
			return "MSRP tid00001 SEND\r\n" + to + from + long
		}, 400},
		{"too many headers", func(to, from string) string {
			return "MSRP tid00001 SEND\r\n" + to + from + strings.Repeat("X-A: b\r\n", 20)
		}, 400},
		{"chunk over the limit", func(to, from string) string {
			return "MSRP tid00001 SEND\r\n" + to + from + "Message-ID: msg00001\r\nByte-Range: 1-*/*\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("y", 5000)
		}, 413},
		{"header over the limit before the paths", func(to, from string) string {
			return "MSRP tid00001 SEND\r\n" + long
		}, 0},
		{"no To-Path", func(to, from string) string {
			return "MSRP tid00001 SEND\r\n" + from + "Message-ID: msg00001\r\n-------tid00001$\r\n"
		}, 0},
		{"no From-Path", func(to, from string) string {
			return "MSRP tid00001 SEND\r\n" + to + "Message-ID: msg00001\r\n-------tid00001$\r\n"
		}, 0},
		{"bad start line", func(to, from string) string {
			return "MSRP x SEND\r\n" + to + from
		}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := msrptest.NewEndpoint(t, session.Config{Limits: msrp.Limits{MaxHeaderBytes: 1024, MaxHeaders: 8, MaxChunk: 1000}})
			_, p, base := rawSession(t, ep, session.SessionOptions{})
			write(t, p, []byte(tc.send("To-Path: "+base.ToPath+"\r\n", "From-Path: "+base.FromPath+"\r\n")))
			if tc.answer == 0 {
				if got := p.AwaitClose(t); len(got) != 0 {
					t.Fatalf("answered %+v, want a close", got[0])
				}
				if st := ep.Stats(); st.ClosedMalformed != 1 {
					t.Fatalf("closed malformed %d", st.ClosedMalformed)
				}
				return
			}
			_ = p.Conn.SetReadDeadline(time.Now().Add(testutil.WaitTimeout))
			r := p.Read(t)
			if r.StatusCode != tc.answer || r.TransactionID != "tid00001" || r.ToPath != base.FromPath {
				t.Fatalf("got %d to %s for %s, want %d", r.StatusCode, r.ToPath, r.TransactionID, tc.answer)
			}
		})
	}
}
