package sipsession

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/sipstack"
	"iwf/session/msrp"
	"iwf/session/msrpsdp"
)

// extTimer is the one SIP extension we implement beyond RFC 3261: session
// timers (RFC 4028). UPDATE (RFC 3311) is a method, announced in Allow,
// and needs no option tag.
const extTimer = "timer"

// headerGetter is what *sip.Request and *sip.Response share for reading
// headers.
type headerGetter interface {
	GetHeader(name string) sip.Header
	GetHeaders(name string) []sip.Header
}

// headerTokens is the comma-separated values of every header named by
// one of names (long and compact form), lowercased.
func headerTokens(msg headerGetter, names ...string) []string {
	var out []string
	for _, n := range names {
		for _, h := range msg.GetHeaders(n) {
			for _, v := range strings.Split(h.Value(), ",") {
				if v = strings.ToLower(strings.TrimSpace(v)); v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// unsupported lists the option tags of the request's Require that we do
// not implement (RFC 3261 section 8.2.2.3).
func unsupported(req *sip.Request) []string {
	var out []string
	for _, tag := range headerTokens(req, "Require") {
		if tag != extTimer && !slices.Contains(out, tag) {
			out = append(out, tag)
		}
	}
	return out
}

// requireOK answers 420 Bad Extension, with the Unsupported tags, to a
// request that requires an extension we lack, and says whether it may go
// on. RFC 3261 section 8.2.2.3 exempts only ACK and CANCEL.
func (m *Manager) requireOK(req *sip.Request, tx sip.ServerTransaction) bool {
	tags := unsupported(req)
	if len(tags) == 0 {
		return true
	}
	m.log.Info("request refused: extension required", "call_id", callIDOf(req), "method", string(req.Method), "unsupported", tags)
	m.respond(tx, req, 420, sipstack.ReasonPhrase(420), sip.NewHeader("Unsupported", strings.Join(tags, ", ")))
	return false
}

// allowed is our Allow header: the methods registered on the shared
// server, read once it serves (every handler is registered by then).
func (m *Manager) allowed() string {
	m.allowOnce.Do(func() {
		methods := []string{"INVITE", "ACK", "BYE", "CANCEL", "UPDATE"}
		if m.srv != nil {
			methods = m.srv.RegisteredMethods()
			slices.Sort(methods)
		}
		m.allow = strings.Join(methods, ", ")
	})
	return m.allow
}

// dialogHeaders are in every 2xx we send to INVITE and UPDATE: Contact
// (with the ICSI), Server, Allow and Supported (RFC 3261 section 13.3.1.4
// asks for Allow and Supported; peers decide by them whether UPDATE and
// session timers are usable).
func (m *Manager) dialogHeaders(res *sip.Response, transport string) {
	hdr := m.contact(transport, DefaultPreferredService)
	res.AppendHeader(&hdr)
	res.AppendHeader(sip.NewHeader("Server", m.cfg.UserAgent))
	res.AppendHeader(sip.NewHeader("Allow", m.allowed()))
	res.AppendHeader(sip.NewHeader("Supported", extTimer))
}

// expectAck registers the wait for the ACK of the INVITE with cseq. The
// waits are kept by CSeq: the first INVITE's ACK may come after a
// re-INVITE the peer sent once it had the 2xx (UDP reorders them, and
// their handlers run side by side), and must not find its wait replaced.
func (c *Call) expectAck(cseq uint32) chan *sip.Request {
	ch := make(chan *sip.Request, 1)
	c.mu.Lock()
	if c.ackWaits == nil {
		c.ackWaits = make(map[uint32]chan *sip.Request)
	}
	c.ackWaits[cseq] = ch
	c.mu.Unlock()
	return ch
}

// forgetAck drops the wait for the ACK of cseq once nobody waits.
func (c *Call) forgetAck(cseq uint32, ch chan *sip.Request) {
	c.mu.Lock()
	if c.ackWaits[cseq] == ch {
		delete(c.ackWaits, cseq)
	}
	c.mu.Unlock()
}

// takeAck hands an ACK to the 2xx waiting for it; a retransmitted ACK or
// one nobody waits for is dropped (RFC 3261 section 13.3.1.4).
func (c *Call) takeAck(req *sip.Request) {
	cseq := req.CSeq()
	if cseq == nil {
		return
	}
	c.mu.Lock()
	ch, ok := c.ackWaits[cseq.SeqNo]
	delete(c.ackWaits, cseq.SeqNo)
	c.mu.Unlock()
	if ok {
		ch <- req
	}
}

// respond2xx sends a 2xx to an INVITE and waits for its ACK, sending the
// 2xx again over unreliable transports from T1 doubling to T2 (RFC 3261
// section 13.3.1.4): the transaction layer leaves that to us (RFC 6026
// section 7.1), for the re-INVITE as for the first INVITE. Past
// AckTimeout it fails.
func (m *Manager) respond2xx(c *Call, tx sip.ServerTransaction, req *sip.Request, res *sip.Response) (*sip.Request, error) {
	seq := req.CSeq().SeqNo
	acks := c.expectAck(seq)
	defer c.forgetAck(seq, acks)
	if err := tx.Respond(res); err != nil {
		return nil, err
	}
	retransmit := time.NewTimer(sip.T1)
	defer retransmit.Stop()
	if !strings.EqualFold(req.Transport(), "udp") {
		retransmit.Stop()
	}
	interval := sip.T1
	deadline := time.NewTimer(m.cfg.AckTimeout)
	defer deadline.Stop()
	for {
		select {
		case ack := <-acks:
			return ack, nil
		case <-retransmit.C:
			_ = tx.Respond(res)
			interval = min(2*interval, sip.T2)
			retransmit.Reset(interval)
		case <-deadline.C:
			return nil, errors.New("sipsession: no ack for the 2xx")
		case <-c.ctx.Done():
			return nil, context.Canceled
		}
	}
}

// reinvite answers an INVITE inside a dialog (RFC 3261 section 14.2). A
// new offer, for example after an SBC moved the media, updates the MSRP
// session's path; an offer we cannot take gets 488 and the session stays
// as it was. An INVITE without an offer gets our current media as the
// offer in the 2xx, and its answer comes in the ACK (RFC 3264 section
// 4). Either way it refreshes the session timer (RFC 4028 section 9).
func (m *Manager) reinvite(req *sip.Request, tx sip.ServerTransaction) {
	c := m.match(req)
	if c == nil {
		m.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	timer, status := m.timerAnswer(req, c.timerSettings())
	if status != 0 {
		m.tooSmall(tx, req)
		return
	}
	transport := strings.ToLower(req.Transport())
	if len(req.Body()) == 0 {
		m.offerlessReinvite(c, req, tx, timer)
		return
	}
	offer, ok := m.checkOffer(req, tx)
	if !ok {
		return
	}
	body, ok := m.reanswer(c, req, tx, offer)
	if !ok {
		return
	}
	res := sip.NewSDPResponseFromRequest(req, body)
	m.dialogHeaders(res, transport)
	timer.headers(res)
	c.armTimer(timer)
	if _, err := m.respond2xx(c, tx, req, res); err != nil {
		c.log.Info("re-invite not acknowledged", "error", err)
		return
	}
	c.trace("reinvite-acked")
}

// reanswer applies an in-dialog offer and returns our answer, or answers
// the request with the refusal.
func (m *Manager) reanswer(c *Call, req *sip.Request, tx sip.ServerTransaction, offer msrpsdp.Description) ([]byte, bool) {
	c.mu.Lock()
	origin, local := c.origin.Next(), c.local
	c.mu.Unlock()
	// The connection stays as it is: keep our role, whatever the new
	// offer's a=setup (RFC 6135 section 4.2 lets an established session
	// keep its connection).
	local.Setup = c.setupRole()
	body, neg, err := msrpsdp.BuildAnswer(origin, offer, local)
	if err == nil {
		err = c.sess.UpdateRemotePath(neg.Remote.Path)
	}
	if err != nil {
		m.refuseSDP(req, tx, err)
		return nil, false
	}
	c.mu.Lock()
	c.origin = origin
	c.mu.Unlock()
	c.log.Info("session updated", "method", string(req.Method), "path", msrp.FormatPath(neg.Remote.Path))
	return body, true
}

// setupRole is our a=setup in later offers and answers: the role the
// established connection gave us.
func (c *Call) setupRole() msrpsdp.Setup {
	if c.neg.Active {
		return msrpsdp.SetupActive
	}
	return msrpsdp.SetupPassive
}

// offerlessReinvite answers an INVITE without a body with our current
// media as a new offer (version one up) and takes the answer from the
// ACK (RFC 3261 section 14.2, RFC 3264 section 8). An ACK without a
// usable answer leaves the session as it was: the dialog has no other
// way to refuse it than BYE, and the MSRP session still works.
func (m *Manager) offerlessReinvite(c *Call, req *sip.Request, tx sip.ServerTransaction, timer negotiatedTimer) {
	c.mu.Lock()
	origin, local := c.origin.Next(), c.local
	c.mu.Unlock()
	local.Setup = c.setupRole()
	body, err := msrpsdp.BuildOffer(origin, local)
	if err != nil {
		m.refuseSDP(req, tx, err)
		return
	}
	c.mu.Lock()
	c.origin = origin
	c.mu.Unlock()
	res := sip.NewSDPResponseFromRequest(req, body)
	m.dialogHeaders(res, strings.ToLower(req.Transport()))
	timer.headers(res)
	c.armTimer(timer)
	ack, err := m.respond2xx(c, tx, req, res)
	if err != nil {
		c.log.Info("offerless re-invite not acknowledged", "error", err)
		return
	}
	ct := ""
	if h := ack.GetHeader("Content-Type"); h != nil {
		ct = h.Value()
	}
	if len(ack.Body()) == 0 || !isSDP(ct) {
		c.log.Info("ack without the answer to our offer", "content_type", ct)
		return
	}
	answer, err := msrpsdp.Parse(ack.Body())
	if err == nil {
		var neg msrpsdp.Negotiated
		if neg, err = msrpsdp.Negotiate(msrpsdp.Offerer, local, answer.Media); err == nil {
			err = c.sess.UpdateRemotePath(neg.Remote.Path)
		}
		if err == nil {
			c.log.Info("session updated by the answer in an ack", "path", msrp.FormatPath(neg.Remote.Path))
		}
	}
	if err != nil {
		c.log.Info("answer in ack not usable", "error", err)
		return
	}
	c.trace("ack-answer")
}

// onUpdate answers an UPDATE in a dialog (RFC 3311): with an SDP offer it
// changes the session as a re-INVITE would, without one it only refreshes
// the session timer (RFC 4028 section 9).
func (m *Manager) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	c, done := m.inDialog(req, tx)
	if c == nil {
		return
	}
	defer done()
	timer, status := m.timerAnswer(req, c.timerSettings())
	if status != 0 {
		m.tooSmall(tx, req)
		return
	}
	var body []byte
	if len(req.Body()) > 0 {
		offer, ok := m.checkOffer(req, tx)
		if !ok {
			return
		}
		if body, ok = m.reanswer(c, req, tx, offer); !ok {
			return
		}
	}
	var res *sip.Response
	if body != nil {
		res = sip.NewSDPResponseFromRequest(req, body)
	} else {
		res = sip.NewResponseFromRequest(req, 200, "OK", nil)
	}
	m.dialogHeaders(res, strings.ToLower(req.Transport()))
	timer.headers(res)
	c.armTimer(timer)
	if err := tx.Respond(res); err != nil {
		c.log.Debug("update response", "error", err)
		return
	}
	c.trace("update")
}
