package interwork

import (
	"context"
	"errors"
	"fmt"
	"time"

	"iwf/internal/cpim"
	"iwf/pager"
	"iwf/session"
	"iwf/session/msrpsdp"
	"iwf/session/sipsession"
	"iwf/smpp"
)

// Pager mode on the RCS side: standalone messages (OMA CPM, GSMA RCC.07
// section 3.2.4) from RCS users toward the SMS side, their delivery
// notifications back, and the CPM form of what is relayed toward RCS
// users outside a session, Large Message Mode included.

// errNoRoute refuses a message for a recipient no partner serves.
var errNoRoute = &Refusal{"no partner serves the recipient", 404, smpp.StatusInvDstAdr, 404}

// fromRCSPager reports whether a pager message is the RCS side's: a
// MESSAGE from the RCS network's sources, or an IMDN, which only
// reports on a message and is never relayed.
func (e *Engine) fromRCSPager(m *pager.Message) bool {
	return m.Notification != nil || (e.cfg.RCS.PagerPartner != "" && m.Partner == e.cfg.RCS.PagerPartner)
}

// acceptRCS takes a MESSAGE of the RCS side toward an SMS or SIP pager
// user. Like an MSRP message from RCS it goes to the partner that owns
// the recipient, in the conversation of the two parties, which sessions
// of theirs share; it is queued before the 202. A sender that asked for
// delivery notifications keeps its CPIM document with the message, so
// that the node that delivers it can answer (notifyPager).
func (e *Engine) acceptRCS(ctx context.Context, m *pager.Message) error {
	if e.draining.Load() {
		return errDraining
	}
	if m.Notification != nil {
		return e.pagerNotification(ctx, m)
	}
	sms, rcs := partyOf(m.To), partyOf(m.From)
	r, ok := e.route(sms)
	if !ok {
		return errNoRoute
	}
	p, err := e.admit(r.Name)
	if err != nil {
		return err
	}
	id := m.IMDN.MessageID
	if id == "" {
		id = m.ID
	}
	q := &queued{ID: id, Dir: toSMS, Ingress: ingressSIP, Text: m.Text, At: m.ReceivedAt.UnixNano()}
	if m.CPIM != nil && m.IMDN.Disposition&(cpim.PositiveDelivery|cpim.NegativeDelivery) != 0 {
		q.Notify = m.CPIM
	}
	dup, err := e.enqueue(ctx, p, convKey{p.Name, sms, rcs}, m.ID, q)
	if err != nil {
		return err
	}
	if dup {
		return pager.ErrDuplicate
	}
	return nil
}

// pagerNotification is an IMDN that came as a MESSAGE: RCS clients send
// the notifications of standalone messages that way, and those of
// session messages once the session is gone. A delivery notification
// about a message that waits for one becomes its receipt, before the
// 202; otherwise there is nothing to do.
func (e *Engine) pagerNotification(ctx context.Context, m *pager.Message) error {
	sms, rcs := partyOf(m.To), partyOf(m.From)
	p, ok := e.route(sms)
	if !ok {
		e.log.Debug("imdn for no partner", "message_id", m.Notification.MessageID)
		return nil
	}
	return e.notified(ctx, convKey{p.Name, sms, rcs}, *m.Notification)
}

// notifyPager sends the IMDN delivery notification the sender of a
// MESSAGE of the RCS side asked for (RFC 5438 section 7.2.1), once the
// pager side has answered, as a MESSAGE of its own toward the sender.
func (c *conv) notifyPager(ctx context.Context, q *queued, o Outcome) {
	if len(q.Notify) == 0 {
		return
	}
	e := c.e
	if err := c.sendPagerNotification(ctx, q, o); err != nil {
		e.fail(c.partner.Name, "imdn", err)
	}
}

