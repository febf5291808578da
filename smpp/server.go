package smpp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/listener"
)

// SubmitHandler takes the submit_sm that partner ESMEs send to the Server.
type SubmitHandler interface {
	// HandleSubmit hands msg to durable storage and returns the message_id
	// for the submit_sm_resp. The response is written only after it
	// returns, so a partner never holds an acknowledgement for a message
	// that is not stored. An error is answered with StatusOf(err):
	// its SMPPStatus, else ESME_RSYSERR.
	HandleSubmit(ctx context.Context, partner string, msg *Message) (messageID string, err error)
}

// SubmitHandlerFunc adapts a function to SubmitHandler.
type SubmitHandlerFunc func(ctx context.Context, partner string, msg *Message) (string, error)

// HandleSubmit implements SubmitHandler.
func (f SubmitHandlerFunc) HandleSubmit(ctx context.Context, partner string, msg *Message) (string, error) {
	return f(ctx, partner, msg)
}

// DeliverResult is the outcome of a deliver_sm the partner accepted.
type DeliverResult struct {
	Partner string
	// Bind names the bind that carried it (BindStatus.Name).
	Bind string
}

// Server accepts binds from partner ESMEs (SMPP 3.4 2.2, the SMSC end):
// bind_transmitter, bind_receiver and bind_transceiver checked against
// each partner's credentials and bind cap, submit_sm passed to a
// SubmitHandler, and deliver_sm sent toward the partner's receiving binds.
type Server struct {
	cfg ServerConfig
	// ln holds the connections to max_connections and max_per_source
	// and waits out transient accept errors; tap, below it, sees each
	// connection before ln wraps it.
	ln    *listener.Listener
	tap   *acceptTap
	h     SubmitHandler
	log   *slog.Logger
	guard *bindGuard
	stats serverCounters

	bySystemID map[string]*serverPartner
	byName     map[string]*serverPartner

	// refs numbers the messages cut into segments for SMPP 3.3 binds.
	refs atomic.Uint32

	life  lifecycle
	mu    sync.Mutex
	conns map[*serverConn]struct{}
	wg    sync.WaitGroup
}

type serverPartner struct {
	cfg ServerPartner
	// removed is set by SetPartners on a partner that left the
	// configuration: it takes no binds; the binds it has still carry
	// deliver_sm until UnbindPartner (admin.go).
	removed bool
	pwHash  [32]byte
	allowed []netip.Prefix
	binds   []*serverConn // bound, in bind order
	rr      int
}

type serverConn struct {
	s        *session
	remote   string
	src      netip.Addr
	tls      bool
	partner  *serverPartner // set at bind, under Server.mu
	systemID string
	state    stateBox
	counters counters
}

// NewServer checks cfg and returns a server for the connections ln
// accepts. Pass a tls.NewListener for TLS. It starts nothing: call Run.
// The server holds ln to cfg's connection budget (max_connections,
// max_per_source) and never stops on a transient accept error such as
// running out of file descriptors.
// h may be nil when the application that takes the submits is built
// later: set it with SetHandler before Run.
func NewServer(ln net.Listener, cfg ServerConfig, h SubmitHandler, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if ln == nil {
		return nil, errors.New("smpp: NewServer needs a listener")
	}
	cfg = cfg.withDefaults()
	tap := &acceptTap{Listener: ln}
	clog := componentLog(log)
	s := &Server{
		cfg:        cfg,
		ln:         listener.Wrap(tap, listener.Budget{MaxConnections: cfg.MaxConnections, MaxPerSource: cfg.MaxPerSource}, clog),
		tap:        tap,
		h:          h,
		log:        clog,
		bySystemID: map[string]*serverPartner{},
		byName:     map[string]*serverPartner{},
		conns:      map[*serverConn]struct{}{},
	}
	s.life.init()
	s.refs.Store(rand.Uint32())
	s.guard = newBindGuard(realClock{}, cfg.BindBackoffMin, cfg.BindBackoffMax)
	for _, p := range cfg.Partners {
		sp := &serverPartner{cfg: p, pwHash: sha256.Sum256([]byte(p.Password))}
		for _, a := range p.AllowedSources {
			pre, err := parseSource(a) // Validate has checked it
			if err != nil {
				return nil, err
			}
			sp.allowed = append(sp.allowed, pre)
		}
		s.bySystemID[p.SystemID] = sp
		s.byName[p.Name] = sp
	}
	return s, nil
}

