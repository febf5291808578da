package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"iwf/session/msrp"
	"iwf/session/msrpsdp"
)

// SessionOptions configure one MSRP session; they mirror what the SDP
// negotiated.
type SessionOptions struct {
	// AcceptTypes are the media types we take (a=accept-types), with
	// "*" and "type/*" wildcards. Empty means message/cpim and text/plain.
	AcceptTypes []string
	// MaxSize bounds a received message (a=max-size); 0 takes the
	// endpoint's MaxMessageSize. Beyond it chunks are answered 413.
	MaxSize int64
	// CEMA matches requests by session-id only (RFC 6714), set when both
	// offer and answer carry a=msrp-cema.
	CEMA bool
	// ManualReports leaves Success-Report REPORTs to the application
	// (Message.Report), for reports that wait until the message was
	// delivered further. Otherwise a REPORT 200 follows a successful
	// HandleMessage when the sender asked for one.
	ManualReports bool
	// Handler receives messages, reports and the end of the session.
	Handler Handler
	// NewSink, when set, streams a received message into the returned
	// sink instead of memory; Message.Body is then nil. A nil Sink keeps
	// that message in memory.
	NewSink func(m *Message) (Sink, error)
}

// Sink receives the bytes of one message as its chunks arrive, possibly
// out of order.
type Sink interface {
	WriteAt(p []byte, off int64) (int, error)
}

// Handler receives what happens on a session.
//
// HandleMessage is called on a goroutine of the session's own, one
// message at a time in the order they completed: it may take its time
// (persist the message; the 200 for the last chunk waits for it) without
// holding back the other sessions of the connection. HandleReport is
// called from the connection's reader goroutine and must not block for
// long.
type Handler interface {
	// HandleMessage receives a complete message. An error answers the last
	// chunk with its MSRPStatus (see Reject), else 500.
	HandleMessage(ctx context.Context, s *Session, m *Message) error
	// HandleReport receives a REPORT for a message we sent.
	HandleReport(s *Session, r Report)
	// HandleClose is called once when the session ends; err says why.
	HandleClose(s *Session, err error)
}

// HandlerFuncs adapts functions to Handler; nil fields do nothing.
type HandlerFuncs struct {
	Message func(ctx context.Context, s *Session, m *Message) error
	Report  func(s *Session, r Report)
	Close   func(s *Session, err error)
}

// HandleMessage implements Handler.
func (h HandlerFuncs) HandleMessage(ctx context.Context, s *Session, m *Message) error {
	if h.Message == nil {
		return nil
	}
	return h.Message(ctx, s, m)
}

// HandleReport implements Handler.
func (h HandlerFuncs) HandleReport(s *Session, r Report) {
	if h.Report != nil {
		h.Report(s, r)
	}
}

// HandleClose implements Handler.
func (h HandlerFuncs) HandleClose(s *Session, err error) {
	if h.Close != nil {
		h.Close(s, err)
	}
}

// Report is a REPORT received for a message we sent (RFC 4975 section 7.1.2).
type Report struct {
	MessageID string
	Status    int
	Comment   string
	ByteRange msrp.ByteRange
}

// Session is one MSRP session: a local URI, the peer's path and the
// connection it is bound to.
type Session struct {
	ep      *Endpoint
	local   msrp.URI
	usePath []msrp.URI // relay path before our URI, RFC 4976
	opts    SessionOptions
	maxSize int64

	mu       sync.Mutex
	remote   []msrp.URI
	toPath   string // To-Path of our requests
	fromPath string // From-Path of our requests
	started  bool
	active   bool
	dialAddr string // host:port to connect to instead of the first hop (CEMA)
	conn     *conn
	bound    chan struct{} // closed once a connection is bound
	inbound  map[string]*inbound
	// incomplete is the bytes held by inbound, bounded by
	// Config.MaxIncompleteBytes.
	incomplete int64
	rejected   map[string]int // Message-ID -> status, for later chunks
	// queue holds complete messages waiting for the Handler, bounded by
	// Config.MaxQueuedMessages; delivering is true while a goroutine
	// drains it.
	queue      []*delivery
	delivering bool
	closed     bool
	err        error
	done       chan struct{}
	// lastActive is when a request of this session last went either way
	// (unix nanoseconds of Endpoint.now), for keep-alives.
	lastActive atomic.Int64

	// peerFingerprints are the peer's a=fingerprint, guarded by mu
	// (SetPeerFingerprints).
	peerFingerprints []msrpsdp.Fingerprint
}

// touch records traffic on the session.
func (s *Session) touch() { s.lastActive.Store(s.ep.now().UnixNano()) }

