package sipsession

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"iwf/internal/sipstack"
	"iwf/session"
	"iwf/session/msrpsdp"
)

// onInvite answers an INVITE: a re-INVITE when it names a dialog (To tag),
// else a new incoming call. The source check and the limits come first:
// a peer that may not call learns nothing of how we read its offer, and
// costs no MSRP session.
func (m *Manager) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if !m.enter() {
		m.respond(tx, req, 503, "Service Unavailable")
		return
	}
	defer m.wg.Done()
	if m.cfg.Allow != nil && !m.cfg.Allow(req) {
		m.forbidden.Add(1)
		m.log.Info("invite refused: source not allowed", "call_id", callIDOf(req), "source", req.Source())
		m.respond(tx, req, 403, "Forbidden")
		return
	}
	if !m.requireOK(req, tx) {
		return
	}
	if to := req.To(); to != nil && to.Params != nil {
		if tag, ok := to.Params.Get("tag"); ok && tag != "" {
			m.reinvite(req, tx)
			return
		}
	}
	release, status := m.admit(sourceOf(req))
	switch status {
	case 0:
	case 503:
		m.log.Warn("invite refused: incoming calls at their cap", "call_id", callIDOf(req), "max", m.cfg.Limits.MaxIncoming)
		m.respond(tx, req, 503, sipstack.ReasonPhrase(503), sip.NewHeader("Retry-After", strconv.Itoa(overloadRetryAfter)))
		return
	default:
		m.log.Info("invite refused: source at its cap", "call_id", callIDOf(req), "source", req.Source(), "max", m.cfg.Limits.MaxIncomingPerSource)
		m.respond(tx, req, status, sipstack.ReasonPhrase(status))
		return
	}
	m.incoming(req, tx, release)
}

// checkOffer applies the body rules of checkBody to an INVITE or
// re-INVITE and answers the ones it refuses.
func (m *Manager) checkOffer(req *sip.Request, tx sip.ServerTransaction) (msrpsdp.Description, bool) {
	ct := ""
	if h := req.GetHeader("Content-Type"); h != nil {
		ct = h.Value()
	}
	offer, status, err := checkBody(ct, req.Body())
	switch status {
	case 0:
		return offer, true
	case 400:
		m.respond(tx, req, 400, "Missing SDP Offer")
	case 415:
		m.respond(tx, req, 415, "Unsupported Media Type", sip.NewHeader("Accept", "application/sdp"))
	default:
		m.refuseSDP(req, tx, err)
	}
	return msrpsdp.Description{}, false
}

// checkBody reads the offer of an INVITE, or says which status refuses
// it: 400 without a body (we take no offerless INVITE: the offer in our
// 2xx would need the answer in the ACK, RFC 3264 section 4), 415 for
// another type (RFC 3261 section 21.4.13), 488 for an SDP we cannot use
// (RFC 3261 section 21.4.26). It is pure, so a fuzz target drives it.
func checkBody(contentType string, body []byte) (msrpsdp.Description, int, error) {
	if len(body) == 0 {
		return msrpsdp.Description{}, 400, errors.New("sipsession: invite without an sdp offer")
	}
	if !isSDP(contentType) {
		return msrpsdp.Description{}, 415, errors.New("sipsession: invite body of type " + contentType)
	}
	offer, err := msrpsdp.Parse(body)
	if err != nil {
		return msrpsdp.Description{}, msrpsdp.SIPStatusOf(err), err
	}
	return offer, 0, nil
}

// refuseSDP answers 488 (500 for a fault in our own media) with the
// Warning the msrpsdp error describes.
func (m *Manager) refuseSDP(req *sip.Request, tx sip.ServerTransaction, err error) {
	code := msrpsdp.SIPStatusOf(err)
	m.log.Info("offer refused", "call_id", callIDOf(req), "status", code, "error", err)
	m.final(tx, req, code, err)
}

// agent is the warn-agent of our Warning headers: our host on the
// request's transport.
func (m *Manager) agent(req *sip.Request) string {
	u := m.cfg.Stack.Contact(strings.ToLower(req.Transport()), "")
	if u.Host == "" {
		return "iwf"
	}
	return u.HostPort()
}

