package sipstack

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/listener"
	"iwf/internal/testcert"
	"iwf/internal/testutil"
)

// These tests talk to the Stack over raw sockets with requests written
// from RFC 3261, so nothing of sipgo sits on the peer's side.

var rawSeq atomic.Uint64

// rawOptions is an OPTIONS over a stream connection c (RFC 3261 section
// 11, with the headers section 8.1.1 requires).
func rawOptions(c net.Conn) string {
	n := rawSeq.Add(1)
	return fmt.Sprintf("OPTIONS sip:iwf@%s;transport=tcp SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP %s;branch=z9hG4bK-raw-%d\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:probe@127.0.0.1>;tag=p%d\r\n"+
		"To: <sip:iwf@127.0.0.1>\r\n"+
		"Call-ID: raw-%d@127.0.0.1\r\n"+
		"CSeq: 1 OPTIONS\r\n"+
		"Content-Length: 0\r\n\r\n", c.RemoteAddr(), c.LocalAddr(), n, n, n)
}

// readResponse reads one response from r: its status code and headers.
func readResponse(r *bufio.Reader) (int, textproto.MIMEHeader, error) {
	tp := textproto.NewReader(r)
	line, err := tp.ReadLine()
	if err != nil {
		return 0, nil, err
	}
	proto, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if proto != "SIP/2.0" || err != nil {
		return 0, nil, fmt.Errorf("status line %q", line)
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return 0, nil, err
	}
	if n, _ := strconv.Atoi(h.Get("Content-Length")); n > 0 {
		if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
			return 0, nil, err
		}
	}
	return status, h, nil
}

// dial connects to the stack's listener of transport.
func dial(t *testing.T, s *Stack, transport string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr(transport).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// options sends an OPTIONS on c and returns the status of its answer.
func options(t *testing.T, c net.Conn, r *bufio.Reader) int {
	t.Helper()
	if _, err := io.WriteString(c, rawOptions(c)); err != nil {
		t.Fatal(err)
	}
	status, _, err := readResponse(r)
	if err != nil {
		t.Fatal(err)
	}
	return status
}

// awaitClosed reads c until the Stack closes it. The deadline only turns
// a connection that is never closed into a failure.
func awaitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(testutil.WaitTimeout))
	_, err := io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the connection stays open")
	}
}

func tcpOnly(tune func(*Config)) Config {
	cfg := Config{Listen: []Listener{{Transport: TCP, Address: "127.0.0.1:0"}}}
	if tune != nil {
		tune(&cfg)
	}
	return cfg
}

// flaky fails its first Accepts with errs, as a process out of
// descriptors does, then hands out the real listener's connections.
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

func acceptErr(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
}

// TestAcceptSurvivesTransientErrors: sipgo's Serve returns on the first
// Accept error, which stopped the stack (and the daemon) when the process
// ran out of descriptors; the Stack waits such errors out.
func TestAcceptSurvivesTransientErrors(t *testing.T) {
	s := startStack(t, tcpOnly(nil), func(s *Stack) {
		s.listen = func(network, address string) (net.Listener, error) {
			ln, err := net.Listen(network, address)
			if err != nil {
				return nil, err
			}
			return &flaky{Listener: ln, errs: []error{
				acceptErr(syscall.EMFILE), acceptErr(syscall.EMFILE), acceptErr(syscall.ENFILE), acceptErr(syscall.ECONNABORTED),
			}}, nil
		}
	})
	c := dial(t, s, TCP)
	if status := options(t, c, bufio.NewReader(c)); status != 200 {
		t.Fatalf("OPTIONS answered %d", status)
	}
	if st := s.Stats()[TCP]; st.AcceptErrors != 4 || st.Accepted != 1 || st.Open != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestFirstRequestTimeout: a connection that sends no whole request in
// time is closed, silent or halfway through one; over tls, one that never
// starts its handshake too.
func TestFirstRequestTimeout(t *testing.T) {
	cert, _ := testcert.New(t)
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	tests := []struct {
		name, transport, send string
	}{
		{"silent", TCP, ""},
		{"half a request", TCP, "OPTIONS sip:iwf@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9"},
		{"a CRLF keep-alive", TCP, "\r\n\r\n"},
		{"no tls handshake", TLS, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startStack(t, Config{
				Listen:              []Listener{{Transport: tc.transport, Address: "127.0.0.1:0"}},
				TLS:                 conf,
				FirstRequestTimeout: 50 * time.Millisecond,
				IdleTimeout:         time.Hour,
			}, nil)
			c := dial(t, s, tc.transport)
			if _, err := io.WriteString(c, tc.send); err != nil {
				t.Fatal(err)
			}
			awaitClosed(t, c)
			testutil.Eventually(t, func() bool {
				st := s.Stats()[tc.transport]
				return st.ClosedNoRequest == 1 && st.Open == 0
			}, "the close to be counted")
		})
	}
}