func newSession(e *Endpoint, local msrp.URI, usePath []msrp.URI, opts SessionOptions) *Session {
	if len(opts.AcceptTypes) == 0 {
		opts.AcceptTypes = []string{"message/cpim", "text/plain"}
	}
	if opts.Handler == nil {
		opts.Handler = HandlerFuncs{}
	}
	maxSize := opts.MaxSize
	if maxSize <= 0 {
		maxSize = e.cfg.MaxMessageSize
	}
	return &Session{
		ep:       e,
		local:    local,
		usePath:  usePath,
		opts:     opts,
		maxSize:  maxSize,
		fromPath: local.String(),
		bound:    make(chan struct{}),
		inbound:  make(map[string]*inbound),
		rejected: make(map[string]int),
		done:     make(chan struct{}),
	}
}

// LocalURI is our URI for this session.
func (s *Session) LocalURI() msrp.URI { return s.local }

// LocalPath is what goes in our SDP a=path: the relay's Use-Path (if any)
// followed by our URI (RFC 4976 section 6).
func (s *Session) LocalPath() []msrp.URI {
	return append(slices.Clone(s.usePath), s.local)
}

// MaxSize is the largest message this session accepts.
func (s *Session) MaxSize() int64 { return s.maxSize }

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err says why the session ended (nil while it runs).
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Connect starts the session with the peer's path from its SDP. With
// active true (our a=setup is active, RFC 6135) we connect to the first
// URI of the path, or reuse a connection to it, and bind with a SEND
// (bodiless if nothing else is to be sent, RFC 4975 section 5.4). With
// active false the peer connects and its first request binds the
// session; Send waits for that. Through a relay we always connect.
func (s *Session) Connect(ctx context.Context, remotePath []msrp.URI, active bool) error {
	if len(remotePath) == 0 {
		return errors.New("session: empty remote path")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.started {
		s.mu.Unlock()
		return errors.New("session: already connected")
	}
	s.started = true
	s.remote = slices.Clone(remotePath)
	to := append(slices.Clone(s.usePath), remotePath...)
	s.toPath = msrp.FormatPath(to)
	s.active = active || len(s.usePath) > 0
	firstHop := to[0]
	if s.dialAddr != "" && len(s.usePath) == 0 {
		host, port, err := net.SplitHostPort(s.dialAddr)
		p, perr := strconv.Atoi(port)
		if err != nil || perr != nil {
			s.mu.Unlock()
			return fmt.Errorf("session: dial address %q: not host:port", s.dialAddr)
		}
		firstHop = msrp.URI{Secure: firstHop.Secure, Host: host, Port: p, Transport: firstHop.Transport}
	}
	s.mu.Unlock()
	s.touch()

	if !s.active {
		return nil
	}
	c, err := s.ep.dial(ctx, firstHop, s.peerCheck())
	if err != nil {
		s.fail(err)
		return err
	}
	if r := s.bindTo(c); r != bindOK {
		err := fmt.Errorf("session: bind to connection: %w", ErrClosed)
		s.fail(err)
		return err
	}
	if err := s.sendBodiless(ctx, c); err != nil {
		s.fail(err)
		return err
	}
	return nil
}

// SetDialAddress makes an active Connect open its connection to addr
// (host:port) instead of the first URI of the path. With CEMA (RFC 6714
// section 4.2) the connection goes to the SDP c=/m= address, since an SBC
// may have rewritten it while the path keeps the peer's own URI.
func (s *Session) SetDialAddress(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dialAddr = addr
}

// UpdateRemotePath takes a new peer path from a re-INVITE (for example
// after an SBC change). The binding to the connection stays.
func (s *Session) UpdateRemotePath(remotePath []msrp.URI) error {
	if len(remotePath) == 0 {
		return errors.New("session: empty remote path")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remote = slices.Clone(remotePath)
	s.toPath = msrp.FormatPath(append(slices.Clone(s.usePath), remotePath...))
	return nil
}

// sendBodiless sends the SEND without body that binds a new session to
// its connection and waits for the answer.
func (s *Session) sendBodiless(ctx context.Context, c *conn) error {
	s.mu.Lock()
	f, buf, err := s.bodilessLocked()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	result := make(chan error, 1)
	err = c.request(f.TransactionID, buf, func(code int, comment string, _ *msrp.Frame) {
		result <- statusErr(code, comment)
	})
	if err != nil {
		return err
	}
	select {
	case err := <-result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// bodilessLocked builds a SEND without body (RFC 4975 section 7.1.1:
// Byte-Range 1-0/0), the one that binds a session and keeps it alive.
// The caller holds s.mu.
func (s *Session) bodilessLocked() (msrp.Frame, []byte, error) {
	f := msrp.Frame{
		Method:    msrp.MethodSEND,
		ToPath:    s.toPath,
		FromPath:  s.fromPath,
		MessageID: msrp.NewID(),
		ByteRange: msrp.ByteRange{Start: 1, End: 0, Total: 0},
	}
	msrp.SealTransactionID(&f, nil)
	buf, err := msrp.AppendFrame(nil, &f)
	return f, buf, err
}

// keepalive sends a bodiless SEND when the session had no traffic for
// Config.KeepaliveInterval. It never waits: the reaper calls it. A 481
// answer means the peer lost the session (RFC 4975 section 7.3.1), which
// ends it here too; other outcomes change nothing.
func (s *Session) keepalive(c *conn, now time.Time) {
	iv := s.ep.cfg.KeepaliveInterval
	if iv <= 0 || now.Sub(time.Unix(0, s.lastActive.Load())) < iv {
		return
	}
	s.mu.Lock()
	if s.closed || s.conn != c || s.toPath == "" {
		s.mu.Unlock()
		return
	}
	f, buf, err := s.bodilessLocked()
	s.mu.Unlock()
	if err != nil {
		return
	}
	s.touch()
	s.ep.stats.keepalives.Add(1)
	_ = c.request(f.TransactionID, buf, func(code int, comment string, _ *msrp.Frame) {
		// A 481 comes on the reader goroutine (handleResponse), where
		// failing a session is safe.
		if code == 481 {
			s.fail(statusErr(code, comment))
		}
	})
}

// statusErr turns a transaction outcome into an error (nil for 200).
func statusErr(code int, comment string) error {
	switch {
	case code == 200:
		return nil
	case code == 0:
		return fmt.Errorf("%w: %s", ErrConnLost, comment)
	case code == 408:
		return &StatusError{Code: code, Comment: comment, Local: true}
	}
	return &StatusError{Code: code, Comment: comment}
}

type bindResult int

const (
	bindOK bindResult = iota
	bindElsewhere
	bindClosed
)

// bindTo attaches the session to c if it has no connection yet.
func (s *Session) bindTo(c *conn) bindResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return bindClosed
	case s.conn == c:
		return bindOK
	case s.conn != nil:
		return bindElsewhere
	}
	if !c.bind(s) {
		return bindClosed
	}
	s.conn = c
	close(s.bound)
	return bindOK
}

// peerMatches checks the sender of a request (the last From-Path URI)
// against the peer's path, when known: by full URI comparison, or by
// session-id under CEMA (RFC 6714 section 4.3).
func (s *Session) peerMatches(from msrp.URI) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.remote) == 0 {
		return true // the answer is not known yet
	}
	peer := s.remote[len(s.remote)-1]
	if s.opts.CEMA {
		return peer.SessionID == from.SessionID
	}
	return peer.Equal(from)
}

