package sipsession

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"iwf/session"
	"iwf/session/msrpsdp"
)

// OpenRequest is what Open needs to start a session toward a partner.
type OpenRequest struct {
	// From is our side's identity (sip: or tel: URI), To the called party.
	From, To string
	// Trunk is the partner's trunk; NextHop is where the INVITE goes.
	Trunk Trunk
	// ConversationID and ContributionID are the OMA CPM identifiers (RCS
	// RCC.07 section 3.2.3); empty ones are generated.
	ConversationID, ContributionID string
	// Service, when set, is the ICSI of this call in place of the
	// trunk's: our Contact, Accept-Contact and P-Preferred-Service all
	// name it, whatever the trunk's accept_contact and preferred_service
	// say, since a call opened for one service must reach that service's
	// function (GSMA RCC.07 section 2.4). Large Message Mode names the
	// CPM large-message ICSI this way.
	Service string
	// Direction is the direction attribute of our offer (RFC 4566
	// section 6), kept in the offers of refreshes: SendOnly for a call
	// that only sends, as a Large Message Mode session (OMA CPM).
	// DirectionUnspecified offers none, which means sendrecv.
	Direction msrpsdp.Direction
	// SessionOptions configure the MSRP session; Handler is set by Open
	// (the call's Events), AcceptTypes and MaxSize default from Config.
	SessionOptions session.SessionOptions
}

// Open creates an MSRP session, sends the INVITE with its offer toward
// the trunk's next hop and returns the established, connected call. It
// follows one 3xx redirect. A failure is an *Error saying which step
// failed: the peer's final status (KindRejected), the trunk's invite
// timeout (KindTimeout) or ctx (KindCanceled), both after a CANCEL, an
// unusable answer (KindNotAcceptable, after ACK and BYE), the MSRP
// connection (KindMSRPConnect, after BYE), or the transport.
func (m *Manager) Open(ctx context.Context, r OpenRequest) (*Call, error) {
	if !m.enter() {
		return nil, ErrClosed
	}
	defer m.wg.Done()
	if r.Service != "" {
		r.Trunk.PreferredService, r.Trunk.AcceptContact = r.Service, true
	}
	if err := r.Trunk.Validate(); err != nil {
		return nil, err
	}
	from, err := parseIdentity("from", r.From)
	if err != nil {
		return nil, err
	}
	to, err := parseIdentity("to", r.To)
	if err != nil {
		return nil, err
	}
	hop, _ := r.Trunk.nextHop()
	transport := r.Trunk.transport(hop)
	client, err := m.cfg.Stack.Client(transport)
	if err != nil {
		return nil, newError(KindTransport, err)
	}
	setup, _ := parseSetupPolicy(r.Trunk.Setup)
	timeout := r.Trunk.InviteTimeout
	if timeout <= 0 {
		timeout = DefaultInviteTimeout
	}

	c := m.newCall(Outgoing, r.Trunk.Name)
	c.from, c.to, c.service = from, to, r.Trunk.service()
	c.convID, c.contribID = orNewID(r.ConversationID), orNewID(r.ContributionID)
	c.log = m.log.With("partner", r.Trunk.Name)
	opts := r.SessionOptions
	if len(opts.AcceptTypes) == 0 {
		opts.AcceptTypes = m.cfg.AcceptTypes
	}
	if opts.MaxSize == 0 {
		opts.MaxSize = m.cfg.MaxSize
	}
	opts.ManualReports = opts.ManualReports || m.cfg.ManualReports
	opts.Handler = c.handler()
	sess, err := m.cfg.Endpoint.NewSession(ctx, opts)
	if err != nil {
		return nil, newError(KindMSRPConnect, err)
	}
	c.sess = sess
	c.log = c.log.With("msrp_session", sess.LocalURI().SessionID)
	offer, body, err := m.offer(c, setup, r.Direction)
	if err != nil {
		sess.Close()
		return nil, newError(KindNotAcceptable, err)
	}

	ua := &sipgo.DialogUA{Client: client, ContactHDR: m.contact(transport, c.service)}
	req := m.inviteRequest(c, r.Trunk, to, hop, transport, body)
	c.callID = callIDOf(req)
	c.log = c.log.With("call_id", c.callID)

	dlg, err := m.invite(ctx, ua, req, timeout)
	var refused *Error
	if errors.As(err, &refused) && refused.Status == 422 {
		// RFC 4028 section 7.4: ask again with the peer's Min-SE, once.
		if se := minSEOf(refused.Err); se > 0 {
			c.log.Info("session interval too small for the peer", "min_se", se)
			req = retryRequest(req, req.Recipient, hop)
			setSessionExpires(req, se, max(se, m.cfg.SessionTimer.MinSE))
			dlg, err = m.invite(ctx, ua, req, timeout)
		}
	}
	var redirect *Error
	if errors.As(err, &redirect) && redirect.Status >= 300 && redirect.Status < 400 {
		// RFC 3261 section 8.1.3.4: retry at the first Contact, once;
		// same Call-ID, From and To, a higher CSeq.
		if target, ok := firstContact(redirect.Err); ok {
			c.log.Info("invite redirected", "status", redirect.Status, "target", target.String())
			req = retryRequest(req, target, hop)
			dlg, err = m.invite(ctx, ua, req, timeout)
		}
	}
	if err != nil {
		sess.Close()
		c.log.Info("invite failed", "error", err)
		return nil, err
	}
	c.uac = dlg
	c.dialogID = dlg.ID

	// RFC 4028 section 7.2: the 2xx says who refreshes; without
	// Session-Expires the peer runs no timer and neither do we. Armed
	// before the ACK: the peer may refresh as soon as it has it.
	c.armTimer(timerOfResponse(dlg.InviteResponse))
	// RFC 3261 section 13.2.2.4: every 2xx is acknowledged, even one whose
	// answer we then refuse (which a BYE ends).
	if err := dlg.Ack(ctx); err != nil {
		c.stopTimer()
		sess.Close()
		return nil, newError(KindTransport, err)
	}
	if err := m.remember(c); err != nil {
		_ = c.hangup(ctx, ReasonShutdown)
		return nil, err
	}
	if err := c.accept(ctx, offer, dlg.InviteResponse); err != nil {
		_ = c.hangup(ctx, ReasonLocal)
		return nil, err
	}
	c.markReady()
	c.log.Info("call established", "direction", "outgoing", "active", c.neg.Active)
	return c, nil
}

