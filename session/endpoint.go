// Package session is the session-mode side of the IWF: MSRP connections
// (TCP and TLS, active and passive setup, several sessions multiplexed on
// one connection), chunked sending with fair interleaving, reassembly,
// transactions and reports (RFC 4975, 4976, 6135, 6714).
package session

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"iwf/internal/listener"
	"iwf/session/msrp"
	"iwf/session/msrpsdp"
)

// Endpoint owns MSRP listeners, connections and the table of sessions.
type Endpoint struct {
	cfg   Config
	log   *slog.Logger
	relay *relayClient
	// fingerprints is our a=fingerprint, from Config.TLS.
	fingerprints []msrpsdp.Fingerprint

	mu        sync.Mutex
	port      int
	sessions  map[string]*Session // by local session-id
	dialed    map[string]*conn    // reusable outbound connections by scheme+address
	conns     map[*conn]struct{}  // every live connection
	listeners map[net.Listener]struct{}
	guards    []listenerStats // served listeners that count their own refusals
	closed    bool
	wg        sync.WaitGroup
	done      chan struct{}
	stats     counters
	// clock, when set (by tests), replaces time.Now for the deadlines
	// the reapers keep: bind, idle, transactions, incomplete messages.
	clock atomic.Pointer[func() time.Time]
}

// now is the time for the reapers' deadlines.
func (e *Endpoint) now() time.Time {
	if f := e.clock.Load(); f != nil {
		return (*f)()
	}
	return time.Now()
}

// NewEndpoint returns an Endpoint; it starts nothing until Serve or a
// session connects.
func NewEndpoint(cfg Config) (*Endpoint, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Endpoint{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "msrp"),
		port:      cfg.Port,
		sessions:  make(map[string]*Session),
		dialed:    make(map[string]*conn),
		conns:     make(map[*conn]struct{}),
		listeners: make(map[net.Listener]struct{}),
		done:      make(chan struct{}),

		fingerprints: localFingerprints(cfg),
	}
	if cfg.Relay != nil {
		rc, err := newRelayClient(e, *cfg.Relay)
		if err != nil {
			return nil, err
		}
		e.relay = rc
	}
	return e, nil
}

// listenerStats is what a *listener.Listener tells about itself.
type listenerStats interface{ Stats() listener.Stats }

// Serve accepts MSRP connections on ln (plain TCP, or a TLS listener for
// msrps) until ctx is cancelled or the endpoint is closed. The listener is
// closed on return.
//
// A transient accept error (out of descriptors, an aborted handshake:
// listener.Transient) never ends Serve: it waits, from 5 ms doubling up
// to a second, and accepts again. Serve returns an error only when ln
// fails for good. When ln is a *listener.Listener (Config.Budget), its
// refusals and waits are added to Stats.
func (e *Endpoint) Serve(ctx context.Context, ln net.Listener) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	if e.port == 0 {
		if a, ok := ln.Addr().(*net.TCPAddr); ok {
			e.port = a.Port
		}
	}
	e.listeners[ln] = struct{}{}
	if g, ok := ln.(listenerStats); ok {
		e.guards = append(e.guards, g)
	}
	e.mu.Unlock()

	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer func() {
		e.mu.Lock()
		delete(e.listeners, ln)
		e.mu.Unlock()
		ln.Close()
	}()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			select {
			case <-e.done:
				return nil
			default:
			}
			if ctx.Err() != nil {
				return nil
			}
			if !listener.Transient(err) {
				return fmt.Errorf("session: accept: %w", err)
			}
			e.stats.acceptErrors.Add(1)
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			e.log.Warn("msrp accept", "addr", ln.Addr().String(), "error", err, "retry_in", delay)
			if !e.wait(ctx, delay) {
				return nil
			}
			continue
		}
		delay = 0
		// Counted before the connection's goroutines start: its first
		// answer must not be seen before its count.
		e.stats.connsAccepted.Add(1)
		if _, err := e.startConn(nc, "", ""); err != nil {
			nc.Close()
		}
	}
}

