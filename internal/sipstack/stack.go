// Package sipstack builds the one SIP user agent and server of the IWF
// process (github.com/emiago/sipgo) and owns its sockets: pager registers
// its MESSAGE handler on it, session its INVITE/ACK/BYE/CANCEL handlers, and
// both send requests through its per-transport clients.
//
// Choice: a Stack owned by main, rather than pager building the server,
// because the server is shared. The order is
//
//	st, _ := sipstack.New(cfg, log)  // user agent and server, no socket
//	inbound.RegisterStack(ctx, st)    // pager: MESSAGE
//	sessions.Register(st.Server())    // session: INVITE, ACK, BYE, CANCEL
//	st.Listen()                        // bind: errors show before start
//	st.Run(ctx)                        // serve until ctx ends
//
// sipgo reads its handler table without a lock, so every handler is
// registered before Run.
//
// MESSAGE over UDP skips sipgo's transaction layer (stateless.go): the
// Stack reads the UDP listener before sipgo does and answers those
// requests as a stateless UAS (RFC 3261 section 8.2.7), which saves the
// server transaction sipgo keeps 32 s for each (Timer J), its timers and
// its goroutines. Everything else, and MESSAGE over tcp and tls, takes
// sipgo's path. The Stack itself answers OPTIONS (keep-alive pings
// of SBCs and trunks) and answers every method nobody registered with 405
// and an Allow header (RFC 3261 section 8.2.1).
//
// Requests the IWF originates leave through Client(transport): UDP from
// the listening socket (so the peer sees the advertised port and answers
// to it), TCP and TLS on connections the transport layer opens and reuses.
// Via sent-by carries the advertised address of the listener
// (Listener.Advertise), so the IWF works behind a public address; Contact
// gives the same address to session's INVITEs and their answers (a
// MESSAGE carries no Contact, RFC 3428 section 4).
//
// sipgo's stream transports trust their peers: Serve returns on the first
// Accept error, and an accepted connection has no deadline, stays open
// for good and is read on however many answers are waiting. The Stack
// hands sipgo its tcp and tls listeners guarded (conn.go): transient
// accept errors waited out and a connection budget (internal/listener), a
// deadline for the first request and an idle timeout, a write deadline,
// and a bound on the requests of a connection waiting for their answers.
package sipstack

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"iwf/internal/listener"
)

// The transports a Listener may have.
const (
	UDP = "udp"
	TCP = "tcp"
	TLS = "tls"
)

// Defaults, in one place.
const (
	DefaultUserAgent = "iwf"
	// DefaultMaxConnections and DefaultMaxPerSource cap each tcp and tls
	// listener. A trunk or SBC keeps a handful of connections; the cap
	// per source keeps one host from taking them all.
	DefaultMaxConnections = 4096
	DefaultMaxPerSource   = 256
	// DefaultFirstRequestTimeout closes a connection that sent no whole
	// request by then (a TLS handshake included).
	DefaultFirstRequestTimeout = 10 * time.Second
	// DefaultIdleTimeout closes a connection that sent nothing for that
	// long. Trunks that keep a connection open ping within it (OPTIONS,
	// or the CRLF keep-alive of RFC 5626 section 3.5.1).
	DefaultIdleTimeout = 5 * time.Minute
	// DefaultWriteTimeout closes a connection whose peer reads none of
	// our output for that long.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultMaxPendingRequests bounds the requests of one connection in
	// hand at once. At a few milliseconds each (the store's answer) that
	// still passes tens of thousands of requests a second.
	DefaultMaxPendingRequests = 128
)