// invite sends req and waits for its final answer; past timeout or with ctx
// done it CANCELs (RFC 3261 section 9.1) and reports which ended the wait.
func (m *Manager) invite(ctx context.Context, ua *sipgo.DialogUA, req *sip.Request, timeout time.Duration) (*sipgo.DialogClientSession, error) {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dlg, err := ua.WriteInvite(wctx, req)
	if err != nil {
		return nil, newError(KindTransport, err)
	}
	err = dlg.WaitAnswer(wctx, sipgo.AnswerOptions{})
	if err == nil {
		return dlg, nil
	}
	var res *sipgo.ErrDialogResponse
	switch {
	case errors.As(err, &res):
		return nil, &Error{Kind: KindRejected, Status: res.Res.StatusCode, Reason: res.Res.Reason, Err: err}
	case ctx.Err() != nil:
		m.abandon(dlg)
		return nil, newError(KindCanceled, ctx.Err())
	case wctx.Err() != nil:
		m.abandon(dlg)
		return nil, newError(KindTimeout, err)
	}
	return nil, newError(KindTransport, err)
}

// abandon ends a dialog whose 2xx raced our CANCEL: RFC 3261 section 9.1
// leaves it established, so it is acknowledged and hung up at once.
func (m *Manager) abandon(dlg *sipgo.DialogClientSession) {
	if res := dlg.InviteResponse; res == nil || !res.IsSuccess() {
		return
	}
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.ByeTimeout)
	defer cancel()
	if id, err := sip.DialogIDFromResponse(dlg.InviteResponse); err == nil {
		dlg.ID = id
	}
	if err := dlg.Ack(ctx); err == nil {
		_ = dlg.Bye(ctx)
	}
}

// offer builds our SDP offer for the call's MSRP session.
func (m *Manager) offer(c *Call, setup msrpsdp.Setup, dir msrpsdp.Direction) (msrpsdp.Media, []byte, error) {
	media := m.localMedia(c.sess)
	media.Setup, media.Direction = setup, dir
	origin, err := msrpsdp.NewOrigin(media.Addr)
	if err != nil {
		return media, nil, err
	}
	body, err := msrpsdp.BuildOffer(origin, media)
	if err != nil {
		return media, nil, err
	}
	c.origin, c.local = origin, media
	return media, body, nil
}