// incoming handles a new INVITE with an MSRP offer. release gives back
// its place under the limits: here when no call comes of it, else when
// the call ends.
func (m *Manager) incoming(req *sip.Request, tx sip.ServerTransaction, release func()) {
	defer func() {
		if release != nil {
			release()
		}
	}()
	// RFC 4028 section 9: an interval below our minimum is refused before
	// anything is built for the call.
	timer, status := m.timerAnswer(req, sessionTimerState{})
	if status != 0 {
		m.tooSmall(tx, req)
		return
	}
	offer, ok := m.checkOffer(req, tx)
	if !ok {
		return
	}
	transport := strings.ToLower(req.Transport())
	client, err := m.cfg.Stack.Client(transport)
	if err != nil {
		m.log.Warn("no client for the transport of an invite", "transport", transport, "error", err)
		m.respond(tx, req, 500, "Server Internal Error")
		return
	}
	ua := &sipgo.DialogUA{Client: client, ContactHDR: m.contact(transport, DefaultPreferredService)}
	dlg, err := ua.ReadInvite(req, tx)
	if err != nil {
		// No Contact, no CSeq, no To: not an INVITE we can make a dialog of.
		m.respond(tx, req, 400, "Bad Request")
		return
	}
	partner := ""
	if m.cfg.Partner != nil {
		partner = m.cfg.Partner(req)
	}
	c := m.newCall(Incoming, partner)
	c.release, release = release, nil
	c.uas, c.dialogID, c.callID = dlg, dlg.ID, callIDOf(req)
	c.from, c.to = req.From().Address, req.To().Address
	if m.cfg.Trusted != nil && m.cfg.Trusted(req) {
		if id, ok := assertedIdentity(req); ok {
			c.from = id
		}
	}
	if h := req.GetHeader("Conversation-ID"); h != nil {
		c.convID = h.Value()
	}
	if h := req.GetHeader("Contribution-ID"); h != nil {
		c.contribID = h.Value()
	}
	c.log = m.log.With("call_id", c.callID, "partner", partner)
	// A CANCEL (sipgo's transaction layer answers it 200 and the INVITE
	// 487) ends the call's context: OnIncoming and the answer stop.
	tx.OnCancel(func(*sip.Request) { c.cancel() })

	status, body, err := m.prepare(c, offer)
	if status != 200 {
		c.end(ReasonRejected, err)
		m.final(tx, req, status, err)
		return
	}
	if err := m.remember(c); err != nil {
		c.end(ReasonShutdown, err)
		m.final(tx, req, 503, err)
		return
	}
	if c.ctx.Err() != nil {
		c.end(ReasonCanceled, nil)
		return
	}
	if err := m.answer(c, tx, body, timer); err != nil {
		select {
		case <-c.done:
			return // ended meanwhile: BYE, Close, MSRP failure
		default:
		}
		if c.ctx.Err() != nil {
			c.end(ReasonCanceled, nil)
			return
		}
		c.log.Info("answer failed", "error", err)
		c.end(ReasonAckTimeout, err)
		// RFC 3261 section 13.3.1.4: a 2xx never acknowledged is ended
		// with a BYE. sipgo holds a BYE back until the ACK or the end of
		// the INVITE transaction: end that first.
		tx.Terminate()
		m.spawn(func(ctx context.Context) { _ = c.bye(ctx) })
		return
	}
	if c.neg.Active {
		// RFC 6135: the active side connects once the answer is known,
		// now for us.
		if c.neg.CEMA {
			c.sess.SetDialAddress(c.neg.ConnectAddr())
		}
		if err := c.sess.Connect(c.ctx, c.neg.Remote.Path, true); err != nil {
			c.log.Info("msrp connect failed", "error", err)
			_ = c.hangup(m.ctx, ReasonMSRPLost)
			return
		}
	}
	c.markReady()
}

// prepare creates the MSRP session, builds the answer and asks
// OnIncoming; it returns the final status to send and, for 200, the SDP,
// else the error that explains the status.
func (m *Manager) prepare(c *Call, offer msrpsdp.Description) (int, []byte, error) {
	if m.cfg.OnIncoming == nil {
		return 480, nil, errors.New("sipsession: no handler for incoming calls")
	}
	sess, err := m.cfg.Endpoint.NewSession(c.ctx, session.SessionOptions{
		AcceptTypes:   m.cfg.AcceptTypes,
		MaxSize:       m.cfg.MaxSize,
		ManualReports: m.cfg.ManualReports,
		Handler:       c.handler(),
	})
	if err != nil {
		c.log.Warn("msrp session", "error", err)
		return 500, nil, err
	}
	c.sess = sess
	c.log = c.log.With("msrp_session", sess.LocalURI().SessionID)
	local := m.localMedia(sess)
	if strings.EqualFold(m.cfg.AnswerSetup, "active") {
		local.Setup = msrpsdp.SetupActive
	} else {
		local.Setup = msrpsdp.SetupPassive
	}
	origin, err := msrpsdp.NewOrigin(local.Addr)
	if err != nil {
		return 500, nil, err
	}
	body, neg, err := msrpsdp.BuildAnswer(origin, offer, local)
	if err != nil {
		code := msrpsdp.SIPStatusOf(err)
		c.log.Info("offer refused", "status", code, "error", err)
		return code, nil, err
	}
	c.neg, c.origin, c.local = neg, origin, neg.Local
	c.notePeer(neg.Remote.Path)
	sess.SetPeerFingerprints(neg.Remote.Fingerprints)
	if !neg.Active {
		// Passive: record the peer's path before the 200 so that its
		// connection, which may come before our ACK, binds at once.
		if err := sess.Connect(c.ctx, neg.Remote.Path, false); err != nil {
			return 500, nil, err
		}
	}
	if err := m.cfg.OnIncoming(c); err != nil {
		code := statusOf(err)
		c.log.Info("incoming call refused", "status", code, "error", err)
		return code, nil, err
	}
	return 200, body, nil
}

