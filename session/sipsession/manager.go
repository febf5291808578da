package sipsession

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"iwf/session"
)

// Manager opens and answers the INVITE dialogs of MSRP sessions on a
// shared sipgo server and keeps the table of live calls.
type Manager struct {
	cfg Config
	log *slog.Logger

	ctx    context.Context // ends with Close: the root of our own work
	cancel context.CancelFunc

	mu     sync.Mutex
	calls  map[string]*Call // by dialog ID
	closed bool
	wg     sync.WaitGroup
	// admitted counts the incoming calls admitted and not yet ended, in
	// all and by source address, against Config.Limits; under mu.
	admitted int
	bySource map[netip.Addr]int

	forbidden, busy, overloaded atomic.Uint64

	// srv is the shared server, for our Allow header; set by Register.
	srv       *sipgo.Server
	allowOnce sync.Once
	allow     string
}

// New checks cfg and returns a Manager. It starts nothing: Register its
// handlers on the server before serving.
func New(cfg Config) (*Manager, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "sip"),
		ctx:      ctx,
		cancel:   cancel,
		calls:    make(map[string]*Call),
		bySource: make(map[netip.Addr]int),
	}, nil
}

// Handler is the application behind a Manager: it takes the calls the
// far side opens and, when set, the messages of every call (see
// Config.OnIncoming and Config.OnMessage for the contract).
type Handler interface {
	Incoming(c *Call) error
	Message(ctx context.Context, c *Call, m *session.Message) error
}

// SetHandler makes h the OnIncoming and OnMessage of the Manager. The
// application is usually built after the Manager, since it opens calls
// through it; call SetHandler before Register, as the handlers are read
// without a lock.
func (m *Manager) SetHandler(h Handler) {
	m.cfg.OnIncoming = h.Incoming
	m.cfg.OnMessage = h.Message
}

// Register adds the INVITE, ACK, BYE, CANCEL and UPDATE handlers to srv,
// the process's one server. Call it before the server serves: sipgo reads
// its handler table without a lock. OPTIONS and the rest stay with
// whoever owns the server.
func (m *Manager) Register(srv *sipgo.Server) {
	m.srv = srv
	srv.OnInvite(m.onInvite)
	srv.OnUpdate(m.onUpdate)
	// Without an ACK handler sipgo answers the ACK of our 2xx with 405.
	srv.OnAck(m.onAck)
	srv.OnBye(m.onBye)
	srv.OnCancel(m.onCancel)
}

// Calls returns the number of live calls.
func (m *Manager) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.calls)
}

// Stats are a Manager's counts of calls and refused INVITEs.
type Stats struct {
	// Calls is the live calls; Incoming the incoming ones admitted and
	// not yet ended, those still being answered included.
	Calls    int `json:"calls"`
	Incoming int `json:"incoming"`
	// Forbidden counts INVITEs Config.Allow refused (403), Busy those
	// over Limits.MaxIncomingPerSource (486), Overloaded those over
	// Limits.MaxIncoming (503).
	Forbidden  uint64 `json:"forbidden"`
	Busy       uint64 `json:"busy"`
	Overloaded uint64 `json:"overloaded"`
}

// Stats returns the counts, for the status endpoint.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	calls, incoming := len(m.calls), m.admitted
	m.mu.Unlock()
	return Stats{
		Calls: calls, Incoming: incoming,
		Forbidden: m.forbidden.Load(), Busy: m.busy.Load(), Overloaded: m.overloaded.Load(),
	}
}

// admit takes a place for an incoming call from src under Config.Limits.
// It returns the function that gives the place back (idempotent), or the
// status that refuses the INVITE: 503 over the cap in all, 486 over the
// cap of its source.
func (m *Manager) admit(src netip.Addr) (release func(), status int) {
	l := m.cfg.Limits
	m.mu.Lock()
	defer m.mu.Unlock()
	if l.MaxIncoming > 0 && m.admitted >= l.MaxIncoming {
		m.overloaded.Add(1)
		return nil, 503
	}
	if l.MaxIncomingPerSource > 0 && m.bySource[src] >= l.MaxIncomingPerSource {
		m.busy.Add(1)
		return nil, 486
	}
	m.admitted++
	m.bySource[src]++
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.admitted--
			if m.bySource[src]--; m.bySource[src] <= 0 {
				delete(m.bySource, src)
			}
		})
	}, 0
}