// localMedia is our side of the SDP: the session's path and the endpoint's
// address.
func (m *Manager) localMedia(s *session.Session) msrpsdp.Media {
	u := s.LocalURI()
	return msrpsdp.Media{
		Secure:             u.Secure,
		Addr:               u.Host,
		Port:               u.Port,
		Path:               s.LocalPath(),
		AcceptTypes:        m.cfg.AcceptTypes,
		AcceptWrappedTypes: m.cfg.AcceptWrappedTypes,
		MaxSize:            s.MaxSize(),
		Fingerprints:       m.cfg.Endpoint.Fingerprints(),
	}
}

// accept negotiates the answer of a 2xx and starts the MSRP session.
func (c *Call) accept(ctx context.Context, offer msrpsdp.Media, res *sip.Response) error {
	if ct := res.GetHeader("Content-Type"); ct == nil || !isSDP(ct.Value()) || len(res.Body()) == 0 {
		return newError(KindNotAcceptable, errors.New("sipsession: 2xx without an application/sdp answer"))
	}
	answer, err := msrpsdp.Parse(res.Body())
	if err != nil {
		return newError(KindNotAcceptable, err)
	}
	neg, err := msrpsdp.Negotiate(msrpsdp.Offerer, offer, answer.Media)
	if err != nil {
		return newError(KindNotAcceptable, err)
	}
	c.neg = neg
	c.notePeer(neg.Remote.Path)
	c.sess.SetPeerFingerprints(neg.Remote.Fingerprints)
	// The session prepends its own relays (Use-Path) to what it is given,
	// so it gets the peer's path, not neg.ToPath(), which holds both.
	if neg.CEMA {
		c.sess.SetDialAddress(neg.ConnectAddr())
	}
	if err := c.sess.Connect(ctx, neg.Remote.Path, neg.Active); err != nil {
		return newError(KindMSRPConnect, err)
	}
	return nil
}

// inviteRequest builds the INVITE with the RCS headers of the trunk.
func (m *Manager) inviteRequest(c *Call, t Trunk, to, hop sip.Uri, transport string, body []byte) *sip.Request {
	req := sip.NewRequest(sip.INVITE, requestURI(to, hop))
	// From is set here: sipgo's default is its own name at its host.
	fromHdr := &sip.FromHeader{Address: c.from, Params: sip.NewParams()}
	fromHdr.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(fromHdr)
	req.AppendHeader(&sip.ToHeader{Address: c.to, Params: sip.NewParams()})
	callID := sip.CallIDHeader(newID())
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	// One service throughout (GSMA RCC.07 section 2.4): the ICSI in
	// P-Preferred-Service, Accept-Contact and our Contact.
	if t.AcceptContact {
		req.AppendHeader(sip.NewHeader("Accept-Contact", "*;"+icsiTag(t.service())))
	}
	if t.PreferredService != "" {
		req.AppendHeader(sip.NewHeader("P-Preferred-Service", t.PreferredService))
	}
	if t.AssertedIdentity {
		// RFC 3325 section 9.1: the RCS core is the trust domain; the
		// identity is the one our From names.
		req.AppendHeader(sip.NewHeader("P-Asserted-Identity", "<"+c.from.String()+">"))
		if t.Privacy != "" {
			req.AppendHeader(sip.NewHeader("Privacy", t.Privacy))
		}
	}
	req.AppendHeader(sip.NewHeader("Allow", m.allowed()))
	req.AppendHeader(sip.NewHeader("Supported", extTimer))
	if st := m.cfg.SessionTimer; st.Expires > 0 {
		// RFC 4028 section 7.1: no refresher, the UAS chooses.
		setSessionExpires(req, st.Expires, st.MinSE)
	}
	req.AppendHeader(sip.NewHeader("Contribution-ID", c.contribID))
	req.AppendHeader(sip.NewHeader("Conversation-ID", c.convID))
	req.AppendHeader(sip.NewHeader("User-Agent", m.cfg.UserAgent))
	for _, h := range t.ExtraHeaders {
		req.AppendHeader(sip.NewHeader(h.Name, h.Value))
	}
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	// The next hop is an outbound proxy (RFC 3261 section 8.1.2): a loose
	// Route to it, which the CANCEL and a redirected INVITE copy, rather
	// than a destination only this request would carry.
	route := sip.Uri{Scheme: hop.Scheme, Host: hop.Host, Port: hop.Port, UriParams: sip.NewParams()}
	if transport != "udp" {
		route.UriParams.Add("transport", transport)
	}
	route.UriParams.Add("lr", "")
	req.AppendHeader(&sip.RouteHeader{Address: route})
	req.SetTransport(strings.ToUpper(transport))
	return req
}

