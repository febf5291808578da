package session

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"iwf/session/msrp"
)

// conn is one MSRP connection (TCP or TLS) carrying any number of
// sessions. It owns three goroutines: the reader (parsing and dispatch),
// the writer (fair scheduling of queued frames) and the reaper
// (transaction timeouts, stale partial messages).
type conn struct {
	ep  *Endpoint
	nc  net.Conn
	key string // dial key when we connected, "" when accepted
	log *slog.Logger

	// serverName is the host we dialed, whose certificate chain a TLS
	// peer without a=fingerprint must prove; "" when accepted.
	serverName string

	ctx    context.Context // cancelled when the connection ends
	cancel context.CancelFunc

	// activity counts frames read and written and body runs read; the
	// reaper calls the connection idle when it stops moving.
	activity atomic.Uint64

	mu      sync.Mutex
	cond    *sync.Cond  // the writer waits for frames
	room    *sync.Cond  // control frames wait for room in the queue
	control [][]byte    // responses, REPORTs, bodiless SENDs, AUTH: written first
	queued  int         // bytes in control, bounded by MaxWriteQueue
	ready   []*outChunk // message chunks, one per sending message: round robin
	senders int         // messages being sent on this connection
	tx      map[string]*transaction
	bound   map[*Session]struct{}
	// unboundSince is when an accepted connection was opened or lost its
	// last session; zero while it carries one, and for dialed ones.
	unboundSince time.Time
	closed       bool
	keep         bool // a relay connection: stays open without sessions
	err          error
	done         chan struct{}

	// yield lets goroutines that are ready to queue frames run before
	// the writer flushes; runtime.Gosched unless a test steps it.
	yield func()
}

// transaction is a request awaiting its response.
type transaction struct {
	deadline time.Time
	// resolve gets the response frame (valid during the call only), or
	// nil with a local status (408, or 0 when the connection was lost).
	resolve func(code int, comment string, resp *msrp.Frame)
	// queued, instead of resolve, is the message in one chunk it
	// answers (a closure per message cost an allocation).
	queued *Pending
}

// settle hands the transaction's outcome to whoever awaits it.
func (t *transaction) settle(code int, comment string, resp *msrp.Frame) {
	if t.queued != nil {
		t.queued.settle(statusErr(code, comment))
		return
	}
	t.resolve(code, comment, resp)
}

// outChunk is one serialized chunk handed from a sender to the writer:
// buf, then data and tail when the content is written in place from the
// caller's slice (no copy).
type outChunk struct {
	buf     []byte
	data    []byte
	tail    []byte
	written chan error // receives once the writer took it all
	// queued, instead of written, is told: the chunk of a message Queue
	// sent whole, whose buffer is never reused.
	queued *Pending
}

// signal tells the chunk's sender that the writer took it all (err nil)
// or never will.
func (ch *outChunk) signal(err error) {
	if ch.queued != nil {
		ch.queued.written(err)
		return
	}
	ch.written <- err
}

func newConn(e *Endpoint, nc net.Conn, key, serverName string) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		ep:     e,
		nc:     nc,
		key:    key,
		log:    e.log.With("remote", nc.RemoteAddr().String()),
		ctx:    ctx,
		cancel: cancel,
		tx:     make(map[string]*transaction),
		bound:  make(map[*Session]struct{}),
		done:   make(chan struct{}),
		yield:  runtime.Gosched,
	}
	c.serverName = serverName
	if key == "" {
		c.unboundSince = e.now()
	}
	c.cond = sync.NewCond(&c.mu)
	c.room = sync.NewCond(&c.mu)
	return c
}