// SetHandler sets the handler of submits. Call it before Run: the
// application behind a server is often built after the server, since it
// delivers through it.
func (s *Server) SetHandler(h SubmitHandler) { s.h = h }

// HasReceiver reports whether partner has a bound receiver or
// transceiver here, one that deliver_sm can go to.
func (s *Server) HasReceiver(partner string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.byName[partner]
	if !ok {
		return false
	}
	for _, sc := range p.binds {
		if sc.s.bound().delivers() && !sc.s.isClosing() {
			return true
		}
	}
	return false
}

// Addr is the listener's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run accepts connections until ctx ends or Close is called, then unbinds
// every partner gracefully and returns once all connections are gone. It
// returns nil after a shutdown and the listener's error if accepting fails.
func (s *Server) Run(ctx context.Context) error {
	if s.h == nil {
		return errors.New("smpp: server has no SubmitHandler")
	}
	if err := s.life.begin(); err != nil {
		return err
	}
	defer s.life.end()

	stopped := make(chan struct{})
	acceptDone := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
		case <-s.life.stop:
		case <-acceptDone:
		}
		_ = s.ln.Close()
	}()
	err := s.accept(ctx)
	close(acceptDone)
	<-stopped
	s.shutdown(ctx)
	return err
}

// accept serves connections until the listener closes. The listener
// waits out transient errors itself (listener.Transient), so any error
// here is lasting.
func (s *Server) accept(ctx context.Context) error {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.life.stop:
				return nil
			case <-ctx.Done():
				return nil
			default:
			}
			return fmt.Errorf("smpp: accept: %w", err)
		}
		// Read in the goroutine that called Accept, the only one that
		// calls tap.Accept: the connection ln returned is the last one
		// tap saw.
		s.serve(ctx, nc, s.tap.last)
	}
}

// acceptTap records the connection its Accept returned last, before
// listener.Wrap hides its type: require_tls needs to see a *tls.Conn, and
// the unbind needs its CloseWrite. Only the accept loop calls it.
type acceptTap struct {
	net.Listener
	last net.Conn
}

// Accept implements net.Listener.
func (t *acceptTap) Accept() (net.Conn, error) {
	c, err := t.Listener.Accept()
	t.last = c
	return c, err
}

func (s *Server) serve(ctx context.Context, nc, under net.Conn) {
	sc := &serverConn{remote: nc.RemoteAddr().String(), src: sourceOf(nc.RemoteAddr()), tls: isTLS(under)}
	sc.state.set(StateConnecting)
	log := s.log.With("remote", sc.remote)
	sc.s = newSession(ctx, nc, sessionOpts{
		log:            log,
		maxPDU:         s.cfg.MaxPDULen,
		window:         1,
		inbound:        1,
		inboundCmd:     CmdSubmitSM,
		respTimeout:    s.cfg.ResponseTimeout,
		handlerTimeout: s.cfg.HandlerTimeout,
		handle: func(ctx context.Context, m *Message) (string, error) {
			return s.h.HandleSubmit(ctx, sc.partner.cfg.Name, m)
		},
		bind: func(ss *session, req *pdu.BindRequest) uint32 {
			return s.bind(sc, ss, req)
		},
		// Shown bound only once Deliver can use the bind: a caller that
		// saw "bound" on Status and delivers must not get ErrNoBind.
		bound:      func() { sc.state.set(StateBound) },
		ourID:      s.cfg.SystemID,
		counters:   &sc.counters,
		writeQueue: s.cfg.WriteQueue,
		under:      under,
	})
	s.mu.Lock()
	if s.life.isClosed() {
		s.mu.Unlock()
		sc.s.fail(ErrClosed)
		sc.s.aux.Wait()
		return
	}
	s.conns[sc] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		sc.s.watchdog(s.cfg.BindTimeout, s.cfg.IdleTimeout)
		sc.s.prober(s.cfg.EnquireLink)
		err := sc.s.readLoop()
		s.mu.Lock()
		delete(s.conns, sc)
		if p := sc.partner; p != nil {
			for i, b := range p.binds {
				if b == sc {
					p.binds = append(p.binds[:i], p.binds[i+1:]...)
					break
				}
			}
		}
		s.mu.Unlock()
		sc.state.set(StateClosed)
		if !errors.Is(err, errUnbound) {
			sc.state.setErr(err)
		}
		s.stats.countClose(err)
		log.Info("smpp: connection closed", "system_id", peerString(sc.systemID), "reason", err)
	}()
}

