// Package listener guards a TCP listener for the daemon's servers (MSRP,
// SIP TCP/TLS, SMPP): its Accept never gives up on a transient error
// (out of descriptors, an aborted handshake) and it holds connections to
// a budget, in all and per source address, closing those beyond it at
// once. The protocols' own deadlines (bind, first request, idle) stay
// with each server.
package listener

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Budget caps a listener's concurrent connections. Zero fields mean no cap.
type Budget struct {
	// MaxConnections caps the connections open at once, all sources
	// together.
	MaxConnections int `yaml:"max_connections"`
	// MaxPerSource caps the connections open at once from one source
	// address.
	MaxPerSource int `yaml:"max_per_source"`
}

// Validate checks b; path prefixes the field names in errors.
func (b Budget) Validate(path string) error {
	var errs []error
	if b.MaxConnections < 0 {
		errs = append(errs, fmt.Errorf("%s.max_connections: %d is negative", path, b.MaxConnections))
	}
	if b.MaxPerSource < 0 {
		errs = append(errs, fmt.Errorf("%s.max_per_source: %d is negative", path, b.MaxPerSource))
	}
	return errors.Join(errs...)
}

// Stats are a listener's counts since it was made.
type Stats struct {
	// Open is the connections open now.
	Open int64 `json:"open"`
	// Accepted counts connections taken; Refused those closed at once
	// for the budget.
	Accepted uint64 `json:"accepted"`
	Refused  uint64 `json:"refused"`
	// AcceptErrors counts transient accept failures waited out.
	AcceptErrors uint64 `json:"accept_errors"`
}

// Listener is a net.Listener under a Budget. It is safe for concurrent
// use.
type Listener struct {
	net.Listener
	budget Budget
	log    *slog.Logger
	// sleep waits out a transient error; tests replace it.
	sleep func(time.Duration, <-chan struct{})

	closed   chan struct{}
	closeErr error
	once     sync.Once

	mu       sync.Mutex
	open     int64
	bySource map[netip.Addr]int

	accepted, refused, acceptErrors atomic.Uint64
}

// Wrap guards ln. log receives a warning per transient error.
func Wrap(ln net.Listener, b Budget, log *slog.Logger) *Listener {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Listener{
		Listener: ln, budget: b, log: log,
		sleep:    sleepOrClose,
		closed:   make(chan struct{}),
		bySource: make(map[netip.Addr]int),
	}
}

func sleepOrClose(d time.Duration, closed <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-closed:
	}
}

// maxDelay bounds the wait between accepts after transient errors.
const maxDelay = time.Second

// Accept waits for the next connection within the budget. Transient
// errors are waited out, with a delay that doubles from 5 ms up to a
// second, as net/http's server does; a connection over the budget is
// closed at once and counted. It returns an error only when the listener
// is closed or fails for good.
func (l *Listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case <-l.closed:
				return nil, net.ErrClosed
			default:
			}
			if !Transient(err) {
				return nil, err
			}
			l.acceptErrors.Add(1)
			delay = min(max(2*delay, 5*time.Millisecond), maxDelay)
			l.log.Warn("accept", "addr", l.Addr().String(), "error", err, "retry_in", delay)
			l.sleep(delay, l.closed)
			continue
		}
		delay = 0
		src := sourceOf(c.RemoteAddr())
		if !l.take(src) {
			l.refused.Add(1)
			l.log.Debug("connection over budget", "addr", l.Addr().String(), "remote", c.RemoteAddr().String())
			_ = c.Close()
			continue
		}
		l.accepted.Add(1)
		return &conn{Conn: c, release: func() { l.give(src) }}, nil
	}
}

// Close stops Accept and closes the listener; it is idempotent.
func (l *Listener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		l.closeErr = l.Listener.Close()
	})
	return l.closeErr
}

// Stats returns the counts.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	open := l.open
	l.mu.Unlock()
	return Stats{Open: open, Accepted: l.accepted.Load(), Refused: l.refused.Load(), AcceptErrors: l.acceptErrors.Load()}
}

func (l *Listener) take(src netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.budget.MaxConnections; b > 0 && l.open >= int64(b) {
		return false
	}
	if b := l.budget.MaxPerSource; b > 0 && l.bySource[src] >= b {
		return false
	}
	l.open++
	l.bySource[src]++
	return true
}

func (l *Listener) give(src netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.bySource[src]--; l.bySource[src] <= 0 {
		delete(l.bySource, src)
	}
}

// sourceOf is the address a connection comes from; connections of one
// host share it whatever their port.
func sourceOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// Transient reports whether an accept error passes: the process or the
// system is out of descriptors or memory for a moment, or a peer gave up
// during the handshake. Such errors must never stop a server.
func Transient(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EPROTO, syscall.EAGAIN, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// conn gives its budget back when closed, once.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

// NetConn returns the connection accepted, for code that needs its
// concrete type (CloseWrite on a *net.TCPConn), as crypto/tls's Conn does.
func (c *conn) NetConn() net.Conn { return c.Conn }

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
