package sipstack

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/listener"
)

// ConnStats are the counts of one tcp or tls listener since Listen: the
// budget's (open, accepted, refused, transient accept errors) and the
// connections the Stack closed.
type ConnStats struct {
	listener.Stats
	// ClosedNoRequest counts connections that sent no whole SIP message
	// (TLS handshake included) within Config.FirstRequestTimeout.
	ClosedNoRequest uint64 `json:"closed_no_request"`
	// ClosedIdle counts connections that sent nothing for
	// Config.IdleTimeout.
	ClosedIdle uint64 `json:"closed_idle"`
	// ClosedStalled counts connections whose answers did not go out for
	// Config.WriteTimeout: a write blocked (the peer reads nothing), or
	// Config.MaxPendingRequests requests stayed unanswered.
	ClosedStalled uint64 `json:"closed_write_stalled"`
}

// streamListener is a tcp or tls listener whose connections live under
// the Stack's deadlines and bounds: sipgo sets no deadline on the
// connections it accepts, keeps them open for good
// (sip.TransportIdleConnection), and reads on whatever happens to the
// answers, starting a goroutine per request.
type streamListener struct {
	net.Listener // tls.NewListener over budget, or budget itself
	budget       *listener.Listener
	transport    string
	conns        *connTable
	first, idle  time.Duration
	write        time.Duration
	maxPending   int
	log          *slog.Logger

	noRequest, idleClosed, stalled atomic.Uint64
}

// newStreamListener guards raw: listener.Wrap waits out transient accept
// errors, which would otherwise end sipgo's Serve and with it the
// daemon, and holds the budget; conf, when set, makes it tls.
func (s *Stack) newStreamListener(transport string, raw net.Listener, conf *tls.Config) *streamListener {
	log := s.log.With("transport", transport)
	budget := listener.Wrap(raw, s.cfg.Budget, log)
	var inner net.Listener = budget
	if conf != nil {
		inner = tls.NewListener(budget, conf)
	}
	return &streamListener{
		Listener: inner, budget: budget, transport: transport, conns: &s.conns,
		first: s.cfg.FirstRequestTimeout, idle: s.cfg.IdleTimeout, write: s.cfg.WriteTimeout,
		maxPending: s.cfg.MaxPendingRequests,
		log:        log,
	}
}

// Accept returns the next connection within the budget, under the
// deadlines.
func (l *streamListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	gc := &guardedConn{Conn: c, l: l, firstBy: time.Now().Add(l.first)}
	gc.cond = sync.NewCond(&gc.mu)
	gc.key = connKey(l.transport, c.RemoteAddr().String())
	l.conns.add(gc)
	return gc, nil
}

func (l *streamListener) stats() ConnStats {
	return ConnStats{
		Stats:           l.budget.Stats(),
		ClosedNoRequest: l.noRequest.Load(),
		ClosedIdle:      l.idleClosed.Load(),
		ClosedStalled:   l.stalled.Load(),
	}
}

// connTable finds the connection a parsed message came on: sipgo names a
// message's source by the connection's remote address.
type connTable struct{ m sync.Map }

func connKey(transport, raddr string) string { return strings.ToLower(transport) + " " + raddr }

func (t *connTable) add(c *guardedConn) { t.m.Store(c.key, c) }

func (t *connTable) remove(c *guardedConn) { t.m.CompareAndDelete(c.key, c) }

// received is a transport layer handler. sipgo calls it on the
// connection's reader for every whole message, before that reads again:
// the connection has sent its first request and is idle-timed from here
// on, and a request other than ACK waits for its final answer.
func (t *connTable) received(msg sip.Message) {
	tp := msg.Transport()
	if !strings.EqualFold(tp, TCP) && !strings.EqualFold(tp, TLS) {
		return
	}
	v, ok := t.m.Load(connKey(tp, msg.Source()))
	if !ok {
		return
	}
	c := v.(*guardedConn)
	c.seen.Store(true)
	if req, ok := msg.(*sip.Request); ok && !req.IsAck() {
		c.mu.Lock()
		c.pending++
		c.mu.Unlock()
	}
}

// guardedConn is an accepted tcp or tls connection under the deadlines
// (the first request, then idle between reads, and one per write) and
// with a bounded number of requests in hand: past it, we stop reading
// until answers go out, so TCP flow control holds the peer back.
type guardedConn struct {
	net.Conn
	l       *streamListener
	key     string
	firstBy time.Time
	seen    atomic.Bool

	// wmu takes one write at a time: each then has its own deadline from
	// when it starts, and the writes queued behind a stalled one do not
	// push that deadline out.
	wmu sync.Mutex

	mu      sync.Mutex
	cond    *sync.Cond // an answer went out, or the connection closed
	pending int        // requests read and not yet answered finally
	closed  bool

	closeOnce sync.Once
	closeErr  error
	aborted   atomic.Bool
}

