// Package iwftest plays the outer ends of the IWF in tests, on loopback:
// an RCS core that answers INVITEs and collects the MSRP messages of
// every session, and a partner ESME (gosmpp's own client session) that
// submits and receives over SMPP.
package iwftest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/linxGnu/gosmpp"
	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/cpim"
	"iwf/internal/sipstack"
	"iwf/internal/sipstack/sipstacktest"
	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrptest"
	"iwf/session/sipsession"
)

// Wait bounds every wait of this package.
const Wait = 20 * time.Second

// Received is a message the RCS side got.
type Received struct {
	Call *sipsession.Call
	// ID is the MSRP Message-ID.
	ID   string
	Text string
	// CPIM is the parsed body when it was message/cpim.
	CPIM *cpim.Message
}

// PagerReceived is a MESSAGE the RCS side got (and answered 202).
type PagerReceived struct {
	Request *sip.Request
	// CPIM is the parsed body when it was message/cpim.
	CPIM *cpim.Message
}

// RCS plays the RCS network: it answers INVITEs (or refuses them with
// Refuse) and collects the messages of every session on Msgs, and the
// pager-mode MESSAGEs on Pager.
type RCS struct {
	Stack   *sipstack.Stack
	Manager *sipsession.Manager
	// Calls receives every accepted call, Msgs every message.
	Calls chan *sipsession.Call
	Msgs  chan Received
	// Pager receives every MESSAGE.
	Pager chan PagerReceived
	// Refuse, when not 0, answers every INVITE with that status.
	Refuse int
	// Hold, when set before INVITEs come, keeps them unanswered until it
	// is closed; Held receives one value per INVITE held.
	Hold chan struct{}
	Held chan struct{}

	mu sync.Mutex
	// down, when not 0, is the status INVITEs get while the core is down.
	down int
	// live are the calls accepted and not yet ended.
	live map[*sipsession.Call]struct{}
	// invites holds the last INVITE of each Call-ID.
	invites map[string]*sip.Request
}

// StartRCS starts an RCS side on 127.0.0.1, stopped when the test ends.
func StartRCS(t testing.TB, refuse int) *RCS {
	t.Helper()
	return startRCS(t, refuse, "127.0.0.1")
}

// StartRCSOn starts an RCS side on another loopback address (a source no
// trunk allows, say).
func StartRCSOn(t testing.TB, ip string) *RCS {
	t.Helper()
	return startRCS(t, 0, ip)
}

func startRCS(t testing.TB, refuse int, ip string) *RCS {
	t.Helper()
	r := &RCS{
		Calls: make(chan *sipsession.Call, 64), Msgs: make(chan Received, 1<<16), Refuse: refuse, Held: make(chan struct{}, 64),
		Pager: make(chan PagerReceived, 1024),
		live:  make(map[*sipsession.Call]struct{}), invites: make(map[string]*sip.Request),
	}
	ep := msrptest.NewEndpoint(t, session.Config{Host: ip})
	r.Stack = sipstacktest.StartOn(t, ip, func(st *sipstack.Stack, srv *sipgo.Server) {
		m, err := sipsession.New(sipsession.Config{
			Stack: st, Endpoint: ep, Logger: testutil.Logger(t), AckTimeout: 2 * time.Second,
			OnIncoming: r.incoming,
			// Asked about every INVITE before OnIncoming: where the test
			// core keeps the headers the call does not expose.
			Partner: r.recordInvite,
		})
		if err != nil {
			t.Fatal(err)
		}
		m.Register(srv)
		srv.OnMessage(r.message)
		r.Manager = m
	})
	t.Cleanup(func() { _ = r.Manager.Close(context.Background()) })
	return r
}

// Down takes the RCS core down: INVITEs are refused with status (503,
// say) until Up, and every call it holds is hung up with a BYE, which
// ends its MSRP session. It returns the calls' hang-up errors joined.
func (r *RCS) Down(ctx context.Context, status int) error {
	r.mu.Lock()
	r.down = status
	calls := make([]*sipsession.Call, 0, len(r.live))
	for c := range r.live {
		calls = append(calls, c)
	}
	r.mu.Unlock()
	var errs []error
	for _, c := range calls {
		errs = append(errs, c.Close(ctx))
	}
	return errors.Join(errs...)
}

// Up brings the RCS core back after Down: INVITEs are answered again.
func (r *RCS) Up() {
	r.mu.Lock()
	r.down = 0
	r.mu.Unlock()
}