// wait sleeps for d; it reports false when ctx or the endpoint ended
// first.
func (e *Endpoint) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-e.done:
	}
	return false
}

// Close stops listeners, fails every session and connection, and waits
// for their goroutines.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		e.wg.Wait()
		return nil
	}
	e.closed = true
	close(e.done)
	var errs []error
	for ln := range e.listeners {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	sessions := make([]*Session, 0, len(e.sessions))
	for _, s := range e.sessions {
		sessions = append(sessions, s)
	}
	conns := make([]*conn, 0, len(e.conns))
	for c := range e.conns {
		conns = append(conns, c)
	}
	e.mu.Unlock()
	if e.relay != nil {
		e.relay.stop()
	}
	for _, s := range sessions {
		s.fail(ErrClosed)
	}
	for _, c := range conns {
		c.close(ErrClosed)
	}
	e.wg.Wait()
	return errors.Join(errs...)
}

// LocalPort is the port written into our URIs.
func (e *Endpoint) LocalPort() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.port
}

// newSessionID returns a session-id with 128 bits from the OS generator.
func newSessionID() string { return rand.Text() }

// NewSession creates a session with a fresh local URI. Put LocalPath in the
// SDP, then call Connect with the peer's path once the answer is known.
func (e *Endpoint) NewSession(ctx context.Context, opts SessionOptions) (*Session, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	port := e.port
	e.mu.Unlock()
	if port == 0 {
		return nil, errors.New("session: no local port: serve a listener or set Config.Port")
	}
	local := msrp.URI{Secure: e.cfg.Secure, Host: e.cfg.Host, Port: port, SessionID: newSessionID(), Transport: "tcp"}
	var usePath []msrp.URI
	if e.relay != nil {
		var err error
		if usePath, err = e.relay.usePath(ctx, local); err != nil {
			return nil, err
		}
	}
	s := newSession(e, local, usePath, opts)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	e.sessions[local.SessionID] = s
	e.stats.sessionsOpened.Add(1)
	return s, nil
}

func (e *Endpoint) lookup(id string) *Session {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sessions[id]
}

func (e *Endpoint) removeSession(s *Session) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sessions[s.local.SessionID] == s {
		delete(e.sessions, s.local.SessionID)
	}
}

// dial returns a connection to the first hop u, reusing one already open
// to the same scheme and address: sessions toward one peer or relay share
// a connection (RFC 4975 section 5.4 allows it; relays depend on it). The
// peer's certificate is checked for the session that asks, pc, on a new
// connection and on a shared one alike; a new connection that fails the
// check is closed.
func (e *Endpoint) dial(ctx context.Context, u msrp.URI, pc peerCheck) (*conn, error) {
	key := dialKey(u)
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	if c, ok := e.dialed[key]; ok && !c.isClosed() {
		e.mu.Unlock()
		return c, e.checkShared(c, pc)
	}
	e.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, e.cfg.ConnectTimeout)
	defer cancel()
	var nc net.Conn
	var err error
	d := &net.Dialer{}
	if u.Secure {
		cfg := e.cfg.TLS
		if cfg == nil {
			cfg = &tls.Config{}
		}
		cfg = cfg.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = u.Host
		}
		// checkPeer verifies after the handshake, by a=fingerprint or by
		// the CA chain crypto/tls would have checked.
		cfg.InsecureSkipVerify = true
		td := &tls.Dialer{NetDialer: d, Config: cfg}
		if nc, err = td.DialContext(ctx, "tcp", u.Addr()); err == nil {
			if err = e.checkPeer(tlsState(nc), cfg.ServerName, pc); err != nil {
				nc.Close()
			}
		}
	} else {
		nc, err = d.DialContext(ctx, "tcp", u.Addr())
	}
	if err != nil {
		e.stats.connectFailures.Add(1)
		return nil, fmt.Errorf("session: connect %s: %w", u.Addr(), err)
	}
	e.mu.Lock()
	if c, ok := e.dialed[key]; ok && !c.isClosed() {
		// Another session connected meanwhile: share its connection.
		e.mu.Unlock()
		nc.Close()
		return c, e.checkShared(c, pc)
	}
	e.mu.Unlock()
	return e.startConn(nc, key, u.Host)
}