// Listener is one socket the IWF receives SIP on.
type Listener struct {
	// Transport is udp, tcp or tls.
	Transport string `yaml:"transport"`
	// Address is the host:port to bind; port 0 picks a free one.
	Address string `yaml:"address"`
	// Advertise is the host or host:port written in Via and Contact,
	// for a public address in front of the IWF (NAT, load balancer);
	// empty means the bound address.
	Advertise string `yaml:"advertise"`
	// CertFile and KeyFile are the PEM certificate and key of a tls
	// listener (unless Config.TLS is set).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Config configures the Stack.
type Config struct {
	// Listen has at most one listener per transport: requests leave by
	// the client of their transport, from that listener's address.
	Listen []Listener `yaml:"listen"`
	// Domain is the host part of the IWF's own URIs (From of the
	// requests it originates); default the first listener's advertised
	// host.
	Domain string `yaml:"domain"`
	// UserAgent goes in User-Agent and Server headers; default "iwf".
	UserAgent string `yaml:"user_agent"`
	// TLS, when set, serves tls listeners instead of their files, and
	// dials tls next hops.
	TLS *tls.Config `yaml:"-"`
	// Budget caps the connections of the tcp listener and, apart, of the
	// tls listener: max_connections in all, max_per_source from one
	// address. Connections over it are closed at once. Zero means no cap.
	Budget listener.Budget `yaml:",inline"`
	// FirstRequestTimeout closes a tcp or tls connection that has not
	// sent a whole SIP message this long after it was accepted; zero
	// takes DefaultFirstRequestTimeout.
	FirstRequestTimeout time.Duration `yaml:"first_request_timeout"`
	// IdleTimeout closes a tcp or tls connection that sent nothing for
	// this long since its last bytes; zero takes DefaultIdleTimeout.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// WriteTimeout closes a tcp or tls connection when one write to it
	// does not complete within it (the peer stopped reading), or when its
	// answers stay stuck at MaxPendingRequests that long; zero takes
	// DefaultWriteTimeout.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// MaxPendingRequests is how many requests of one tcp or tls
	// connection may wait for their final answers; beyond it the
	// connection is not read until answers go out, and closed when none
	// does for WriteTimeout. Zero takes DefaultMaxPendingRequests.
	MaxPendingRequests int `yaml:"max_pending_requests"`
}

// DefaultConfig listens on loopback port 5060 for UDP and TCP.
func DefaultConfig() Config {
	return Config{
		Listen: []Listener{
			{Transport: UDP, Address: "127.0.0.1:5060"},
			{Transport: TCP, Address: "127.0.0.1:5060"},
		},
		UserAgent:           DefaultUserAgent,
		Budget:              listener.Budget{MaxConnections: DefaultMaxConnections, MaxPerSource: DefaultMaxPerSource},
		FirstRequestTimeout: DefaultFirstRequestTimeout,
		IdleTimeout:         DefaultIdleTimeout,
		WriteTimeout:        DefaultWriteTimeout,
		MaxPendingRequests:  DefaultMaxPendingRequests,
	}
}

// withDefaults fills the zero fields that have a default.
func (c Config) withDefaults() Config {
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.MaxPendingRequests == 0 {
		c.MaxPendingRequests = DefaultMaxPendingRequests
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&c.FirstRequestTimeout, DefaultFirstRequestTimeout},
		{&c.IdleTimeout, DefaultIdleTimeout},
		{&c.WriteTimeout, DefaultWriteTimeout},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	return c
}

// Validate checks the configuration; errors are *FieldError joined, named
// by YAML path.
func (c Config) Validate() error {
	var errs []error
	bad := func(path, reason string) { errs = append(errs, fieldError(path, reason)) }
	if len(c.Listen) == 0 {
		bad("listen", "at least one listener is needed")
	}
	seen := map[string]bool{}
	for i, l := range c.Listen {
		p := "listen[" + strconv.Itoa(i) + "]"
		tp := strings.ToLower(l.Transport)
		switch tp {
		case UDP, TCP, TLS:
		default:
			bad(p+".transport", "must be udp, tcp or tls, not "+strconv.Quote(l.Transport))
		}
		if seen[tp] {
			bad(p+".transport", "a second "+tp+" listener: one per transport")
		}
		seen[tp] = true
		if _, _, err := splitHostPort(l.Address, true); err != nil {
			bad(p+".address", err.Error())
		}
		if l.Advertise != "" {
			if _, _, err := splitHostPort(l.Advertise, false); err != nil {
				bad(p+".advertise", err.Error())
			}
		}
		if tp == TLS && c.TLS == nil && (l.CertFile == "" || l.KeyFile == "") {
			bad(p+".cert_file", "a tls listener needs cert_file and key_file")
		}
	}
	if c.Domain != "" && strings.ContainsAny(c.Domain, " :;@<>") {
		bad("domain", "must be a host name, not "+strconv.Quote(c.Domain))
	}
	if c.Budget.MaxConnections < 0 {
		bad("max_connections", "must not be negative")
	}
	if c.Budget.MaxPerSource < 0 {
		bad("max_per_source", "must not be negative")
	}
	if c.MaxPendingRequests < 0 {
		bad("max_pending_requests", "must not be negative")
	}
	for _, d := range []struct {
		path string
		v    time.Duration
	}{
		{"first_request_timeout", c.FirstRequestTimeout},
		{"idle_timeout", c.IdleTimeout},
		{"write_timeout", c.WriteTimeout},
	} {
		if d.v < 0 {
			bad(d.path, "must not be negative")
		}
	}
	return errors.Join(errs...)
}

// splitHostPort reads host:port (needPort) or host[:port].
func splitHostPort(s string, needPort bool) (string, int, error) {
	if s == "" {
		return "", 0, errors.New("empty")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if needPort {
			return "", 0, errors.New("must be host:port")
		}
		return strings.Trim(s, "[]"), 0, nil
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, errors.New("bad port " + strconv.Quote(port))
	}
	return host, p, nil
}

// Stack is the process's SIP user agent, server and listeners.
type Stack struct {
	cfg Config
	log *slog.Logger
	ua  *sipgo.UserAgent
	srv *sipgo.Server

	mu        sync.Mutex
	bound     map[string]*bound
	clients   map[string]*sipgo.Client
	running   bool
	closed    bool
	stop      chan struct{} // closed by Close to end Run
	ready     chan struct{} // closed when Run serves every listener or ends
	readyOnce sync.Once
	done      chan struct{} // closed when Run has cleaned up

	// stateless are the handlers of HandleStatelessUDP, by method.
	stateless map[sip.RequestMethod]StatelessHandler

	// conns are the open tcp and tls connections, by remote address.
	conns connTable
	// listen opens the tcp sockets; tests hand it a failing listener.
	listen func(network, address string) (net.Listener, error)
}

// bound is an open listener.
type bound struct {
	Listener
	transport string
	pc        net.PacketConn
	ln        net.Listener
	stream    *streamListener // ln of tcp and tls
	addr      net.Addr
	advHost   string
	advPort   int
}

// New builds the user agent and server. It opens no socket: register
// handlers on Server, then Listen and Run.
func New(cfg Config, log *slog.Logger) (*Stack, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "sip")
	opts := []sipgo.UserAgentOption{
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)),
	}
	if cfg.TLS != nil {
		opts = append(opts, sipgo.WithUserAgenTLSConfig(cfg.TLS))
	}
	ua, err := sipgo.NewUA(opts...)
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		return nil, errors.Join(err, ua.Close())
	}
	s := &Stack{cfg: cfg, log: log, ua: ua, srv: srv, stop: make(chan struct{}), ready: make(chan struct{}), done: make(chan struct{}), listen: net.Listen}
	// Registered after the transaction layer's, so it runs on the
	// connection's reader like that one, before the next read.
	ua.TransportLayer().OnMessage(s.conns.received)
	srv.OnOptions(s.options)
	srv.OnNoRoute(s.notAllowed)
	return s, nil
}