// bind checks a bind request against the partners (SMPP 3.4 4.1). An
// unknown system_id and a wrong password get the same ESME_RINVPASWD,
// after the same constant-time comparison, so the answer does not tell
// which system_ids exist. A source address whose last bind failed waits
// out its back-off first (bindGuard).
func (s *Server) bind(sc *serverConn, ss *session, req *pdu.BindRequest) uint32 {
	log := s.log.With("remote", sc.remote, "system_id", peerString(req.SystemID))
	ctx, cancel := ss.untilDead()
	defer cancel()
	done, waited, err := s.guard.enter(ctx, sc.src)
	if waited > 0 {
		s.stats.bindsDelayed.Add(1)
		log.Debug("smpp: bind held back after failures from its source", "waited", waited)
	}
	if err != nil {
		return StatusBindFail // the connection is closing
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.bySystemID[req.SystemID]
	want := [32]byte{}
	if p != nil {
		want = p.pwHash
	}
	got := sha256.Sum256([]byte(req.Password))
	match := subtle.ConstantTimeCompare(got[:], want[:]) == 1
	status, guarded := StatusOK, true
	switch {
	case p != nil && !allowed(p.allowed, sc.src):
		// Checked before the password, so that a host outside the list
		// learns nothing of it. It does learn that the system_id exists:
		// ESME_RBINDFAIL tells the partner's operator why the bind fails.
		status = StatusBindFail
		s.stats.bindsRefusedSource.Add(1)
	case p == nil || !match:
		status = StatusInvPaswd
	case s.life.isClosed():
		status, guarded = StatusBindFail, false
	case p.cfg.RequireTLS && !sc.tls:
		status = StatusBindFail
	case len(p.binds) >= p.cfg.MaxBinds:
		// The per-partner cap: refused as a failed bind, not
		// ESME_RALYBND, which SMPP 3.4 keeps for a second bind on the
		// same connection. The partner's credentials were right, so
		// its source is not slowed down for it.
		status, guarded = StatusBindFail, false
	}
	done(status != StatusOK && guarded)
	if status != StatusOK {
		s.stats.bindFailures.Add(1)
		if p != nil {
			sc.counters.bindFailures.Add(1)
		}
		log.Warn("smpp: bind refused", "command", CommandName(uint32(req.CommandID)), "status", StatusName(status))
		return status
	}
	ss.setLimits(p.cfg.Window, p.cfg.Window)
	sc.partner, sc.systemID = p, req.SystemID
	p.binds = append(p.binds, sc)
	sc.counters.binds.Add(1)
	ss.opts.log = ss.opts.log.With("partner", p.cfg.Name, "system_id", peerString(req.SystemID))
	log.Info("smpp: bound", "partner", p.cfg.Name, "kind", kindOf(uint32(req.CommandID)).String())
	return StatusOK
}

func isTLS(nc net.Conn) bool {
	_, ok := nc.(*tls.Conn)
	return ok
}

// Stats returns the server's connection and bind counts.
func (s *Server) Stats() ServerStats {
	ls := s.ln.Stats()
	st := s.stats.snapshot()
	st.Open, st.Accepted, st.Refused, st.AcceptErrors = ls.Open, ls.Accepted, ls.Refused, ls.AcceptErrors
	return st
}

// Deliver sends msg as a deliver_sm to one of the partner's receiver or
// transceiver binds, taken in turn, and waits for the deliver_sm_resp. It
// waits for a window slot when the bind has the partner's window full. An
// answer other than ESME_ROK is a *StatusError; ErrConnectionLost and
// ErrResponseTimeout mean the partner may or may not have the message.
func (s *Server) Deliver(ctx context.Context, partner string, msg *Message) (DeliverResult, error) {
	res := DeliverResult{Partner: partner}
	frame, err := AppendMessage(nil, CmdDeliverSM, 0, msg)
	if err != nil {
		return res, err
	}
	for range 8 {
		sc, err := s.pick(partner)
		if err != nil {
			return res, err
		}
		res.Bind = sc.name()
		frames := [][]byte{frame}
		if sc.s.legacy.Load() && len(msg.TLVs) > 0 {
			if frames, err = s.legacyFrames(msg); err != nil {
				return res, err
			}
		}
		for i, f := range frames {
			sent, err := s.deliverOn(ctx, sc, f)
			if !sent && i == 0 && errors.Is(err, ErrClosed) {
				break // that bind went away: take the next
			}
			if err != nil {
				return res, err
			}
			if i == len(frames)-1 {
				return res, nil
			}
		}
	}
	return res, ErrNoBind
}

// legacyFrames encodes msg for an SMPP 3.3 bind (legacyMessages).
func (s *Server) legacyFrames(msg *Message) ([][]byte, error) {
	next := func() (uint16, error) { return uint16(s.refs.Add(1)), nil }
	msgs, err := legacyMessages(msg, next)
	if err != nil {
		return nil, err
	}
	frames := make([][]byte, len(msgs))
	for i, m := range msgs {
		if frames[i], err = AppendMessage(nil, CmdDeliverSM, 0, m); err != nil {
			return nil, err
		}
	}
	return frames, nil
}

// deliverOn sends one deliver_sm on sc and waits for its response. sent
// is false when the frame never left: the bind went away (ErrClosed).
func (s *Server) deliverOn(ctx context.Context, sc *serverConn, frame []byte) (sent bool, err error) {
	win, err := sc.s.acquire(ctx)
	if err != nil {
		return false, err
	}
	c, err := sc.s.send(frame, win, false)
	if err != nil {
		return false, ErrClosed
	}
	sc.counters.sent.Add(1)
	r := sc.s.wait(ctx, c)
	sc.counters.countResult(r.h.Status, r.err)
	switch {
	case r.err != nil:
		return true, fmt.Errorf("smpp: deliver_sm to %s: %w", sc.name(), r.err)
	case r.h.Status != StatusOK:
		return true, &StatusError{Command: r.h.Command, Status: r.h.Status}
	}
	return true, nil
}

// pick returns the partner's next receiving bind, round robin.
func (s *Server) pick(partner string) (*serverConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.life.isClosed() {
		return nil, ErrClosed
	}
	p := s.byName[partner]
	if p == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownPartner, partner)
	}
	for range len(p.binds) {
		p.rr = (p.rr + 1) % len(p.binds)
		sc := p.binds[p.rr]
		if sc.s.bound().delivers() && !sc.s.isClosing() {
			return sc, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrNoBind, partner)
}