// waitBound returns the session's connection, waiting for a passive
// session's peer to bind it.
func (s *Session) waitBound(ctx context.Context) (*conn, error) {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return nil, errors.New("session: Send before Connect")
	}
	select {
	case <-s.bound:
		// Bound already (every active session, and passive ones after the
		// peer's first request): no timer on the per-message path.
	default:
		if err := s.awaitBind(ctx); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, s.err
	}
	return s.conn, nil
}

// awaitBind waits up to BindTimeout for a passive session's peer.
func (s *Session) awaitBind(ctx context.Context) error {
	t := time.NewTimer(s.ep.cfg.BindTimeout)
	defer t.Stop()
	select {
	case <-s.bound:
	case <-s.done:
		return s.Err()
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		s.fail(ErrNotBound)
		return ErrNotBound
	}
	return nil
}

// Close ends the session locally (the SIP layer sends the BYE). A
// connection shared with other sessions stays; one left without sessions
// that we opened is closed.
func (s *Session) Close() error {
	s.fail(ErrClosed)
	return nil
}

// fail ends the session with err, once.
func (s *Session) fail(err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.err = err
	c := s.conn
	for _, in := range s.inbound {
		s.releaseLocked(in)
	}
	s.inbound = nil
	// Messages still queued are not handed over: the session they came
	// on has ended, as if their last chunk had come after the end. The
	// one the Handler has now finishes.
	dropped := s.queue
	s.queue = nil
	for _, d := range dropped {
		s.releaseLocked(d.in)
	}
	close(s.done)
	s.mu.Unlock()

	for _, d := range dropped {
		d.c.respond(&d.req, 481, statusComment(481))
	}

	s.ep.removeSession(s)
	if c != nil {
		c.unbind(s)
		c.closeIfIdle()
	}
	s.opts.Handler.HandleClose(s, err)
}

// connLost is called by a connection that died under the session.
func (s *Session) connLost(c *conn, err error) {
	s.mu.Lock()
	mine := s.conn == c
	s.mu.Unlock()
	if mine {
		s.fail(err)
	}
}
