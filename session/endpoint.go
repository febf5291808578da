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

	"iwf/session/msrp"
)

// Endpoint owns MSRP listeners, connections and the table of sessions.
type Endpoint struct {
	cfg   Config
	log   *slog.Logger
	relay *relayClient

	mu        sync.Mutex
	port      int
	sessions  map[string]*Session // by local session-id
	dialed    map[string]*conn    // reusable outbound connections by scheme+address
	conns     map[*conn]struct{}  // every live connection
	listeners map[net.Listener]struct{}
	closed    bool
	wg        sync.WaitGroup
	done      chan struct{}
	stats     counters
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

// Serve accepts MSRP connections on ln (plain TCP, or a TLS listener for
// msrps) until ctx is cancelled or the endpoint is closed. The listener is
// closed on return.
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
	e.mu.Unlock()

	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer func() {
		e.mu.Lock()
		delete(e.listeners, ln)
		e.mu.Unlock()
		ln.Close()
	}()
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
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("session: accept: %w", err)
		}
		if _, err := e.startConn(nc, ""); err != nil {
			nc.Close()
		}
	}
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
		if usePath, err = e.relay.usePath(ctx); err != nil {
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
// a connection (RFC 4975 section 5.4 allows it; relays depend on it).
func (e *Endpoint) dial(ctx context.Context, u msrp.URI) (*conn, error) {
	key := dialKey(u)
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	if c, ok := e.dialed[key]; ok && !c.isClosed() {
		e.mu.Unlock()
		return c, nil
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
		td := &tls.Dialer{NetDialer: d, Config: cfg}
		nc, err = td.DialContext(ctx, "tcp", u.Addr())
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
		return c, nil
	}
	e.mu.Unlock()
	return e.startConn(nc, key)
}

func dialKey(u msrp.URI) string {
	scheme := "msrp"
	if u.Secure {
		scheme = "msrps"
	}
	return scheme + "://" + u.Addr()
}

func (e *Endpoint) startConn(nc net.Conn, key string) (*conn, error) {
	c := newConn(e, nc, key)
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
}

// Stats is a snapshot for the status endpoint.
type Stats struct {
	Connections      int    `json:"connections"`
	Sessions         int    `json:"sessions"`
	ConnsOpened      uint64 `json:"conns_opened"`
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
}

// Stats returns the current counters.
func (e *Endpoint) Stats() Stats {
	e.mu.Lock()
	nconns, nsessions := len(e.conns), len(e.sessions)
	e.mu.Unlock()
	s := &e.stats
	return Stats{
		Connections: nconns, Sessions: nsessions,
		ConnsOpened: s.connsOpened.Load(), ConnectFailures: s.connectFailures.Load(), SessionsOpened: s.sessionsOpened.Load(),
		MessagesSent: s.messagesSent.Load(), MessagesReceived: s.messagesReceived.Load(),
		ChunksSent: s.chunksSent.Load(), ChunksReceived: s.chunksReceived.Load(),
		BytesSent: s.bytesSent.Load(), BytesReceived: s.bytesReceived.Load(),
		SendFailures: s.sendFailures.Load(), Rejected: s.rejected.Load(),
	}
}