func (r *RCS) incoming(c *sipsession.Call) error {
	if r.Refuse != 0 {
		return sipsession.Reject(r.Refuse, "refused by test")
	}
	if r.Hold != nil {
		r.Held <- struct{}{}
		select {
		case <-r.Hold:
		case <-c.Context().Done():
			return sipsession.Reject(487, "cancelled")
		}
	}
	// Checked and registered under one lock, so that Down hangs up every
	// call it did not refuse.
	r.mu.Lock()
	if r.down != 0 {
		status := r.down
		r.mu.Unlock()
		return sipsession.Reject(status, "rcs core down")
	}
	r.live[c] = struct{}{}
	r.mu.Unlock()
	r.Calls <- c
	go func() {
		defer func() {
			r.mu.Lock()
			delete(r.live, c)
			r.mu.Unlock()
		}()
		for ev := range c.Events() {
			if ev.Kind != sipsession.EventMessage {
				continue
			}
			rc := Received{Call: c, ID: ev.Message.ID, Text: string(ev.Message.Body)}
			if strings.HasPrefix(ev.Message.ContentType, "message/cpim") {
				if cm, err := cpim.Parse(ev.Message.Body); err == nil {
					rc.CPIM, rc.Text = cm, string(cm.Body)
				}
			}
			r.Msgs <- rc
		}
	}()
	return nil
}

func (r *RCS) recordInvite(req *sip.Request) string {
	if cid := req.CallID(); cid != nil {
		r.mu.Lock()
		r.invites[cid.Value()] = req.Clone()
		r.mu.Unlock()
	}
	return ""
}

