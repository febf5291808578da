package interwork

import (
	"context"
	"encoding/json"
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
	out, err := c.pagerOutgoing(ctx, q)
	if err != nil {
		e.fail(c.partner.Name, "pager relay", err)
		return Rejected
	}
	awaits := c.beforePagerSend(ctx, q)
	o := c.sendPager(ctx, q, out)
	if awaits && ctx.Err() == nil {
		c.afterPagerSend(ctx, q, o)
	}
	return o
}

// sendPager sends out, q's MESSAGE, or q in Large Message Mode when it
// is too large for one.
func (c *conv) sendPager(ctx context.Context, q *queued, out pager.Outgoing) Outcome {
	e := c.e
	results, err := e.cfg.Pager.SendText(ctx, out)
	if tooLarge := (*pager.BodyTooLargeError)(nil); errors.As(err, &tooLarge) {
		return c.largeMessage(ctx, q)
	}
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
	o, awaiting, err := c.deliverSMS(dctx, q)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		e.fail(p.Name, "deliver", err)
		// Not delivered for now (throttled, try later, no answer, no
		// bind up): keep the message queued and try again later, from
		// the segment that failed, within the partner's retry policy and
		// the message's validity.
		if errors.Is(err, errNotSent) && c.mayRetry(q) {
			c.attempts++
			return false
		}
	}
	c.attempts = 0
	c.forgetProgress(q)
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
		// The SMSC's receipts will say whether the handset got it: the
		// IMDN waits for them (smscReceipt).
		if !awaiting {
			c.notify(ctx, in, o)
		}
	}
	c.notifyPager(ctx, q, o)
	c.lastActive = time.Now()
	return true
}

// smsProgress is how far a message toward the SMS side went: segments
// accepted, and the reference of each concatenated text. A retry after a
// temporary failure (or a crash) resumes at the segment that failed,
// under the same reference, so the handset puts the segments together
// and never gets the earlier ones again under a new one. Its JSON is
// kept in the store: keep it compatible.
type smsProgress struct {
	Sent int            `json:"sent"`
	Refs map[int]uint16 `json:"refs,omitempty"`
}

func (c *conv) progressKey(q *queued) string { return "smsprogress:" + c.key + "/" + q.ID }

// loadProgress returns the progress of q: this worker's own, else the
// one a previous owner left in the store, else none.
func (c *conv) loadProgress(ctx context.Context, q *queued) *smsProgress {
	c.mu.Lock()
	pr, ok := c.progress[q.ID]
	c.mu.Unlock()
	if ok {
		return pr
	}
	pr = &smsProgress{Refs: map[int]uint16{}}
	if v, ok, err := c.e.cfg.Records.Get(ctx, c.progressKey(q)); err == nil && ok {
		if json.Unmarshal(v, pr) != nil || pr.Refs == nil {
			pr = &smsProgress{Refs: map[int]uint16{}}
		}
	}
	c.mu.Lock()
	c.progress[q.ID] = pr
	c.mu.Unlock()
	return pr
}

// saveProgress keeps pr in the store until q expires.
func (c *conv) saveProgress(ctx context.Context, q *queued, pr *smsProgress) error {
	b, err := json.Marshal(pr)
	if err != nil {
		return err
	}
	ttl := time.Until(time.Unix(0, q.expiry(c.partner.Policy))) + time.Hour
	return c.e.cfg.Records.Put(ctx, c.progressKey(q), b, max(ttl, time.Hour))
}

func (c *conv) forgetProgress(q *queued) {
	c.mu.Lock()
	_, ok := c.progress[q.ID]
	delete(c.progress, q.ID)
	c.mu.Unlock()
	if ok {
		ctx, cancel := c.afterwards(2 * time.Second)
		defer cancel()
		_ = c.e.cfg.Records.Delete(ctx, c.progressKey(q))
	}
}

