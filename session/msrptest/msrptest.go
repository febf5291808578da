// Package msrptest starts MSRP endpoints and a test relay on loopback for
// tests, in the style of net/http/httptest.
package msrptest

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"iwf/internal/listener"
	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrp"
)

// NewEndpoint starts a session.Endpoint serving on 127.0.0.1:0, closed
// when the test ends. cfg.Host defaults to 127.0.0.1. The listener is
// wrapped with cfg.Budget, as the daemon wraps its own.
func NewEndpoint(t testing.TB, cfg session.Config) *session.Endpoint {
	t.Helper()
	return newEndpoint(t, cfg)
}

// NewTLSEndpoint is NewEndpoint for msrps: the listener is TLS with
// tlsCfg, which also makes the endpoint's URIs msrps, its a=fingerprint
// and its client configuration. With tlsCfg.ClientAuth
// tls.RequestClientCert, as the daemon sets it, the certificate of a peer
// that connects is checked against its a=fingerprint.
func NewTLSEndpoint(t testing.TB, cfg session.Config, tlsCfg *tls.Config) *session.Endpoint {
	t.Helper()
	cfg.Secure, cfg.TLS = true, tlsCfg
	return newEndpoint(t, cfg)
}

func newEndpoint(t testing.TB, cfg session.Config) *session.Endpoint {
	t.Helper()
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Logger == nil {
		cfg.Logger = testutil.Logger(t)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Port = ln.Addr().(*net.TCPAddr).Port
	ep, err := session.NewEndpoint(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	var inner net.Listener = ln
	if cfg.Secure {
		inner = tls.NewListener(ln, cfg.TLS)
	}
	guarded := listener.Wrap(inner, cfg.Budget, cfg.Logger)
	go func() { served <- ep.Serve(ctx, guarded) }()
	t.Cleanup(func() {
		cancel()
		if err := ep.Close(); err != nil {
			t.Errorf("endpoint close: %v", err)
		}
		// A test as short as its set-up may close the endpoint before
		// Serve ran: then Serve finds it closed, which is no failure.
		if err := <-served; err != nil && !errors.Is(err, session.ErrClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return ep
}

// Peer is a raw MSRP connection for tests that must put exact frames on
// the wire (out-of-order chunks, bad requests).
type Peer struct {
	Conn net.Conn
	r    *msrp.Reader
	in   *readErrs
}

// readErrs keeps the last read error of a connection, which the MSRP
// reader reports only as text when it cuts a frame.
type readErrs struct {
	net.Conn
	last error
}

func (r *readErrs) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	if err != nil {
		r.last = err
	}
	return n, err
}

// Dial connects a raw peer to addr.
func Dial(t testing.TB, addr string) *Peer {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	in := &readErrs{Conn: nc}
	return &Peer{Conn: nc, r: msrp.NewReader(in, msrp.Limits{}), in: in}
}

// Write serializes f and writes it.
func (p *Peer) Write(t testing.TB, f *msrp.Frame) {
	t.Helper()
	buf, err := msrp.AppendFrame(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Conn.Write(buf); err != nil {
		t.Fatal(err)
	}
}

// Read reads the next frame.
func (p *Peer) Read(t testing.TB) *msrp.Frame {
	t.Helper()
	f, err := p.Next()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Next reads the next frame. When the stream ended it returns the read
// error that ended it (io.EOF or a reset when the endpoint closed the
// connection, a timeout at the read deadline) rather than the parse
// error of a cut frame.
func (p *Peer) Next() (*msrp.Frame, error) {
	f := new(msrp.Frame)
	if err := p.r.ReadFrame(f); err != nil {
		if p.in.last != nil {
			return nil, p.in.last
		}
		return nil, err
	}
	return f, nil
}

// AwaitClose reads until the endpoint closes the connection and returns
// the frames that came before. It fails the test when a frame does not
// parse or nothing ends the connection within testutil.WaitTimeout (a
// guard, not a measure).
func (p *Peer) AwaitClose(t testing.TB) []*msrp.Frame {
	t.Helper()
	_ = p.Conn.SetReadDeadline(time.Now().Add(testutil.WaitTimeout))
	var frames []*msrp.Frame
	for {
		f, err := p.Next()
		var ne net.Error
		switch {
		case err == nil:
			frames = append(frames, f)
			continue
		case errors.As(err, &ne) && ne.Timeout():
			t.Fatalf("connection still open after %v; got %d frames", testutil.WaitTimeout, len(frames))
		case p.in.last == nil:
			t.Fatalf("after %d frames: %v", len(frames), err)
		}
		// Closed: io.EOF, or a reset when unread input was left.
		return frames
	}
}

// RelayOptions configure the test relay.
type RelayOptions struct {
	Realm    string
	Username string
	Password string
	// MinExpires makes the relay answer 423 with Min-Expires below it,
	// MaxExpires 423 with Max-Expires above it (RFC 4976 section 5.1).
	MinExpires uint32
	MaxExpires uint32
	// BoundsFirst checks Expires before credentials, so that a 423 may
	// come before the digest challenge.
	BoundsFirst bool
}

// Relay is the AUTH side of an RFC 4976 relay: it challenges with digest,
// checks credentials, enforces Min-Expires and Max-Expires and grants a
// Use-Path.
type Relay struct {
	URI  msrp.URI
	opts RelayOptions
	ln   net.Listener
	wg   sync.WaitGroup

	mu        sync.Mutex
	nonces    map[string]bool
	conns     map[net.Conn]struct{}
	attempts  []msrp.Frame // every AUTH received, in order
	forwarded []msrp.Frame // every SEND received
	auths     chan msrp.Frame
}

// AuthRequests delivers each AUTH request as it arrives (buffered, 64).
func (r *Relay) AuthRequests() <-chan msrp.Frame { return r.auths }

// Forwarded returns the SEND requests the relay received.
func (r *Relay) Forwarded() []msrp.Frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]msrp.Frame(nil), r.forwarded...)
}

// Attempts returns the AUTH requests received so far.
func (r *Relay) Attempts() []msrp.Frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]msrp.Frame(nil), r.attempts...)
}