// InviteHeader returns the value of the header name in the last INVITE
// of the call callID, "" when it had none.
func (r *RCS) InviteHeader(callID, name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	req, ok := r.invites[callID]
	if !ok {
		return ""
	}
	if h := req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

func (r *RCS) message(req *sip.Request, tx sip.ServerTransaction) {
	pr := PagerReceived{Request: req.Clone()}
	if ct := req.ContentType(); ct != nil && strings.HasPrefix(strings.ToLower(ct.Value()), "message/cpim") {
		if cm, err := cpim.Parse(req.Body()); err == nil {
			pr.CPIM = cm
		}
	}
	r.Pager <- pr
	_ = tx.Respond(sip.NewResponseFromRequest(req, 202, "Accepted", nil))
}

// NextPager returns the next MESSAGE, failing the test after Wait.
func (r *RCS) NextPager(t testing.TB) PagerReceived {
	t.Helper()
	return await(t, r.Pager, "the RCS side got no MESSAGE")
}

// TCP is the RCS side's SIP address over TCP, for a trunk's next hop.
func (r *RCS) TCP() string { return r.Stack.Addr("tcp").String() }

// Next returns the next message, failing the test after Wait.
func (r *RCS) Next(t testing.TB) Received {
	t.Helper()
	return await(t, r.Msgs, "the RCS side received nothing")
}

// ESME is a partner ESME bound as a transceiver.
type ESME struct {
	Session *gosmpp.Session
	pdus    chan pdu.PDU
	// held are PDUs NextResp passed over, for Next.
	held   []pdu.PDU
	txOnly bool
}

// ESMEOptions tune BindESMEWith.
type ESMEOptions struct {
	// Transmitter binds a transmitter, which submits and receives
	// nothing; the default is a transceiver.
	Transmitter bool
	// Receiver binds a receiver, which only takes deliver_sm.
	Receiver bool
	// Answer decides the deliver_sm_resp of each deliver_sm: its
	// command_status, or none at all when answer is false (a partner
	// that is throttling, failing or hanging). It is called from gosmpp's
	// reading goroutine. Nil answers every one ESME_ROK.
	Answer func(*pdu.DeliverSM) (status data.CommandStatusType, answer bool)
}

// BindESME binds a transceiver to the SMPP server at addr. It answers
// deliver_sm (receipts and messages) and collects them with the
// submit_sm_resp PDUs for Next.
func BindESME(t testing.TB, addr, systemID, password string) *ESME {
	t.Helper()
	return BindESMEWith(t, addr, systemID, password, ESMEOptions{})
}

// BindTransmitter binds a transmitter: it submits and receives nothing.
func BindTransmitter(t testing.TB, addr, systemID, password string) *ESME {
	t.Helper()
	return BindESMEWith(t, addr, systemID, password, ESMEOptions{Transmitter: true})
}

// BindESMEWith binds as BindESME does, tuned by opts. Every deliver_sm
// goes to Next, the ones it refused or left unanswered too.
func BindESMEWith(t testing.TB, addr, systemID, password string, opts ESMEOptions) *ESME {
	t.Helper()
	txOnly := opts.Transmitter
	e := &ESME{pdus: make(chan pdu.PDU, 1<<16), txOnly: txOnly}
	settings := gosmpp.Settings{
		ReadTimeout: 10 * time.Second,
		// OnAllPDU, not OnPDU: gosmpp's OnPDU answers deliver_sm before
		// the application sees it (LIBRARIES.md).
		OnAllPDU: func(q pdu.PDU) (pdu.PDU, bool) {
			switch d := q.(type) {
			case *pdu.DeliverSM:
				e.pdus <- q
				if opts.Answer == nil {
					return q.GetResponse(), false
				}
				status, answer := opts.Answer(d)
				if !answer {
					return nil, false
				}
				r := d.GetResponse()
				r.(*pdu.DeliverSMResp).CommandStatus = status
				return r, false
			case *pdu.SubmitSMResp:
				e.pdus <- q
			case *pdu.EnquireLink:
				return q.GetResponse(), false
			case *pdu.Unbind:
				return q.GetResponse(), true
			}
			return nil, false
		},
	}
	auth := gosmpp.Auth{SMSC: addr, SystemID: systemID, Password: password}
	conn := gosmpp.TRXConnector(gosmpp.NonTLSDialer, auth)
	switch {
	case txOnly:
		conn = gosmpp.TXConnector(gosmpp.NonTLSDialer, auth)
	case opts.Receiver:
		conn = gosmpp.RXConnector(gosmpp.NonTLSDialer, auth)
	}
	sess, err := gosmpp.NewSession(conn, settings, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	e.Session = sess
	return e
}

// Submit sends a GSM-7 submit_sm asking for a delivery receipt; from and
// to are international numbers without "+".
func (e *ESME) Submit(t testing.TB, from, to, text string) {
	t.Helper()
	e.SubmitPart(t, from, to, text, nil)
}

// SubmitPart sends a submit_sm, a segment when udh is set.
func (e *ESME) SubmitPart(t testing.TB, from, to, text string, udh pdu.UDH) {
	t.Helper()
	sm := pdu.NewSubmitSM().(*pdu.SubmitSM)
	src := pdu.NewAddress()
	src.SetTon(1)
	src.SetNpi(1)
	_ = src.SetAddress(from)
	dst := pdu.NewAddress()
	dst.SetTon(1)
	dst.SetNpi(1)
	_ = dst.SetAddress(to)
	sm.SourceAddr, sm.DestAddr = src, dst
	if err := sm.Message.SetMessageWithEncoding(text, data.GSM7BIT); err != nil {
		t.Fatal(err)
	}
	sm.RegisteredDelivery = 1
	if udh != nil {
		sm.Message.SetUDH(udh)
		sm.EsmClass |= 0x40
	}
	tx := e.Session.Transceiver()
	if e.txOnly {
		tx = e.Session.Transmitter()
	}
	if err := tx.Submit(sm); err != nil {
		t.Fatal(err)
	}
}

// Next returns the next PDU received (submit_sm_resp or deliver_sm).
func (e *ESME) Next(t testing.TB) pdu.PDU {
	t.Helper()
	if len(e.held) > 0 {
		q := e.held[0]
		e.held = e.held[1:]
		return q
	}
	return await(t, e.pdus, "the ESME received nothing")
}

// NextResp returns the next submit_sm_resp, keeping what came before it
// for Next.
func (e *ESME) NextResp(t testing.TB) *pdu.SubmitSMResp {
	t.Helper()
	for {
		select {
		case q := <-e.pdus:
			if r, ok := q.(*pdu.SubmitSMResp); ok {
				return r
			}
			e.held = append(e.held, q)
		case <-time.After(Wait):
			t.Fatal("no submit_sm_resp")
			return nil
		}
	}
}

// await receives from ch, failing the test with failure after Wait.
func await[T any](t testing.TB, ch <-chan T, failure string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(Wait):
		t.Fatal(failure)
		var zero T
		return zero
	}
}