// checkShared checks a connection that another session opened for the
// session that asks: a peer certificate refused fails this session only.
func (e *Endpoint) checkShared(c *conn, pc peerCheck) error {
	if err := e.checkPeer(tlsState(c.nc), c.serverName, pc); err != nil {
		return fmt.Errorf("session: connection %s: %w", c.nc.RemoteAddr(), err)
	}
	return nil
}

func dialKey(u msrp.URI) string {
	scheme := "msrp"
	if u.Secure {
		scheme = "msrps"
	}
	return scheme + "://" + u.Addr()
}

func (e *Endpoint) startConn(nc net.Conn, key, serverName string) (*conn, error) {
	c := newConn(e, nc, key, serverName)
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	e.conns[c] = struct{}{}
	if key != "" {
		e.dialed[key] = c
	}
	e.stats.connsOpened.Add(1)
	e.wg.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.wg.Done()
		c.run()
		e.mu.Lock()
		delete(e.conns, c)
		if key != "" && e.dialed[key] == c {
			delete(e.dialed, key)
		}
		e.mu.Unlock()
	}()
	return c, nil
}

// counters are the endpoint's cumulative numbers, updated on hot paths
// without the endpoint lock.
type counters struct {
	connsOpened      atomic.Uint64
	connsAccepted    atomic.Uint64
	acceptErrors     atomic.Uint64
	connectFailures  atomic.Uint64
	sessionsOpened   atomic.Uint64
	messagesSent     atomic.Uint64
	messagesReceived atomic.Uint64
	chunksSent       atomic.Uint64
	chunksReceived   atomic.Uint64
	bytesSent        atomic.Uint64
	bytesReceived    atomic.Uint64
	sendFailures     atomic.Uint64
	rejected         atomic.Uint64
	queueFull        atomic.Uint64 // messages answered 503: the session's queue was full
	composing        atomic.Uint64 // is-composing indications taken and dropped
	keepalives       atomic.Uint64 // bodiless SENDs sent on idle sessions

	closedBindTimeout atomic.Uint64
	closedIdle        atomic.Uint64
	closedSlowReader  atomic.Uint64
	closedMalformed   atomic.Uint64

	queuedBytes     atomic.Int64 // control bytes awaiting writers, all connections
	queuePeak       atomic.Int64 // the most one connection ever had queued
	incompleteBytes atomic.Int64 // bytes held for partial messages, all sessions
}

// queued counts n control bytes queued on a connection that now has
// connQueued.
func (c *counters) queued(n, connQueued int) {
	c.queuedBytes.Add(int64(n))
	for {
		peak := c.queuePeak.Load()
		if int64(connQueued) <= peak || c.queuePeak.CompareAndSwap(peak, int64(connQueued)) {
			return
		}
	}
}