// NewRelay starts a relay on 127.0.0.1:0.
func NewRelay(t testing.TB, opts RelayOptions) *Relay {
	t.Helper()
	if opts.Realm == "" {
		opts.Realm = "relay.test"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{
		URI:    msrp.URI{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Transport: "tcp"},
		opts:   opts,
		ln:     ln,
		nonces: make(map[string]bool),
		conns:  make(map[net.Conn]struct{}),
		auths:  make(chan msrp.Frame, 64),
	}
	r.wg.Add(1)
	go r.serve()
	t.Cleanup(r.Close)
	return r
}

// Close stops the relay and waits for its goroutines.
func (r *Relay) Close() {
	r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// DropConnections closes every connection the relay has accepted, as a
// relay that restarts or a network that fails would; the listener stays.
func (r *Relay) DropConnections() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		c.Close()
	}
}

func (r *Relay) serve() {
	defer r.wg.Done()
	for {
		nc, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.conns[nc] = struct{}{}
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer func() {
				nc.Close()
				r.mu.Lock()
				delete(r.conns, nc)
				r.mu.Unlock()
			}()
			r.handle(nc)
		}()
	}
}

func (r *Relay) handle(nc net.Conn) {
	rd := msrp.NewReader(nc, msrp.Limits{})
	for {
		var f msrp.Frame
		if err := rd.ReadFrame(&f); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, msrp.ErrFraming) {
				return
			}
			continue
		}
		if f.Method == msrp.MethodSEND {
			// Record what would be forwarded and accept it for the hop.
			r.mu.Lock()
			r.forwarded = append(r.forwarded, f)
			r.mu.Unlock()
			r.reply(nc, &f, 200, "OK", nil)
			continue
		}
		if f.Method != msrp.MethodAUTH {
			r.reply(nc, &f, 403, "Forbidden", nil)
			continue
		}
		r.mu.Lock()
		r.attempts = append(r.attempts, f)
		r.mu.Unlock()
		select {
		case r.auths <- f:
		default:
		}
		if r.opts.BoundsFirst && r.outOfBounds(nc, &f) {
			continue
		}
		if f.Authorization == "" {
			nonce := msrp.NewID()
			r.mu.Lock()
			r.nonces[nonce] = true
			r.mu.Unlock()
			r.reply(nc, &f, 401, "Unauthorized", func(resp *msrp.Frame) {
				resp.WWWAuthenticate = `Digest realm="` + r.opts.Realm + `", nonce="` + nonce + `", qop="auth"`
			})
			continue
		}
		user, nonce, ok := session.VerifyDigest(f.Authorization, r.opts.Password, msrp.MethodAUTH)
		r.mu.Lock()
		known := r.nonces[nonce]
		r.mu.Unlock()
		if !ok || !known || user != r.opts.Username {
			r.reply(nc, &f, 403, "Forbidden", nil)
			continue
		}
		if r.outOfBounds(nc, &f) {
			continue
		}
		use := r.URI
		use.SessionID = msrp.NewID()
		r.reply(nc, &f, 200, "OK", func(resp *msrp.Frame) {
			resp.UsePath = use.String()
			resp.Expires = f.Expires
		})
	}
}

// outOfBounds answers 423 to an AUTH whose Expires is outside
// MinExpires..MaxExpires, naming the bound crossed (RFC 4976 section 5.1).
func (r *Relay) outOfBounds(nc net.Conn, f *msrp.Frame) bool {
	switch {
	case f.Expires.Set && f.Expires.Value < r.opts.MinExpires:
		r.reply(nc, f, 423, "Interval Out-of-Bounds", func(resp *msrp.Frame) {
			resp.MinExpires = msrp.Seconds{Value: r.opts.MinExpires, Set: true}
		})
	case f.Expires.Set && r.opts.MaxExpires != 0 && f.Expires.Value > r.opts.MaxExpires:
		r.reply(nc, f, 423, "Interval Out-of-Bounds", func(resp *msrp.Frame) {
			resp.MaxExpires = msrp.Seconds{Value: r.opts.MaxExpires, Set: true}
		})
	default:
		return false
	}
	return true
}

func (r *Relay) reply(nc net.Conn, req *msrp.Frame, code int, comment string, edit func(*msrp.Frame)) {
	resp := msrp.Frame{TransactionID: req.TransactionID, StatusCode: code, Comment: comment,
		ToPath: req.FromPath, FromPath: r.URI.String()}
	if edit != nil {
		edit(&resp)
	}
	buf, err := msrp.AppendFrame(nil, &resp)
	if err == nil {
		_, _ = nc.Write(buf)
	}
}