// Server is the shared sipgo server: register handlers on it before Run.
func (s *Stack) Server() *sipgo.Server { return s.srv }

// UserAgent is the shared sipgo user agent.
func (s *Stack) UserAgent() *sipgo.UserAgent { return s.ua }

// Listen opens every listener, so that bind errors show before Run and
// Addr reports ports picked for port 0. Run calls it when needed.
func (s *Stack) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.bound != nil {
		return nil
	}
	bs := map[string]*bound{}
	closeAll := func() {
		for _, b := range bs {
			b.close()
		}
	}
	for _, l := range s.cfg.Listen {
		b, err := s.open(l)
		if err != nil {
			closeAll()
			return &ListenError{Transport: l.Transport, Address: l.Address, Err: err}
		}
		bs[b.transport] = b
	}
	clients := map[string]*sipgo.Client{}
	for tp, b := range bs {
		opts := []sipgo.ClientOption{
			sipgo.WithClientLogger(s.log),
			sipgo.WithClientHostname(b.advHost),
			sipgo.WithClientPort(b.advPort),
		}
		if tp == UDP {
			// Send from the listening socket: a fresh ephemeral one would
			// put a port in the path that nothing listens on after the
			// transaction.
			// rport (RFC 3581) has the answer sent back to the port the
			// request came from, which a NAT in front may have changed.
			opts = append(opts, sipgo.WithClientConnectionAddr(b.addr.String()), sipgo.WithClientNAT())
		}
		c, err := sipgo.NewClient(s.ua, opts...)
		if err != nil {
			closeAll()
			return err
		}
		clients[tp] = c
	}
	s.bound, s.clients = bs, clients
	return nil
}