// requestURI is the To URI for a sip: target; a tel: target travels as
// sip:number@next-hop;user=phone (RFC 3261 section 19.1.6), which SBCs
// take where some refuse a tel: Request-URI.
func requestURI(to, hop sip.Uri) sip.Uri {
	if to.Scheme != "tel" {
		return to
	}
	u := sip.Uri{Scheme: "sip", User: to.Raw(), Host: hop.Host, Port: hop.Port, UriParams: sip.NewParams()}
	u.UriParams.Add("user", "phone")
	return u
}

// setSessionExpires puts our Session-Expires and Min-SE on an INVITE
// (RFC 4028 section 7.1), replacing earlier ones.
func setSessionExpires(req *sip.Request, interval, minimum time.Duration) {
	req.RemoveHeader("Session-Expires")
	req.RemoveHeader("Min-SE")
	req.AppendHeader(sip.NewHeader("Session-Expires", seconds(interval)))
	req.AppendHeader(sip.NewHeader("Min-SE", seconds(minimum)))
}

// minSEOf is the Min-SE of the 422 in err, 0 without one.
func minSEOf(err error) time.Duration {
	var res *sipgo.ErrDialogResponse
	if !errors.As(err, &res) {
		return 0
	}
	return minSE(res.Res)
}

// retryRequest is the INVITE sent again at target, after a redirect or a
// 422: same Call-ID, From and To, CSeq one higher, a new Via branch (RFC
// 3261 section 8.1.3.4), still through the trunk's next hop.
func retryRequest(prev *sip.Request, target, hop sip.Uri) *sip.Request {
	req := prev.Clone()
	req.Recipient = target
	req.RemoveHeader("Via")
	if cseq := req.CSeq(); cseq != nil {
		cseq.SeqNo++
	}
	if to := req.To(); to != nil && to.Params != nil {
		to.Params.Remove("tag")
	}
	if target.Scheme == "tel" {
		req.Recipient = requestURI(target, hop)
	}
	return req
}

// firstContact returns the first Contact of the 3xx in err.
func firstContact(err error) (sip.Uri, bool) {
	var res *sipgo.ErrDialogResponse
	if !errors.As(err, &res) {
		return sip.Uri{}, false
	}
	c := res.Res.Contact()
	if c == nil {
		return sip.Uri{}, false
	}
	return c.Address, true
}

// contact is our Contact on transport, with the service's ICSI as the
// +g.3gpp.icsi-ref feature tag RCS cores route chat by (RFC 3840, 3GPP
// TS 24.229 section 7.9.2).
func (m *Manager) contact(transport, service string) sip.ContactHeader {
	h := sip.ContactHeader{Address: m.cfg.Stack.Contact(transport, ""), Params: sip.NewParams()}
	h.Params.Add("+g.3gpp.icsi-ref", icsiTag(service)[len("+g.3gpp.icsi-ref="):])
	return h
}

// icsiTag is the feature tag of an ICSI: its URN percent-encoded and
// quoted, as RFC 3840 section 9 string values are.
func icsiTag(service string) string {
	return `+g.3gpp.icsi-ref="` + url.QueryEscape(service) + `"`
}

func parseIdentity(field, s string) (sip.Uri, error) {
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		return u, &FieldError{Path: field, Reason: err.Error()}
	}
	switch u.Scheme {
	case "sip", "sips", "tel":
		return u, nil
	}
	return u, &FieldError{Path: field, Reason: "want a sip:, sips: or tel: uri, got " + s}
}

func isSDP(ct string) bool {
	base, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(base), "application/sdp")
}

func orNewID(s string) string {
	if s != "" {
		return s
	}
	return newID()
}

// newID is a random identifier for Call-ID, Conversation-ID and
// Contribution-ID (RCS asks for a UUID-like unique token).
func newID() string { return strings.ToLower(rand.Text()) }