// Stats is a snapshot for the status endpoint.
type Stats struct {
	// Connections is the connections open now, accepted and dialed;
	// Sessions the sessions open now.
	Connections int `json:"connections"`
	Sessions    int `json:"sessions"`
	// ConnsOpened counts connections since the start, accepted and
	// dialed; ConnsAccepted those accepted by Serve.
	ConnsOpened   uint64 `json:"conns_opened"`
	ConnsAccepted uint64 `json:"conns_accepted"`
	// ConnsRefused counts connections closed at once for the listener's
	// budget (Config.Budget), when Serve was handed a *listener.Listener.
	ConnsRefused uint64 `json:"conns_refused"`
	// AcceptErrors counts transient accept failures waited out, by Serve
	// and by the listeners it was handed.
	AcceptErrors     uint64 `json:"accept_errors"`
	ConnectFailures  uint64 `json:"connect_failures"`
	SessionsOpened   uint64 `json:"sessions_opened"`
	MessagesSent     uint64 `json:"messages_sent"`
	MessagesReceived uint64 `json:"messages_received"`
	ChunksSent       uint64 `json:"chunks_sent"`
	ChunksReceived   uint64 `json:"chunks_received"`
	BytesSent        uint64 `json:"bytes_sent"`
	BytesReceived    uint64 `json:"bytes_received"`
	SendFailures     uint64 `json:"send_failures"`
	Rejected         uint64 `json:"rejected"`
	// QueueFull counts messages answered 503 because their session had
	// MaxQueuedMessages waiting for the Handler already (also in
	// Rejected); Composing the is-composing indications (RFC 3994) taken
	// and dropped.
	QueueFull uint64 `json:"queue_full"`
	Composing uint64 `json:"composing"`
	// Keepalives counts bodiless SENDs sent on idle sessions
	// (KeepaliveInterval).
	Keepalives uint64 `json:"keepalives"`
	// ClosedBindTimeout counts accepted connections closed because no
	// request bound a session within BindTimeout; ClosedIdle those closed
	// after IdleTimeout without traffic; ClosedSlowReader those whose peer
	// stopped reading (a write blocked for TransactionTimeout, the write
	// queue full and reading paused meanwhile); ClosedMalformed those
	// closed for input that could not be answered (framing lost, a
	// request without paths).
	ClosedBindTimeout uint64 `json:"closed_bind_timeout"`
	ClosedIdle        uint64 `json:"closed_idle"`
	ClosedSlowReader  uint64 `json:"closed_slow_reader"`
	ClosedMalformed   uint64 `json:"closed_malformed"`
	// WriteQueueBytes is the bytes of responses, REPORTs and other control
	// frames waiting to be written now, all connections together;
	// WriteQueuePeak the most one connection ever had waiting (at most
	// MaxWriteQueue, or one frame).
	WriteQueueBytes int64 `json:"write_queue_bytes"`
	WriteQueuePeak  int64 `json:"write_queue_peak"`
	// IncompleteBytes is the bytes held now for messages being
	// reassembled in memory, all sessions together (at most
	// MaxIncompleteBytesTotal).
	IncompleteBytes int64 `json:"incomplete_bytes"`
}

// Stats returns the current counters.
func (e *Endpoint) Stats() Stats {
	e.mu.Lock()
	nconns, nsessions := len(e.conns), len(e.sessions)
	var ls listener.Stats
	for _, g := range e.guards {
		st := g.Stats()
		ls.Refused += st.Refused
		ls.AcceptErrors += st.AcceptErrors
	}
	e.mu.Unlock()
	s := &e.stats
	return Stats{
		Connections: nconns, Sessions: nsessions,
		ConnsOpened: s.connsOpened.Load(), ConnsAccepted: s.connsAccepted.Load(), ConnsRefused: ls.Refused,
		AcceptErrors:    s.acceptErrors.Load() + ls.AcceptErrors,
		ConnectFailures: s.connectFailures.Load(), SessionsOpened: s.sessionsOpened.Load(),
		MessagesSent: s.messagesSent.Load(), MessagesReceived: s.messagesReceived.Load(),
		ChunksSent: s.chunksSent.Load(), ChunksReceived: s.chunksReceived.Load(),
		BytesSent: s.bytesSent.Load(), BytesReceived: s.bytesReceived.Load(),
		SendFailures: s.sendFailures.Load(), Rejected: s.rejected.Load(),
		QueueFull: s.queueFull.Load(), Composing: s.composing.Load(), Keepalives: s.keepalives.Load(),
		ClosedBindTimeout: s.closedBindTimeout.Load(), ClosedIdle: s.closedIdle.Load(),
		ClosedSlowReader: s.closedSlowReader.Load(), ClosedMalformed: s.closedMalformed.Load(),
		WriteQueueBytes: s.queuedBytes.Load(), WriteQueuePeak: s.queuePeak.Load(),
		IncompleteBytes: s.incompleteBytes.Load(),
	}
}