// run serves the connection until it fails or is closed.
func (c *conn) run() {
	c.log.Debug("msrp connection up", "local", c.nc.LocalAddr().String(), "dialed", c.key != "")
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := c.writeLoop(); err != nil {
			var counter *atomic.Uint64
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// A write that waited a whole transaction timeout: the
				// peer does not read (its queue is full by now, and the
				// reader paused).
				counter = &c.ep.stats.closedSlowReader
			}
			c.closeCounted(fmt.Errorf("%w: write: %w", ErrConnLost, err), counter)
		}
	}()
	go func() {
		defer wg.Done()
		c.reapLoop()
	}()
	err := c.readLoop()
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: closed by peer", ErrConnLost)
	} else {
		err = fmt.Errorf("%w: %w", ErrConnLost, err)
	}
	var counter *atomic.Uint64
	if errors.Is(err, msrp.ErrFraming) {
		// Counted only when the peer's input ended the connection, not
		// when a read failed because we had closed it.
		counter = &c.ep.stats.closedMalformed
	}
	c.closeCounted(err, counter)
	wg.Wait()
	c.log.Debug("msrp connection down", "error", c.err)
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// close ends the connection: pending transactions fail, bound sessions
// fail with err, the socket closes. Safe to call more than once.
func (c *conn) close(err error) { c.closeCounted(err, nil) }

// closeCounted closes the connection and, when this call is the one that
// closes it, adds one to counter (if not nil) before the peer can see
// the close.
func (c *conn) closeCounted(err error, counter *atomic.Uint64) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if counter != nil {
		counter.Add(1)
	}
	if err == nil {
		err = ErrClosed
	}
	c.closed = true
	c.err = err
	txs := c.tx
	c.tx = nil
	sessions := make([]*Session, 0, len(c.bound))
	for s := range c.bound {
		sessions = append(sessions, s)
	}
	c.bound = nil
	ready := c.ready
	c.ready = nil
	c.control = nil
	c.ep.stats.queuedBytes.Add(-int64(c.queued))
	c.queued = 0
	c.cond.Broadcast()
	c.room.Broadcast()
	close(c.done)
	c.mu.Unlock()

	c.cancel()
	c.nc.Close()
	for _, ch := range ready {
		ch.signal(err)
	}
	for _, t := range txs {
		t.settle(0, err.Error(), nil)
	}
	for _, s := range sessions {
		s.connLost(c, err)
	}
}

// closeFor closes the connection for one of our reasons, counted in
// counter.
func (c *conn) closeFor(reason error, counter *atomic.Uint64) {
	c.log.Info("msrp connection closing", "reason", reason.Error())
	c.closeCounted(fmt.Errorf("%w: %w", ErrConnLost, reason), counter)
}

// bind attaches s to this connection; it reports false when closed.
func (c *conn) bind(s *Session) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.bound[s] = struct{}{}
	c.unboundSince = time.Time{}
	return true
}

func (c *conn) unbind(s *Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bound != nil {
		delete(c.bound, s)
		if c.key == "" && len(c.bound) == 0 {
			// An accepted connection left without sessions has a bind
			// timeout again to carry a new one.
			c.unboundSince = c.ep.now()
		}
	}
}

// sendControl queues a serialized frame ahead of message chunks.
func (c *conn) sendControl(buf []byte) error { return c.queue(buf, nil, "", nil) }

// request registers a transaction for tid and queues buf.
func (c *conn) request(tid string, buf []byte, resolve func(int, string, *msrp.Frame)) error {
	return c.queue(buf, nil, tid, resolve)
}

// enqueueChunk queues a chunk of a message; with resolve it also
// registers its transaction.
func (c *conn) enqueueChunk(ch *outChunk, tid string, resolve func(int, string, *msrp.Frame)) error {
	return c.queue(nil, ch, tid, resolve)
}

// enqueueOne queues the only chunk of a message Queue sends whole
// (ch.queued); with answered it also registers its transaction.
func (c *conn) enqueueOne(ch *outChunk, tid string, answered bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.err
	}
	if answered {
		c.tx[tid] = &transaction{deadline: c.ep.now().Add(c.ep.cfg.TransactionTimeout), queued: ch.queued}
	}
	c.ready = append(c.ready, ch)
	c.cond.Signal()
	return nil
}