// smsPermanent reports the outcome of a send error that trying again
// would not change: a final refusal by the peer (SMPP 3.4 5.1.3: all but
// throttling, a full queue, try later and system error), a message that
// cannot be put on the wire, a partner unknown to the SMPP side.
func smsPermanent(err error) (Outcome, bool) {
	var se *smpp.StatusError
	switch {
	case errors.As(err, &se):
		if se.Temporary() {
			return 0, false
		}
		return Undeliverable, true
	case errors.Is(err, smpp.ErrInvalidMessage):
		return Rejected, true
	case errors.Is(err, smpp.ErrUnknownPartner):
		return Undeliverable, true
	}
	return 0, false
}

// deliverSMS sends the text to the partner within its limits: several
// concatenated SMS or MESSAGEs, one truncated, or none (overflow reject).
// awaiting is set when the SMSC's receipts are to say the outcome to the
// RCS sender. An error wrapping errNotSent may be tried again: the next
// call resumes where this one stopped.
func (c *conv) deliverSMS(ctx context.Context, q *queued) (o Outcome, awaiting bool, err error) {
	if c.partner.DeliverVia == ViaSIP {
		o, err := c.deliverSIP(ctx, q)
		return o, false, err
	}
	e := c.e
	if e.cfg.SMS == nil {
		return Undeliverable, false, fmt.Errorf("interwork: partner %s: no smpp side", c.partner.Name)
	}
	texts, err := c.smsTexts(q.Text)
	if err != nil {
		return Rejected, false, err
	}
	// An identity with no SMPP form is refused, never sent as an
	// alphanumeric it is not.
	src, err := smpp.AddressOf(c.k.RCS.id)
	if err != nil {
		return Rejected, false, err
	}
	dst, err := smpp.AddressOf(c.k.SMS.id)
	if err != nil {
		return Rejected, false, err
	}
	pr := c.loadProgress(ctx, q)
	opts := c.partner.SMS.TextOptions()
	var all []*smpp.Message
	for i, text := range texts {
		var refErr error
		next := func() (uint16, error) {
			if r, ok := pr.Refs[i]; ok {
				return r, nil
			}
			r, err := e.cfg.Refs.NextRef(ctx, c.k.SMS.id)
			if err != nil {
				refErr = err
				return 0, err
			}
			pr.Refs[i] = r
			// Kept before its first segment goes out: a retry after a
			// crash sends under the same reference.
			if err := c.saveProgress(ctx, q, pr); err != nil {
				delete(pr.Refs, i)
				refErr = err
				return 0, err
			}
			return r, nil
		}
		msgs, err := smpp.TextMessages(src, dst, text, opts, next)
		if refErr != nil {
			return Expired, false, fmt.Errorf("%w: reference: %w", errNotSent, refErr)
		}
		if err != nil {
			return Rejected, false, err
		}
		all = append(all, msgs...)
	}
	for k := pr.Sent; k < len(all); k++ {
		id, err := e.cfg.SMS.Send(ctx, c.partner.Name, all[k], c.partner.SMS.Receipts)
		if err != nil {
			if o, ok := smsPermanent(err); ok {
				return o, false, err
			}
			// A throttled, queue-full or try-later answer (SMPP 3.4
			// 5.1.3), a timeout or a lost bind: segment k and those after
			// it are tried again within the message's validity. A
			// timed-out segment may have arrived: sent again, it has the
			// same reference and number, and the handset keeps one.
			return Expired, false, fmt.Errorf("%w: segment %d of %d: %w", errNotSent, k+1, len(all), err)
		}
		pr.Sent = k + 1
		if id != "" && c.partner.SMS.Receipts && q.CPIM != nil {
			if merr := c.e.mapSMSCID(ctx, c, q, id, len(all)); merr != nil {
				c.e.fail(c.partner.Name, "receipt correlation", merr)
			} else {
				awaiting = true
			}
		}
		if pr.Sent < len(all) {
			if err := c.saveProgress(ctx, q, pr); err != nil {
				// Kept in memory for this worker's retries; after a crash
				// the segments since the last save go again, under the
				// same reference.
				c.e.log.Warn("sms progress", "conversation", c.key, "error", err)
			}
		}
	}
	return Delivered, awaiting, nil
}

// deliverSIP sends the text to a SIP pager partner.
func (c *conv) deliverSIP(ctx context.Context, q *queued) (Outcome, error) {
	if c.partner.SMSOverIP {
		return c.deliverSMSIP(ctx, q) // smsip.go
	}
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