// final answers with a non-2xx status, with the Warning of an SDP error
// in the peer's offer (RFC 3261 section 20.43). The Warning says which
// line is wrong and why in our words; the cause under it (a parser's Go
// error) and faults in our own media stay in our logs.
func (m *Manager) final(tx sip.ServerTransaction, req *sip.Request, code int, err error) {
	var hdrs []sip.Header
	var se *msrpsdp.Error
	if errors.As(err, &se) && !se.Local {
		peer := msrpsdp.Error{Field: se.Field, Reason: se.Reason, Warn: se.Warn}
		hdrs = append(hdrs, sip.NewHeader("Warning", peer.Warning(m.agent(req))))
	}
	m.respond(tx, req, code, sipstack.ReasonPhrase(code), hdrs...)
}

// answer sends the 200 with our SDP and the dialog's headers, and waits
// for its ACK (respond2xx); past AckTimeout it fails.
func (m *Manager) answer(c *Call, tx sip.ServerTransaction, body []byte, timer negotiatedTimer) error {
	req := c.uas.InviteRequest
	res := sip.NewSDPResponseFromRequest(req, body)
	m.dialogHeaders(res, strings.ToLower(req.Transport()))
	// OMA CPM: the 200 carries the conversation and contribution the
	// INVITE named, so that the client files the session under them.
	if c.convID != "" {
		res.AppendHeader(sip.NewHeader("Conversation-ID", c.convID))
	}
	if c.contribID != "" {
		res.AppendHeader(sip.NewHeader("Contribution-ID", c.contribID))
	}
	timer.headers(res)
	// The dialog's BYE is built from the response it answered with, and
	// sipgo sends it only from an established dialog: we write the 2xx
	// ourselves (its Respond waits for the ACK without a usable bound), so
	// the state is set here. InitWithState keeps the dialog's CSeq.
	c.mu.Lock()
	c.uas.InitWithState(sip.DialogStateEstablished)
	c.uas.InviteResponse = res
	c.answered = true
	c.mu.Unlock()
	// The session interval runs from the 2xx (RFC 4028 section 10), as
	// for a re-INVITE or an UPDATE: armed before the 2xx goes out, the
	// timer already runs when the peer's UPDATE or BYE, which may follow
	// its ACK at once, is handled; armed after the ACK, it was replaced
	// by this one or never ran. A 2xx never acknowledged ends the call,
	// which stops it.
	c.armTimer(timer)
	ack, err := m.respond2xx(c, tx, req, res)
	if err != nil {
		c.armTimer(negotiatedTimer{})
		return err
	}
	_ = c.uas.ReadAck(ack, tx)
	c.log.Info("call answered", "direction", "incoming", "active", c.neg.Active)
	c.trace("answered")
	return nil
}

// assertedIdentity is the identity a P-Asserted-Identity gives (RFC 3325
// section 9.1): the tel: URI when it carries one beside a sip: URI, as
// SMS needs the number, else the first.
func assertedIdentity(req *sip.Request) (sip.Uri, bool) {
	var first sip.Uri
	found := false
	for _, h := range req.GetHeaders("P-Asserted-Identity") {
		for _, v := range splitAddresses(h.Value()) {
			var u sip.Uri
			if _, err := sip.ParseAddressValue(v, &u, nil); err != nil {
				continue
			}
			if u.Scheme == "tel" {
				return u, true
			}
			if !found && (u.Scheme == "sip" || u.Scheme == "sips") {
				first, found = u, true
			}
		}
	}
	return first, found
}

// splitAddresses splits a header of name-addrs at the commas outside
// quotes and angle brackets.
func splitAddresses(v string) []string {
	var out []string
	quoted, angle, start := false, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' && !angle:
			quoted = !quoted
		case c == '<' && !quoted:
			angle = true
		case c == '>' && !quoted:
			angle = false
		case c == ',' && !quoted && !angle:
			out = append(out, strings.TrimSpace(v[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(v[start:]))
}