// queue hands the writer a chunk of a message, or else a serialized
// control frame, which goes ahead of chunks. With resolve it registers
// the transaction tid before the writer can see the frame, so that the
// response always finds it.
//
// Control frames are bounded by MaxWriteQueue: they are what a peer's
// requests make us write, and a peer that keeps sending but never reads
// would otherwise grow the queue without end. One that would pass the
// bound waits for the writer to make room (a lone frame always fits).
// Waiting there, the reader stops reading, so TCP holds the peer back: a
// fast peer that reads is slowed, and one that does not read is cut off
// when the writer's blocked write fails at its deadline.
func (c *conn) queue(control []byte, ch *outChunk, tid string, resolve func(int, string, *msrp.Frame)) error {
	c.mu.Lock()
	for ch == nil && !c.closed && c.queued > 0 && c.queued+len(control) > c.ep.cfg.MaxWriteQueue {
		c.room.Wait()
	}
	if c.closed {
		err := c.err
		c.mu.Unlock()
		return err
	}
	if resolve != nil {
		c.tx[tid] = &transaction{deadline: c.ep.now().Add(c.ep.cfg.TransactionTimeout), resolve: resolve}
	}
	if ch != nil {
		c.ready = append(c.ready, ch)
	} else {
		c.control = append(c.control, control)
		c.queued += len(control)
		c.ep.stats.queued(len(control), c.queued)
	}
	c.cond.Signal()
	c.mu.Unlock()
	return nil
}

// senderStarted and senderDone count messages in flight, which picks the
// chunk size: large when a message is alone, small when others share.
// senderStarted returns the chunk size with the new message counted.
func (c *conn) senderStarted() int {
	c.mu.Lock()
	c.senders++
	n := c.senders
	c.mu.Unlock()
	return c.chunkSizeFor(n)
}

func (c *conn) senderDone() {
	c.mu.Lock()
	c.senders--
	c.mu.Unlock()
}

func (c *conn) chunkSize() int {
	c.mu.Lock()
	n := c.senders
	c.mu.Unlock()
	return c.chunkSizeFor(n)
}

// chunkSizeFor is the chunk size while n messages are being sent.
func (c *conn) chunkSizeFor(n int) int {
	if n <= 1 {
		return c.ep.cfg.SoloChunkSize
	}
	return c.ep.cfg.ChunkSize
}

// writeLoop writes control frames first, then one chunk of each sending
// message in turn: a 100 MB transfer and a chat message on the same
// connection alternate chunk by chunk. Output is buffered and flushed
// whenever the queues run dry, so what is queued while a flush is under
// way goes out in the next one.
func (c *conn) writeLoop() error {
	bw := bufio.NewWriterSize(c.nc, 64<<10)
	timeout := c.ep.cfg.TransactionTimeout
	yielded := false
	for {
		c.mu.Lock()
		for len(c.control) == 0 && len(c.ready) == 0 && !c.closed {
			if bw.Buffered() > 0 && !yielded {
				// Yield once before the flush: a sender queueing a
				// batch of SENDs, or a reader answering the SENDs of one
				// read, has more on its way, and the runtime would run
				// us ahead of it. Nothing else runnable: back at once.
				c.mu.Unlock()
				c.yield()
				yielded = true
				c.mu.Lock()
				continue
			}
			if bw.Buffered() > 0 {
				yielded = false
				c.mu.Unlock()
				// A peer that stops reading for a whole transaction
				// timeout fails the connection instead of hanging it.
				_ = c.nc.SetWriteDeadline(time.Now().Add(timeout))
				if err := bw.Flush(); err != nil {
					return err
				}
				c.mu.Lock()
				continue
			}
			c.cond.Wait()
		}
		if c.closed {
			c.mu.Unlock()
			return nil
		}
		var buf, data, tail []byte
		var ch *outChunk
		if len(c.control) > 0 {
			buf = c.control[0]
			c.control[0] = nil
			c.control = c.control[1:]
			c.queued -= len(buf)
			c.ep.stats.queuedBytes.Add(-int64(len(buf)))
			c.room.Broadcast()
		} else {
			ch = c.ready[0]
			c.ready[0] = nil
			c.ready = c.ready[1:]
			buf, data, tail = ch.buf, ch.data, ch.tail
		}
		c.mu.Unlock()
		c.activity.Add(1)
		if bw.Available() < len(buf)+len(data)+len(tail) {
			_ = c.nc.SetWriteDeadline(time.Now().Add(timeout))
		}
		// bufio writes a large data slice straight to the socket.
		_, err := bw.Write(buf)
		if err == nil && len(data) > 0 {
			_, err = bw.Write(data)
		}
		if err == nil && len(tail) > 0 {
			_, err = bw.Write(tail)
		}
		if ch != nil {
			ch.signal(err)
		}
		if err != nil {
			return err
		}
	}
}

