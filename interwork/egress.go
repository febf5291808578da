package interwork

import (
	"context"
	"errors"
	"fmt"
	"time"

	"iwf/internal/cpim"
	"iwf/pager"
	"iwf/pager/split"
	"iwf/session"
	"iwf/session/msrp"
	"iwf/smpp"
)

// relay sends q pager-mode toward the RCS side as a SIP MESSAGE.
func (c *conv) relay(ctx context.Context, q *queued) Outcome {
	e := c.e
	if e.cfg.Pager == nil || e.cfg.RCS.PagerPartner == "" {
		e.fail(c.partner.Name, "pager relay", errNoPager)
		return Undeliverable
	}
	from, err1 := c.k.SMS.address()
	to, err2 := c.k.RCS.address()
	if err := errors.Join(err1, err2); err != nil {
		e.fail(c.partner.Name, "pager relay", err)
		return Rejected
	}
	results, err := e.cfg.Pager.SendText(ctx, pager.Outgoing{Partner: e.cfg.RCS.PagerPartner, From: from, To: to, Text: q.Text, CallID: q.ID})
	if err != nil {
		e.fail(c.partner.Name, "pager relay", err)
	}
	o := outcomeOfResults(results)
	if err != nil && o == Delivered {
		o = Undeliverable
	}
	if o == Delivered {
		c.partner.counters.add(counterRelayed, 1)
		e.cfg.Metrics.Message(c.partner.Name, toRCS.metric(), string(q.Ingress), outcomeRelayed)
	}
	return o
}

// outcomeOfResults is the outcome of a text sent as one or more
// MESSAGEs: the last failure, else delivered.
func outcomeOfResults(results []pager.Result) Outcome {
	o := Delivered
	for _, r := range results {
		if ro := OutcomeOfSIP(r.Status); ro != Delivered {
			o = ro
		}
	}
	return o
}

// toSMS delivers a message of the RCS side to the partner and reports
// the outcome on the session it came from.
func (c *conv) toSMS(ctx context.Context, q *queued) bool {
	e := c.e
	p := c.partner
	// As with sends into a session, a delivery in flight finishes when
	// the node stops (bounded), so that no segment goes out twice.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	o, err := c.deliverSMS(dctx, q)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		e.fail(p.Name, "deliver", err)
		// Nothing went out (the partner has no bind up, the connection
		// dropped): keep the message queued and try again later, within
		// the partner's retry policy.
		if errors.Is(err, errNotSent) && c.mayRetry(q) {
			c.attempts++
			return false
		}
	}
	c.attempts = 0
	if o == Delivered {
		p.counters.add(counterOut(p.DeliverVia), 1)
		e.cfg.Metrics.Message(p.Name, toSMS.metric(), string(q.Ingress), outcomeDelivered)
		e.cfg.Metrics.Delivery(p.Name, toSMS.metric(), time.Since(time.Unix(0, q.At)))
	} else {
		p.counters.add(counterFailed, 1)
		e.cfg.Metrics.Message(p.Name, toSMS.metric(), string(q.Ingress), outcomeFailed)
	}
	if in, ok := c.takeReport(q.ID); ok {
		code := o.MSRPStatus()
		if errors.Is(err, split.ErrOverflow) {
			code = 413
		}
		if rerr := in.msg.Report(code, ""); rerr != nil {
			e.log.Debug("report", "conversation", c.key, "error", rerr)
		}
		c.notify(ctx, in, o)
	}
	c.lastActive = time.Now()
	return true
}

// deliverSMS sends the text to the partner within its limits: several
// concatenated SMS or MESSAGEs, one truncated, or none (overflow reject).
func (c *conv) deliverSMS(ctx context.Context, q *queued) (Outcome, error) {
	if c.partner.DeliverVia == ViaSIP {
		return c.deliverSIP(ctx, q)
	}
	e := c.e
	if e.cfg.SMS == nil {
		return Undeliverable, fmt.Errorf("interwork: partner %s: no smpp side", c.partner.Name)
	}
	texts, err := c.smsTexts(q.Text)
	if err != nil {
		return Rejected, err
	}
	src, dst := smpp.AddressOf(c.k.RCS.id), smpp.AddressOf(c.k.SMS.id)
	opts := c.partner.SMS.TextOptions()
	next := func() (uint16, error) { return e.cfg.Refs.NextRef(ctx, c.k.SMS.id) }
	sent := 0
	for _, text := range texts {
		msgs, err := smpp.TextMessages(src, dst, text, opts, next)
		if err != nil {
			return Rejected, err
		}
		for _, m := range msgs {
			if err := e.cfg.SMS.Send(ctx, c.partner.Name, m, c.partner.SMS.Receipts); err != nil {
				var se *smpp.StatusError
				permanent := errors.As(err, &se) && !se.Temporary()
				switch {
				case permanent:
					return Undeliverable, err
				case sent == 0:
					// Nothing left yet: a throttled, queue-full or
					// try-later answer (SMPP 3.4 5.1.3), a timeout or a
					// lost bind is tried again within the message's
					// validity.
					return Expired, fmt.Errorf("%w: %w", errNotSent, err)
				}
				return Expired, err
			}
			sent++
		}
	}
	return Delivered, nil
}

// deliverSIP sends the text to a SIP pager partner.
func (c *conv) deliverSIP(ctx context.Context, q *queued) (Outcome, error) {
	if c.e.cfg.Pager == nil {
		return Undeliverable, errNoPager
	}
	from, err1 := c.k.RCS.address()
	to, err2 := c.k.SMS.address()
	if err := errors.Join(err1, err2); err != nil {
		return Rejected, err
	}
	results, err := c.e.cfg.Pager.SendText(ctx, pager.Outgoing{Partner: c.partner.Name, From: from, To: to, Text: q.Text, CallID: q.ID})
	if err != nil {
		if errors.Is(err, split.ErrOverflow) {
			return Rejected, err
		}
		return Undeliverable, err
	}
	return outcomeOfResults(results), nil
}

// smsTexts applies the partner's coding and segment cap to text
// (SMSConfig.Texts).
func (c *conv) smsTexts(text string) ([]string, error) {
	return c.partner.SMS.Texts(text)
}

// notify sends the IMDN delivery notification the RCS sender asked for
// (RFC 5438 section 7.2.1) on the conversation's session.
func (c *conv) notify(ctx context.Context, in inboundMsg, o Outcome) {
	if in.cpim == nil {
		return
	}
	i, err := in.cpim.IMDN()
	if err != nil || !i.Wants(cpim.DeliveryNotification, o.IMDNStatus()) {
		return
	}
	// The session the message came on; the worker may not have taken
	// that call yet.
	call := in.call
	if call == nil {
		call = c.currentCall()
	}
	if call == nil {
		return
	}
	n, err := cpim.NewNotification(in.cpim, cpim.DeliveryNotification, o.IMDNStatus())
	if err != nil {
		return
	}
	nm, err := cpim.NotificationMessage(in.cpim, n, msrp.NewID(), time.Now())
	if err != nil {
		return
	}
	body, err := nm.Marshal()
	if err != nil {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := call.Send(sctx, &session.OutgoingMessage{ContentType: "message/cpim", Body: body}); err != nil {
		c.e.log.Debug("imdn", "conversation", c.key, "error", err)
	}
}