// sourceOf is the address a request came from; requests of one host
// share it whatever their port.
func sourceOf(req *sip.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// Close ends every call (BYE) and waits for the goroutines of the
// Manager, including handlers in flight. New calls are refused from then on.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	calls := make([]*Call, 0, len(m.calls))
	for _, c := range m.calls {
		calls = append(calls, c)
	}
	m.mu.Unlock()
	var errs []error
	for _, c := range calls {
		errs = append(errs, c.hangup(ctx, ReasonShutdown))
	}
	m.cancel()
	m.wg.Wait()
	return errors.Join(errs...)
}

// enter counts a handler or Open in flight; false once closed.
func (m *Manager) enter() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.wg.Add(1)
	return true
}

// spawn runs f on a goroutine counted by Close, with the Manager's
// context; it does nothing once closed.
func (m *Manager) spawn(f func(ctx context.Context)) {
	if !m.enter() {
		return
	}
	go func() {
		defer m.wg.Done()
		f(m.ctx)
	}()
}

// remember adds an established (or answering) call to the table.
func (m *Manager) remember(c *Call) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.calls[c.dialogID] = c
	return nil
}

func (m *Manager) forget(c *Call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls[c.dialogID] == c {
		delete(m.calls, c.dialogID)
	}
}

// match finds the call of an in-dialog request from the peer. Our dialog
// IDs are Call-ID + local tag + remote tag as sipgo makes them: an
// incoming call's local tag is the request's To tag (UAS), an outgoing
// call's is the From tag of our INVITE, which the peer's requests carry
// in To as well; sipgo orders the tags differently for the two roles, so
// both IDs are tried.
func (m *Manager) match(req *sip.Request) *Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, err := sip.DialogIDFromRequestUAS(req); err == nil {
		if c := m.calls[id]; c != nil && c.dir == Incoming {
			return c
		}
	}
	if id, err := sip.DialogIDFromRequestUAC(req); err == nil {
		if c := m.calls[id]; c != nil && c.dir == Outgoing {
			return c
		}
	}
	return nil
}

// onAck takes the ACK of a 2xx to an INVITE or re-INVITE (RFC 3261
// section 13.3.1.4) to the answer waiting for it. An ACK matches no
// transaction and needs no response; one for an unknown dialog is
// dropped.
func (m *Manager) onAck(req *sip.Request, tx sip.ServerTransaction) {
	if !m.enter() {
		return
	}
	defer m.wg.Done()
	if c := m.match(req); c != nil {
		c.takeAck(req)
	}
}

// inDialog admits a request within a dialog: the Manager open, its
// Require understood (420 otherwise), its dialog known (481 otherwise).
// It returns the call and the done to defer, or nil once answered.
func (m *Manager) inDialog(req *sip.Request, tx sip.ServerTransaction) (*Call, func()) {
	if !m.enter() {
		m.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return nil, nil
	}
	if !m.requireOK(req, tx) {
		m.wg.Done()
		return nil, nil
	}
	c := m.match(req)
	if c == nil {
		m.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		m.wg.Done()
		return nil, nil
	}
	return c, m.wg.Done
}

// onBye ends the call the BYE names (RFC 3261 section 15.1.2): 200, then
// the MSRP session closed; 481 for an unknown dialog.
func (m *Manager) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c, done := m.inDialog(req, tx)
	if c == nil {
		return
	}
	defer done()
	// Claimed before the 200: the peer closes its MSRP connection as soon
	// as it has the answer, and that loss must not end the call first as
	// msrp-lost.
	claimed := c.claim()
	var err error
	if c.uas != nil {
		err = c.uas.ReadBye(req, tx)
	} else {
		err = c.uac.ReadBye(req, tx)
	}
	if err != nil {
		c.log.Debug("bye", "error", err)
	}
	if claimed {
		c.finish(ReasonPeerBye, nil)
	}
}

// onCancel answers a CANCEL that matched no INVITE transaction (sipgo's
// transaction layer answers the others itself with 200, and the INVITE
// with 487): 481 (RFC 3261 section 9.2).
func (m *Manager) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	m.respond(tx, req, 481, "Call/Transaction Does Not Exist")
}

// respond sends a response outside a dialog, with Server and, for 488,
// the Warning.
func (m *Manager) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, headers ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	res.AppendHeader(sip.NewHeader("Server", m.cfg.UserAgent))
	for _, h := range headers {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		m.log.Debug("respond failed", "status", code, "call_id", callIDOf(req), "error", err)
	}
}

func callIDOf(req *sip.Request) string {
	if h := req.CallID(); h != nil {
		return h.Value()
	}
	return ""
}