// reapLoop fails transactions that outlived their timeout with a local
// 408, drops stale partial messages, and closes the connection when it
// stayed without a session past the bind timeout (accepted ones) or
// without traffic past the idle timeout.
func (c *conn) reapLoop() {
	cfg := &c.ep.cfg
	period := min(time.Second, cfg.TransactionTimeout/4, cfg.BindTimeout/2, cfg.IdleTimeout/2)
	if cfg.KeepaliveInterval > 0 {
		period = min(period, cfg.KeepaliveInterval/2)
	}
	t := time.NewTicker(period)
	defer t.Stop()
	seen, movedAt := c.activity.Load(), c.ep.now()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			now := c.ep.now()
			var expired []*transaction
			var sessions []*Session
			c.mu.Lock()
			for tid, tx := range c.tx {
				if now.After(tx.deadline) {
					expired = append(expired, tx)
					delete(c.tx, tid)
				}
			}
			for s := range c.bound {
				sessions = append(sessions, s)
			}
			keep, unbound := c.keep, c.unboundSince
			c.mu.Unlock()
			for _, tx := range expired {
				tx.settle(408, statusComment(408), nil)
			}
			for _, s := range sessions {
				s.expireIncomplete(now)
				s.keepalive(c, now)
			}
			if !unbound.IsZero() && now.Sub(unbound) >= cfg.BindTimeout {
				c.closeFor(errBindTimeout, &c.ep.stats.closedBindTimeout)
				return
			}
			if n := c.activity.Load(); n != seen {
				seen, movedAt = n, now
			} else if !keep && now.Sub(movedAt) >= cfg.IdleTimeout {
				c.closeFor(errIdle, &c.ep.stats.closedIdle)
				return
			}
		}
	}
}

func (c *conn) readLoop() error {
	rd := msrp.NewReader(c.nc, c.ep.cfg.Limits)
	var f msrp.Frame
	for {
		hasBody, err := rd.Next(&f)
		c.activity.Add(1)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, msrp.ErrFraming) {
				return err
			}
			c.log.Info("msrp request rejected", "error", err, "tid", f.TransactionID)
			// Answered right away (the reader reports the fault before
			// the rest of the frame): 400 for an unintelligible request,
			// 413 for one past a size limit (RFC 4975 section 10). A
			// broken response is dropped: nobody waits for an answer to
			// it.
			if f.IsRequest() {
				code := msrp.StatusOf(err)
				c.respond(&f, code, statusComment(code))
			}
			continue
		}
		if !f.IsRequest() {
			c.handleResponse(&f)
			continue
		}
		switch f.Method {
		case msrp.MethodSEND:
			c.handleSend(&f, hasBody, rd)
		case msrp.MethodREPORT:
			c.handleReport(&f)
		case msrp.MethodAUTH:
			// We are an endpoint, not a relay (RFC 4976 section 5).
			c.respond(&f, 403, statusComment(403))
		default:
			// RFC 4975 section 7.3: unknown methods get 501.
			c.respond(&f, 501, statusComment(501))
		}
	}
}

func (c *conn) handleResponse(f *msrp.Frame) {
	c.mu.Lock()
	tx, ok := c.tx[f.TransactionID]
	if ok {
		delete(c.tx, f.TransactionID)
	}
	c.mu.Unlock()
	if ok {
		tx.settle(f.StatusCode, f.Comment, f)
	}
}