func (sc *serverConn) name() string {
	if sc.partner == nil {
		return sc.remote
	}
	return sc.partner.cfg.Name + "/" + sc.remote
}

// Status returns a snapshot of every connection, bound or not yet.
func (s *Server) Status() []BindStatus {
	s.mu.Lock()
	conns := make([]*serverConn, 0, len(s.conns))
	for sc := range s.conns {
		conns = append(conns, sc)
	}
	out := make([]BindStatus, len(conns))
	for i, sc := range conns {
		out[i] = BindStatus{Name: sc.name(), SystemID: sc.systemID, Remote: sc.remote}
		if p := sc.partner; p != nil {
			out[i].Partner = p.cfg.Name
		}
	}
	s.mu.Unlock()
	for i, sc := range conns {
		st := &out[i]
		st.Kind, st.Outstanding, st.Counters = sc.s.bound().String(), sc.s.outstanding(), sc.counters.snapshot()
		sc.state.fill(st)
	}
	return out
}

// Close stops accepting, unbinds every connection gracefully (handlers in
// flight answer first) and waits for them. It is idempotent; it returns
// the listener's close error when Run was never called.
func (s *Server) Close() error {
	first, started := s.life.closeAndWait()
	if first && !started {
		return s.ln.Close()
	}
	return nil
}

// shutdown unbinds every connection and waits for them. After ctx ends
// the unbinds still get the response timeout: WithoutCancel keeps the
// deadline-bound drain from being cut short by the cancellation that
// caused it.
func (s *Server) shutdown(ctx context.Context) {
	s.life.shut() // no new connections or binds
	s.mu.Lock()
	conns := make([]*serverConn, 0, len(s.conns))
	for sc := range s.conns {
		conns = append(conns, sc)
	}
	s.mu.Unlock()
	drain, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ResponseTimeout+s.cfg.HandlerTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, sc := range conns {
		wg.Go(func() { sc.s.unbind(drain) })
	}
	wg.Wait()
	s.wg.Wait()
}