// TestIdleTimeout: once it sent a request, a connection is closed after
// the idle timeout without traffic, and counted as idle. The first
// request deadline is far away: only the request, which sipgo parsed,
// moves the connection to the idle timeout.
func TestIdleTimeout(t *testing.T) {
	cert, roots := testcert.New(t)
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	for _, tp := range []string{TCP, TLS} {
		t.Run(tp, func(t *testing.T) {
			s := startStack(t, Config{
				Listen:              []Listener{{Transport: tp, Address: "127.0.0.1:0"}},
				TLS:                 conf,
				FirstRequestTimeout: time.Hour,
				IdleTimeout:         50 * time.Millisecond,
			}, nil)
			c := dial(t, s, tp)
			if tp == TLS {
				c = tls.Client(c, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
			}
			if _, err := io.WriteString(c, rawOptions(c)); err != nil {
				t.Fatal(err)
			}
			awaitClosed(t, c)
			testutil.Eventually(t, func() bool {
				st := s.Stats()[tp]
				return st.ClosedIdle == 1 && st.Open == 0
			}, "the close to be counted")
			if st := s.Stats()[tp]; st.ClosedNoRequest != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestConnectionBudget: a connection over max_per_source is closed at
// once and counted; the one within keeps working.
func TestConnectionBudget(t *testing.T) {
	s := startStack(t, tcpOnly(func(c *Config) {
		c.Budget = listener.Budget{MaxConnections: 10, MaxPerSource: 1}
	}), nil)
	first := dial(t, s, TCP)
	r := bufio.NewReader(first)
	if status := options(t, first, r); status != 200 {
		t.Fatalf("OPTIONS answered %d", status)
	}
	awaitClosed(t, dial(t, s, TCP))
	testutil.Eventually(t, func() bool { return s.Stats()[TCP].Refused == 1 }, "the refusal to be counted")
	if status := options(t, first, r); status != 200 {
		t.Fatalf("OPTIONS answered %d after the refusal", status)
	}
	if st := s.Stats()[TCP]; st.Open != 1 || st.Accepted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestPeerThatNeverReads: a peer that sends requests and reads none of
// the answers is cut off once a write has been stuck for the write
// timeout, instead of holding a goroutine and a request per answer.
func TestPeerThatNeverReads(t *testing.T) {
	s := startStack(t, tcpOnly(func(c *Config) { c.WriteTimeout = 100 * time.Millisecond }), nil)
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		// A small receive window: our answers back up after a few
		// kilobytes instead of megabytes.
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	c, err := d.Dial("tcp", s.Addr(TCP).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sent := make(chan int, 1)
	go func() {
		n := 0
		for {
			// Blocks once we stop reading; fails once we close.
			if _, err := io.WriteString(c, rawOptions(c)); err != nil {
				sent <- n
				return
			}
			n++
		}
	}()
	testutil.Eventually(t, func() bool { return s.Stats()[TCP].ClosedStalled == 1 }, "the stalled connection to be closed")
	awaitClosed(t, c)
	t.Logf("%d requests sent before the close", <-sent)
	testutil.Eventually(t, func() bool { return s.Stats()[TCP].Open == 0 }, "the budget to be given back")
}

// TestUnansweredRequestsStopReading: past max_pending_requests requests
// without their answers, the connection is not read (so sipgo starts no
// more goroutines for it), and once none is answered for the write
// timeout it is closed. The idle timeout is far away: only the bound
// can close it.
func TestUnansweredRequestsStopReading(t *testing.T) {
	const maxPending, total = 2, 40
	var parsed atomic.Int64
	release := make(chan struct{})
	s := startStack(t, tcpOnly(func(c *Config) {
		c.MaxPendingRequests = maxPending
		c.WriteTimeout = 50 * time.Millisecond
		c.IdleTimeout = time.Hour
	}), func(s *Stack) {
		s.ua.TransportLayer().OnMessage(func(sip.Message) { parsed.Add(1) })
		s.Server().OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
			<-release // a store that never answers
			_ = tx.Respond(sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil))
		})
	})
	t.Cleanup(func() { close(release) })
	c := dial(t, s, TCP)
	body := strings.Repeat("x", 8000)
	msg := func(i int) string {
		return fmt.Sprintf("MESSAGE sip:+15550100@%s SIP/2.0\r\n"+
			"Via: SIP/2.0/TCP %s;branch=z9hG4bK-msg-%d\r\n"+
			"Max-Forwards: 70\r\n"+
			"From: <sip:+15550200@127.0.0.1>;tag=m%d\r\n"+
			"To: <sip:+15550100@127.0.0.1>\r\n"+
			"Call-ID: msg-%d@127.0.0.1\r\n"+
			"CSeq: 1 MESSAGE\r\n"+
			"Content-Type: text/plain\r\n"+
			"Content-Length: %d\r\n\r\n%s", c.RemoteAddr(), c.LocalAddr(), i, i, i, len(body), body)
	}
	go func() {
		for i := range total {
			if _, err := io.WriteString(c, msg(i)); err != nil {
				return
			}
		}
	}()
	testutil.Eventually(t, func() bool { return s.Stats()[TCP].ClosedStalled == 1 }, "the connection to be closed")
	awaitClosed(t, c)
	// What one read of sipgo's buffer can hold comes on top of the bound.
	bound := maxPending + int(sip.TransportBufferReadSize)/len(msg(0)) + 1
	if n := parsed.Load(); n > int64(bound) {
		t.Fatalf("%d requests read from a connection with %d unanswered allowed, want at most %d", n, maxPending, bound)
	}
}