// respond answers req unless its Failure-Report forbids it (RFC 4975
// section 7.2: "no" means no responses at all, "partial" only failures)
// or it is a REPORT, which is never answered. A request that must be
// answered but lacks the paths to address the answer closes the
// connection: a peer never waits in silence on an open one.
func (c *conn) respond(req *msrp.Frame, code int, comment string) {
	if req.Method == msrp.MethodREPORT || req.FailureReport == msrp.ReportNo ||
		(req.FailureReport == msrp.ReportPartial && code == 200) {
		return
	}
	// RFC 4975 section 7.2: a response goes one hop back: its To-Path is
	// the first URI of the request's From-Path, its From-Path the first
	// URI of the request's To-Path.
	resp := msrp.Frame{
		TransactionID: req.TransactionID,
		StatusCode:    code,
		Comment:       comment,
		ToPath:        firstField(req.FromPath),
		FromPath:      firstField(req.ToPath),
	}
	if resp.ToPath == "" || resp.FromPath == "" {
		c.closeFor(errUnanswered, &c.ep.stats.closedMalformed)
		return
	}
	buf, err := msrp.AppendFrame(make([]byte, 0, 64+len(resp.ToPath)+len(resp.FromPath)), &resp)
	if err != nil {
		c.closeFor(errUnanswered, &c.ep.stats.closedMalformed)
		return
	}
	_ = c.sendControl(buf)
}

// route finds the session a request is for and checks that it may use
// this connection. It returns the status to answer when it may not.
func (c *conn) route(f *msrp.Frame) (*Session, int) {
	to, err := msrp.ParseURI(firstField(f.ToPath))
	if err != nil {
		return nil, 400
	}
	s := c.ep.lookup(to.SessionID)
	if s == nil {
		return nil, 481
	}
	// RFC 4975 section 7.3.1 compares the whole URI; with CEMA (RFC 6714
	// section 4.3) only the session-id, since middleboxes rewrite the
	// host and port.
	if !s.opts.CEMA && !to.Equal(s.local) {
		return nil, 481
	}
	from, err := msrp.ParseURI(lastField(f.FromPath))
	if err != nil {
		return nil, 400
	}
	if !s.peerMatches(from) {
		return nil, 481
	}
	// RFC 4975 section 14.4: the certificate of the connection that binds
	// the session must be the one the peer's SDP named.
	if !c.admit(s) {
		return nil, 481
	}
	switch s.bindTo(c) {
	case bindOK:
		return s, 200
	case bindElsewhere:
		// RFC 4975 section 7.3.1: 506 when the session is bound to
		// another connection.
		return nil, 506
	default:
		return nil, 481
	}
}

func (c *conn) handleSend(f *msrp.Frame, hasBody bool, rd *msrp.Reader) {
	s, code := c.route(f)
	if code != 200 {
		c.ep.stats.rejected.Add(1)
		c.respond(f, code, statusComment(code))
		return
	}
	s.touch()
	s.receiveChunk(c, f, hasBody, rd)
}

func (c *conn) handleReport(f *msrp.Frame) {
	s, code := c.route(f)
	if code != 200 {
		return // REPORTs are never answered
	}
	s.touch()
	s.receiveReport(f)
}

func firstField(path string) string {
	path = strings.TrimLeft(path, " ")
	if i := strings.IndexByte(path, ' '); i >= 0 {
		return path[:i]
	}
	return path
}

func lastField(path string) string {
	path = strings.TrimRight(path, " ")
	if i := strings.LastIndexByte(path, ' '); i >= 0 {
		return path[i+1:]
	}
	return path
}

// closeIfIdle closes a connection we dialed once no session uses it; an
// accepted one is left to the peer.
func (c *conn) closeIfIdle() {
	c.mu.Lock()
	idle := c.key != "" && !c.keep && !c.closed && len(c.bound) == 0 && c.senders == 0
	c.mu.Unlock()
	if idle {
		c.close(ErrClosed)
	}
}

// keepOpen marks a relay connection, which outlives its sessions.
func (c *conn) keepOpen() {
	c.mu.Lock()
	c.keep = true
	c.mu.Unlock()
}