func (c *conv) sendPagerNotification(ctx context.Context, q *queued, o Outcome) error {
	e := c.e
	orig, err := cpim.ParseOptions{Tolerant: true}.Parse(q.Notify)
	if err != nil {
		return fmt.Errorf("interwork: imdn of %s: %w", q.ID, err)
	}
	i, err := orig.IMDN()
	if err != nil || !i.Wants(cpim.DeliveryNotification, o.IMDNStatus()) {
		return err
	}
	if e.cfg.Pager == nil || e.cfg.RCS.PagerPartner == "" {
		return errNoPager
	}
	from, err1 := c.k.SMS.address()
	to, err2 := c.k.RCS.address()
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	n, err := cpim.NewNotification(orig, cpim.DeliveryNotification, o.IMDNStatus())
	if err != nil {
		return fmt.Errorf("interwork: imdn of %s: %w", q.ID, err)
	}
	nm, err := cpim.NotificationMessage(orig, n, cpim.NewMessageID(), e.now())
	if err != nil {
		return fmt.Errorf("interwork: imdn of %s: %w", q.ID, err)
	}
	body, err := nm.Marshal()
	if err != nil {
		return fmt.Errorf("interwork: imdn of %s: %w", q.ID, err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	results, err := e.cfg.Pager.SendText(sctx, pager.Outgoing{Partner: e.cfg.RCS.PagerPartner, From: from, To: to, CPIM: body})
	if err != nil {
		return fmt.Errorf("interwork: imdn of %s: %w", q.ID, err)
	}
	if ro := outcomeOfResults(results); ro != Delivered {
		return fmt.Errorf("interwork: imdn of %s: %s", q.ID, ro)
	}
	return nil
}

// pagerOutgoing is q as a MESSAGE toward the RCS party: on a CPM trunk,
// a standalone message with q's id as imdn.Message-ID, asking for the
// delivery notifications when the SMS sender wants a receipt, in the
// conversation's Conversation-ID.
func (c *conv) pagerOutgoing(ctx context.Context, q *queued) (pager.Outgoing, error) {
	from, err1 := c.k.SMS.address()
	to, err2 := c.k.RCS.address()
	if err := errors.Join(err1, err2); err != nil {
		return pager.Outgoing{}, err
	}
	out := pager.Outgoing{
		Partner: c.e.cfg.RCS.PagerPartner, From: from, To: to, Text: q.Text, CallID: q.ID,
		MessageID: q.ID, DateTime: time.Unix(0, q.At), ConversationID: c.conversationID(ctx),
	}
	if q.Receipt != nil {
		out.Disposition = cpim.PositiveDelivery | cpim.NegativeDelivery
	}
	return out, nil
}

// conversationID is the Conversation-ID of the conversation's sessions,
// "" when it never had one.
func (c *conv) conversationID(ctx context.Context) string {
	if call := c.currentCall(); call != nil {
		return call.ConversationID()
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if rec, err := c.e.cfg.Records.LoadConversation(rctx, c.key); err == nil {
		return rec["conversation_id"]
	}
	return ""
}

// largeMessage sends q in Large Message Mode (OMA CPM, RCC.07 section
// 3.2.4.2): a text too large for a standalone MESSAGE goes over an MSRP
// session opened for it alone with the large-message ICSI, and the
// session ends (BYE) once the peer confirmed the message.
func (c *conv) largeMessage(ctx context.Context, q *queued) Outcome {
	e := c.e
	to, err1 := c.k.RCS.address()
	from, err2 := c.k.SMS.address()
	if err := errors.Join(err1, err2); err != nil {
		e.fail(c.partner.Name, "large message", err)
		return Rejected
	}
	body, err := c.cpimBody(q)
	if err != nil {
		e.fail(c.partner.Name, "large message", err)
		return Rejected
	}
	trunk := e.cfg.RCS.Trunk
	trunk.Name = c.partner.Name
	// Only the large-message service is named, in Contact,
	// Accept-Contact and P-Preferred-Service alike: a chat session's
	// feature tags would route the INVITE to the chat function. We only
	// send on it: a=sendonly (RFC 4566 section 6).
	octx, cancel := context.WithTimeout(ctx, c.partner.Policy.OpenTimeout)
	call, err := e.cfg.RCS.Sessions.Open(octx, sipsession.OpenRequest{
		From: from.SIPURI(e.cfg.RCS.Domain), To: to.SIPURI(trunk.NextHopHost()), Trunk: trunk,
		ConversationID: c.conversationID(ctx),
		Service:        pager.ICSILargeMessage, Direction: msrpsdp.SendOnly,
	})
	cancel()
	if err != nil {
		e.fail(c.partner.Name, "large message", err)
		return outcomeOfOpen(err)
	}
	defer c.closeCall(call)
	// As with a session's sends, a send in flight finishes when the node
	// stops; the session's transaction timeout bounds it.
	if _, err := call.Send(context.WithoutCancel(ctx), &session.OutgoingMessage{
		MessageID: q.ID, ContentType: "message/cpim", Body: body,
	}); err != nil {
		e.fail(c.partner.Name, "large message", err)
		var se *session.StatusError
		if errors.As(err, &se) && !se.Local {
			return OutcomeOfMSRP(se.Code)
		}
		return Expired
	}
	c.partner.counters.add(counterLargeMessages, 1)
	return Delivered
}

// counterLargeMessages counts texts sent in Large Message Mode.
const counterLargeMessages counter = "large_messages"