// Read reads under the deadline of the first request until a whole
// message came, then under the idle timeout. A deadline that passes
// closes the connection and reads as EOF: sipgo then drops it quietly.
func (c *guardedConn) Read(b []byte) (int, error) {
	if err := c.waitRoom(); err != nil {
		return 0, err
	}
	first := !c.seen.Load()
	deadline := c.firstBy
	if !first {
		deadline = time.Now().Add(c.l.idle)
	}
	if err := c.Conn.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
		return n, err
	}
	switch {
	case !c.markClosed():
		// Closed meanwhile for another reason, counted there.
	case first:
		c.l.noRequest.Add(1)
		c.l.log.Debug("connection closed: no request in time", "remote", c.RemoteAddr().String(), "timeout", c.l.first)
	default:
		c.l.idleClosed.Add(1)
		c.l.log.Debug("connection closed: idle", "remote", c.RemoteAddr().String(), "timeout", c.l.idle)
	}
	_ = c.Close()
	return 0, io.EOF
}

// waitRoom holds a read back while maxPending requests wait for their
// answers. When none goes out for the write timeout, the connection is
// closed: its answers are stuck as surely as a blocked write's.
func (c *guardedConn) waitRoom() error {
	c.mu.Lock()
	if c.pending < c.l.maxPending || c.closed {
		closed := c.closed
		c.mu.Unlock()
		return closedErr(closed)
	}
	expired := false
	t := time.AfterFunc(c.l.write, func() {
		c.mu.Lock()
		expired = true
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer t.Stop()
	for c.pending >= c.l.maxPending && !c.closed && !expired {
		c.cond.Wait()
	}
	stuck, pending := c.pending >= c.l.maxPending && !c.closed, c.pending
	c.mu.Unlock()
	if stuck && c.abort() {
		c.l.stalled.Add(1)
		c.l.log.Warn("connection closed: requests unanswered", "remote", c.RemoteAddr().String(), "pending", pending, "timeout", c.l.write)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return closedErr(c.closed)
}

func closedErr(closed bool) error {
	if closed {
		return net.ErrClosed
	}
	return nil
}

// Write writes b within the write timeout. A peer that reads nothing for
// that long has the connection closed, which fails the writes queued
// behind and ends sipgo's reader.
func (c *guardedConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.l.write)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(b)
	switch {
	case err == nil:
		// sipgo writes each message whole, in one call.
		if isFinalResponse(b) {
			c.mu.Lock()
			c.pending = max(c.pending-1, 0)
			c.cond.Broadcast()
			c.mu.Unlock()
		}
	case errors.Is(err, os.ErrDeadlineExceeded):
		if c.abort() {
			c.l.stalled.Add(1)
			c.l.log.Warn("connection closed: the peer reads nothing", "remote", c.RemoteAddr().String(), "timeout", c.l.write)
		}
	}
	return n, err
}

// isFinalResponse reports whether msg starts with the status line of a
// final response (RFC 3261 section 7.2: 2xx to 6xx).
func isFinalResponse(msg []byte) bool {
	const prefix = "SIP/2.0 "
	return len(msg) > len(prefix) && bytes.HasPrefix(msg, []byte(prefix)) && msg[len(prefix)] >= '2' && msg[len(prefix)] <= '6'
}

// abort closes the socket under the connection at once, unless it is
// closed already; it reports whether it closed it. A TLS Close would
// first write a close_notify alert, which a peer that reads nothing
// holds for seconds.
func (c *guardedConn) abort() bool {
	if !c.markClosed() {
		return false
	}
	c.aborted.Store(true)
	raw := c.Conn
	if tc, ok := raw.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	_ = raw.Close()
	return true
}

// markClosed marks the connection closed and wakes a held read. It
// reports whether this call did, so that each close is counted once.
func (c *guardedConn) markClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.closed = true
	c.cond.Broadcast()
	return true
}

// Close closes the connection once, giving its budget back, and wakes a
// read held back by unanswered requests.
func (c *guardedConn) Close() error {
	c.closeOnce.Do(func() {
		c.markClosed()
		c.l.conns.remove(c)
		c.closeErr = c.Conn.Close()
		if c.aborted.Load() {
			// The socket is gone already; a TLS Close says so.
			c.closeErr = nil
		}
	})
	return c.closeErr
}
