package smpp

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/testutil"
	"iwf/smpp/smpptest"
)

// fakeClock advances by exactly what is slept: a test counts the waits the
// token bucket and back-offs asked for instead of measuring wall time.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
	naps  []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if d > 0 {
		f.now = f.now.Add(d)
		f.slept += d
		f.naps = append(f.naps, d)
	}
	return nil
}

func (f *fakeClock) napCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.naps)
}

func (f *fakeClock) napList() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.naps...)
}

// gateClock is a fakeClock whose sleeps the test lets pass one by one:
// each Sleep is announced on sleeps, then waits for a token on wake.
type gateClock struct {
	fakeClock
	sleeps chan time.Duration
	wake   chan struct{}
}

func newGateClock() *gateClock {
	return &gateClock{fakeClock: *newFakeClock(), sleeps: make(chan time.Duration), wake: make(chan struct{})}
}

func (g *gateClock) Sleep(ctx context.Context, d time.Duration) error {
	select {
	case g.sleeps <- d:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-g.wake:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.fakeClock.Sleep(ctx, d)
}

func (f *fakeClock) total() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.slept
}

// recv receives from ch, failing the test rather than hanging.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatal("nothing received in 20s")
		var zero T
		return zero
	}
}

// startClient runs a client against addr until the test ends.
func startClient(t testing.TB, cfg ClientConfig, h DeliverHandler, clk clock) *Client {
	t.Helper()
	c := newTestClient(t, cfg, h, clk)
	runUntilEnd(t, c)
	return c
}

// newTestClient is startClient without the Run, for a test that changes
// the client first.
func newTestClient(t testing.TB, cfg ClientConfig, h DeliverHandler, clk clock) *Client {
	t.Helper()
	if h == nil {
		h = DeliverHandlerFunc(func(context.Context, string, *Message) error { return nil })
	}
	c, err := NewClient(cfg, h, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if clk != nil {
		c.clk = clk
		for _, b := range c.binds {
			b.bucket.clk = clk
		}
	}
	return c
}

// runUntilEnd runs a Client or Server until the test ends, then closes it
// and checks both Close and Run.
func runUntilEnd(t testing.TB, r interface {
	Run(context.Context) error
	Close() error
}) {
	errc := make(chan error, 1)
	go func() { errc <- r.Run(context.WithoutCancel(t.Context())) }()
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func clientConfig(addr string) ClientConfig {
	return ClientConfig{
		Partner: "smsc", Address: addr, SystemID: "iwf", Password: "secret",
		RebindMin: 5 * time.Millisecond, RebindMax: 50 * time.Millisecond,
		ThrottleMin: 100 * time.Millisecond, ThrottleMax: time.Second,
		MsgQFullRetries: 2, MsgQFullDelay: 10 * time.Millisecond,
		ResponseTimeout: 5 * time.Second, HandlerTimeout: 5 * time.Second,
	}
}

func startSMSC(t testing.TB) *smpptest.Server {
	return smpptest.Start(t, smpptest.Config{SystemID: "iwf", Password: "secret"})
}

func waitSMSC(t testing.TB, s *smpptest.Server, cond func(smpptest.State) bool) {
	t.Helper()
	if err := s.Wait(testutil.Context(t), cond); err != nil {
		t.Fatal(err)
	}
}

func testMessage(text string) *Message {
	return &Message{
		Source: Address{TON: 1, NPI: 1, Addr: "4915112345678"},
		Dest:   Address{TON: 1, NPI: 1, Addr: "4917612345678"},
		// unpacked GSM 03.38: these characters have their ASCII codes
		ShortMessage: []byte(text),
	}
}

// startServer runs a Server on 127.0.0.1:0 until the test ends.
func startServer(t *testing.T, cfg ServerConfig, h SubmitHandler) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, ln, cfg, h)
}

// serveOn runs a Server on ln until the test ends.
func serveOn(t *testing.T, ln net.Listener, cfg ServerConfig, h SubmitHandler) *Server {
	t.Helper()
	if h == nil {
		h = SubmitHandlerFunc(func(context.Context, string, *Message) (string, error) { return "id-1", nil })
	}
	s, err := NewServer(ln, cfg, h, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	// Tests bind from one address, wrong passwords included: the
	// back-off after failed binds runs on a clock that only counts.
	s.guard.clk = newFakeClock()
	runUntilEnd(t, s)
	return s
}

func serverConfig(partners ...ServerPartner) ServerConfig {
	return ServerConfig{ResponseTimeout: 5 * time.Second, HandlerTimeout: 5 * time.Second, Partners: partners}
}

// rawConn is an ESME written by hand, for what no client library sends:
// garbage, bad lengths, a second bind.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	return dialRawWith(t, &net.Dialer{}, addr)
}

// dialRawSmall dials with a receive buffer of a few KiB, so that a peer
// that does not read fills it quickly. The size is set before the
// connection opens: shrinking it later makes the kernel drop data it
// already let the server send, and retransmit it slowly.
func dialRawSmall(t *testing.T, addr string) *rawConn {
	t.Helper()
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10)
		})
		return errors.Join(err, serr)
	}}
	return dialRawWith(t, d, addr)
}

func dialRawWith(t *testing.T, d *net.Dialer, addr string) *rawConn {
	t.Helper()
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

func (c *rawConn) send(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawConn) sendPDU(p pdu.PDU, seq uint32) { c.send(marshal(p, seq)) }

// next reads one PDU header and body; io.EOF when the server closed.
func (c *rawConn) next() (header, []byte, error) {
	frame, err := readFrame(c.r, nil, DefaultMaxPDULen)
	if err != nil {
		return header{}, nil, err
	}
	return parseHeader(frame), frame, nil
}

func (c *rawConn) expect(cmd, status, seq uint32) {
	c.t.Helper()
	h, _, err := c.next()
	if err != nil {
		c.t.Fatalf("want %s: %v", CommandName(cmd), err)
	}
	if h.Command != cmd || h.Status != status || h.Seq != seq {
		c.t.Fatalf("got %s %s seq %d, want %s %s seq %d", CommandName(h.Command), StatusName(h.Status), h.Seq,
			CommandName(cmd), StatusName(status), seq)
	}
}

func (c *rawConn) bind(systemID, password string, seq uint32) {
	c.t.Helper()
	req := pdu.NewBindRequest(pdu.Transceiver)
	req.SystemID, req.Password = systemID, password
	c.sendPDU(req, seq)
	c.expect(CmdBindTransceiverResp, StatusOK, seq)
}

func isEOF(err error) bool {
	var ne *net.OpError
	return err != nil && (errors.Is(err, net.ErrClosed) || errors.As(err, &ne) || strings.Contains(err.Error(), "EOF"))
}