func (s *Stack) open(l Listener) (*bound, error) {
	b := &bound{Listener: l, transport: strings.ToLower(l.Transport)}
	var err error
	switch b.transport {
	case UDP:
		b.pc, err = net.ListenPacket("udp", l.Address)
		if err == nil {
			b.addr = b.pc.LocalAddr()
		}
	case TCP:
		var ln net.Listener
		if ln, err = s.listen("tcp", l.Address); err == nil {
			b.stream = s.newStreamListener(TCP, ln, nil)
		}
	case TLS:
		conf := s.cfg.TLS
		if conf == nil {
			cert, cerr := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
			if cerr != nil {
				return nil, cerr
			}
			conf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
		var ln net.Listener
		if ln, err = s.listen("tcp", l.Address); err == nil {
			b.stream = s.newStreamListener(TLS, ln, conf)
		}
	}
	if err != nil {
		return nil, err
	}
	if b.stream != nil {
		b.ln = b.stream
	}
	if b.ln != nil {
		b.addr = b.ln.Addr()
	}
	ap, _ := netip.ParseAddrPort(b.addr.String())
	b.advHost, b.advPort = ap.Addr().Unmap().String(), int(ap.Port())
	if l.Advertise != "" {
		host, port, _ := splitHostPort(l.Advertise, false)
		b.advHost = host
		if port != 0 {
			b.advPort = port
		}
	}
	return b, nil
}

func (b *bound) close() error {
	if b.pc != nil {
		return b.pc.Close()
	}
	return b.ln.Close()
}

// Addr returns the bound address of the transport's listener, nil before
// Listen or without one.
func (s *Stack) Addr(transport string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.bound[strings.ToLower(transport)]; b != nil {
		return b.addr
	}
	return nil
}

// Stats returns the counts of the tcp and tls listeners by transport,
// none before Listen.
func (s *Stack) Stats() map[string]ConnStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]ConnStats, 2)
	for tp, b := range s.bound {
		if b.stream != nil {
			m[tp] = b.stream.stats()
		}
	}
	return m
}

// Client returns the client that sends requests over transport (udp, tcp,
// tls), with the listener's advertised address in Via.
func (s *Stack) Client(transport string) (*sipgo.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	c := s.clients[strings.ToLower(transport)]
	if c == nil {
		return nil, errors.New("sipstack: no " + transport + " listener")
	}
	return c, nil
}

// Contact returns the IWF's contact URI on transport for user (empty for
// none): the advertised host and port, with a transport parameter for tcp
// and tls (RFC 3261 section 19.1.1). It is the zero Uri without such a
// listener.
func (s *Stack) Contact(transport, user string) sip.Uri {
	s.mu.Lock()
	defer s.mu.Unlock()
	tp := strings.ToLower(transport)
	b := s.bound[tp]
	if b == nil {
		return sip.Uri{}
	}
	u := sip.Uri{Scheme: "sip", User: user, Host: b.advHost, Port: b.advPort}
	if tp != UDP {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", tp)
	}
	return u
}

// Domain is the host of the IWF's own URIs: Config.Domain, else the first
// listener's advertised host (after Listen).
func (s *Stack) Domain() string {
	if s.cfg.Domain != "" {
		return s.cfg.Domain
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.cfg.Listen {
		if b := s.bound[strings.ToLower(l.Transport)]; b != nil {
			return b.advHost
		}
	}
	return ""
}

// Run serves every listener until ctx ends or Close is called, then
// closes them and the user agent. A listener that fails ends Run with its
// error.
func (s *Stack) Run(ctx context.Context) error {
	defer s.readyOnce.Do(func() { close(s.ready) })
	if err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.running || s.closed {
		s.mu.Unlock()
		return errors.New("sipstack: Run called twice or after Close")
	}
	s.running = true
	bs := make([]*bound, 0, len(s.bound))
	var udp *statelessConn
	for _, b := range s.bound {
		bs = append(bs, b)
		if uc, ok := b.pc.(*net.UDPConn); ok && len(s.stateless) > 0 {
			udp = newStatelessConn(uc, maps.Clone(s.stateless))
		}
	}
	s.mu.Unlock()
	defer close(s.done)

	errc := make(chan error, len(bs))
	var wg sync.WaitGroup
	for _, b := range bs {
		wg.Go(func() {
			var err error
			switch b.transport {
			case UDP:
				var pc net.PacketConn = b.pc
				if udp != nil {
					pc = udp
				}
				err = s.srv.ServeUDP(pc)
			case TCP:
				err = s.srv.ServeTCP(b.ln)
			case TLS:
				err = s.srv.ServeTLS(b.ln)
			}
			errc <- err
		})
	}
	s.waitServing(bs)
	s.readyOnce.Do(func() { close(s.ready) })
	s.log.Info("sip listening", "listeners", len(bs))
	var runErr error
	select {
	case <-ctx.Done():
	case <-s.stop:
	case err := <-errc:
		if err != nil && !errors.Is(err, net.ErrClosed) {
			runErr = err
		}
	}
	closeErr := s.shutdown(bs)
	wg.Wait()
	if udp != nil {
		// The read loop has ended: no handler starts after this.
		udp.wait()
	}
	return errors.Join(runErr, closeErr)
}

// Ready is closed once Run serves every listener (from then on the UDP
// client sends from the listening socket), or when Run returns.
func (s *Stack) Ready() <-chan struct{} { return s.ready }

// waitServing returns once sipgo has taken the UDP listener into its
// connection pool, which its Serve does first thing in another goroutine:
// a request sent before that would try to bind the listener's address a
// second time. TCP and TLS need no wait: the kernel queues connections
// until Accept.
func (s *Stack) waitServing(bs []*bound) {
	pool := s.ua.TransportLayer().Pool(UDP)
	for _, b := range bs {
		if b.transport != UDP {
			continue
		}
		for {
			if c := pool.Get(b.addr.String()); c != nil {
				c.TryClose() // Get took a reference
				break
			}
			select {
			case <-s.stop:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	}
}

// shutdown closes the listeners and the user agent (its transactions and
// connections).
func (s *Stack) shutdown(bs []*bound) error {
	var errs []error
	for _, b := range bs {
		if err := b.close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.ua.Close())
	return errors.Join(errs...)
}

// Close stops Run and waits for it, or closes what Listen opened when
// Run never started. It is idempotent.
func (s *Stack) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		if s.running {
			<-s.done
		}
		return nil
	}
	s.closed = true
	running := s.running
	bs := make([]*bound, 0, len(s.bound))
	for _, b := range s.bound {
		bs = append(bs, b)
	}
	s.mu.Unlock()
	if running {
		close(s.stop)
		<-s.done
		return nil
	}
	return s.shutdown(bs)
}

// options answers OPTIONS with 200, Allow and Accept (RFC 3261 section
// 11.2): trunks and SBCs ping with it.
func (s *Stack) options(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", s.allow()))
	res.AppendHeader(sip.NewHeader("Accept", "text/plain, message/cpim, application/sdp"))
	s.respond(tx, res)
}

// notAllowed answers a method nobody registered: 405 with the Allow header
// RFC 3261 section 8.2.1 requires.
func (s *Stack) notAllowed(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil)
	res.AppendHeader(sip.NewHeader("Allow", s.allow()))
	s.respond(tx, res)
}

func (s *Stack) allow() string {
	m := s.srv.RegisteredMethods()
	slices.Sort(m)
	return strings.Join(m, ", ")
}

func (s *Stack) respond(tx sip.ServerTransaction, res *sip.Response) {
	res.AppendHeader(sip.NewHeader("Server", s.cfg.UserAgent))
	if err := tx.Respond(res); err != nil {
		s.log.Debug("respond failed", "status", res.StatusCode, "error", err)
	}
}
