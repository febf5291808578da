package interwork

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"iwf/internal/address"
	"iwf/internal/cpim"
	"iwf/pager"
	"iwf/pager/split"
	"iwf/session"
	"iwf/session/msrp"
	"iwf/smpp"
	"iwf/smpp/receipt"
)

// relay sends q pager-mode toward the RCS side as a SIP MESSAGE.
func (c *conv) relay(ctx context.Context, q *queued) Outcome {
	e := c.e
	if e.cfg.Pager == nil || e.cfg.RCS.PagerPartner == "" {
		e.fail(c.partner.Name, "pager relay", errNoPager)
		return Undeliverable
	}
	from, err1 := address.Parse(c.k.SMS, address.Options{})
	to, err2 := address.Parse(c.k.RCS, address.Options{})
	if err := errors.Join(err1, err2); err != nil {
		e.fail(c.partner.Name, "pager relay", err)
		return Rejected
	}
	results, err := e.cfg.Pager.SendText(ctx, pager.Outgoing{Partner: e.cfg.RCS.PagerPartner, From: from, To: to, Text: q.Text, CallID: q.ID})
	if err != nil {
		e.fail(c.partner.Name, "pager relay", err)
	}
	o := Delivered
	for _, r := range results {
		if ro := OutcomeOfSIP(r.Status); ro != Delivered {
			o = ro
		}
	}
	if err != nil && o == Delivered {
		o = Undeliverable
	}
	if o == Delivered {
		c.partner.counters.add("relayed", 1)
		e.cfg.Metrics.Message(c.partner.Name, "to_session", q.Ingress, "relayed")
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
		if errors.Is(err, errNotSent) && c.attempts < p.Policy.MaxRetries {
			c.attempts++
			return false
		}
	}
	c.attempts = 0
	if o == Delivered {
		p.counters.add("out_"+p.DeliverVia, 1)
		e.cfg.Metrics.Message(p.Name, "to_pager", q.Ingress, "delivered")
		e.cfg.Metrics.Delivery(p.Name, "to_pager", time.Since(time.Unix(0, q.At)))
	} else {
		p.counters.add("failed", 1)
		e.cfg.Metrics.Message(p.Name, "to_pager", q.Ingress, "failed")
	}
	c.mu.Lock()
	in, ok := c.inbound[q.ID]
	delete(c.inbound, q.ID)
	c.mu.Unlock()
	if ok {
		code := o.MSRPStatus()
		if errors.Is(err, split.ErrOverflow) {
			code = 413
		}
		if rerr := in.msg.Report(code, ""); rerr != nil {
			e.log.Debug("report", "error", rerr)
		}
		c.notify(ctx, in, o)
	}
	c.lastActive = time.Now()
	return true
}

// deliverSMS sends the text to the partner within its limits: several
// concatenated SMS or MESSAGEs, one truncated, or none (overflow reject).
func (c *conv) deliverSMS(ctx context.Context, q *queued) (Outcome, error) {
	e := c.e
	p := c.partner
	if p.DeliverVia == "sip" {
		if e.cfg.Pager == nil {
			return Undeliverable, errNoPager
		}
		from, _ := address.Parse(c.k.RCS, address.Options{})
		to, _ := address.Parse(c.k.SMS, address.Options{})
		results, err := e.cfg.Pager.SendText(ctx, pager.Outgoing{Partner: p.Name, From: from, To: to, Text: q.Text, CallID: q.ID})
		if err != nil {
			if errors.Is(err, split.ErrOverflow) {
				return Rejected, err
			}
			return Undeliverable, err
		}
		o := Delivered
		for _, r := range results {
			if ro := OutcomeOfSIP(r.Status); ro != Delivered {
				o = ro
			}
		}
		return o, nil
	}
	texts, err := c.smsTexts(q.Text)
	if err != nil {
		return Rejected, err
	}
	src, dst := smppAddress(c.k.RCS), smppAddress(c.k.SMS)
	opts := p.SMS.TextOptions()
	next := func() (uint16, error) { return e.refs.NextRef(ctx, c.k.SMS) }
	sent := 0
	for _, text := range texts {
		msgs, err := smpp.TextMessages(src, dst, text, opts, next)
		if err != nil {
			return Rejected, err
		}
		for _, m := range msgs {
			if err := c.sendSMS(ctx, m); err != nil {
				var se *smpp.StatusError
				switch {
				case errors.As(err, &se):
					return Undeliverable, err
				case sent == 0:
					return Expired, fmt.Errorf("%w: %w", errNotSent, err)
				}
				return Expired, err
			}
			sent++
		}
	}
	return Delivered, nil
}

// smsTexts applies the partner's segment cap to text.
func (c *conv) smsTexts(text string) ([]string, error) {
	sms := c.partner.SMS
	opts := sms.TextOptions()
	n, per, err := smpp.Units(text, opts)
	if err != nil {
		return nil, err
	}
	limit := per * sms.MaxSegments
	if sms.MaxSegments == 1 {
		limit = n // one SMS: the single-segment capacity is the coding's own
	}
	if n <= limit {
		return []string{text}, nil
	}
	measure := func(s string) int {
		u, _, err := smpp.Units(s, opts)
		if err != nil {
			return len(s) * 2
		}
		return u
	}
	parts, err := split.Text(text, split.Options{Measure: measure, Limit: limit, Policy: sms.OverflowPolicy(), Marker: sms.Marker})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(parts))
	for i, pt := range parts {
		out[i] = pt.Text
	}
	return out, nil
}

// sendSMS sends one segment: deliver_sm to the partner's ESME binds, or
// submit_sm to its SMSC.
func (c *conv) sendSMS(ctx context.Context, m *smpp.Message) error {
	e := c.e
	name := c.partner.Name
	if cl, ok := e.cfg.SMPPClients[name]; ok {
		if c.partner.SMS.Receipts {
			m.RegisteredDelivery = 1
		}
		_, err := cl.Submit(ctx, m)
		return err
	}
	if e.cfg.SMPPServer == nil {
		return fmt.Errorf("interwork: partner %s has no smpp binds", name)
	}
	_, err := e.cfg.SMPPServer.Deliver(ctx, name, m)
	return err
}

// receiptJob is a delivery receipt waiting to be sent.
type receiptJob struct {
	p    *partner
	q    *queued
	o    Outcome
	done time.Time
}

// receiptSenders is how many receipts are in flight at once: each waits
// for its deliver_sm_resp, and the MSRP reader that saw the REPORT must
// not wait with it.
const receiptSenders = 64

// queueReceipt hands a receipt to the senders; a full queue slows the
// caller down rather than dropping it.
func (e *Engine) queueReceipt(ctx context.Context, j receiptJob) {
	if e.cfg.SMPPServer == nil {
		return
	}
	select {
	case e.receipts <- j:
	case <-e.ctx.Done():
	case <-ctx.Done():
	}
}

// sendReceipts sends queued receipts until the engine stops.
func (e *Engine) sendReceipts() {
	defer e.wg.Done()
	for {
		select {
		case j := <-e.receipts:
			e.receipt(e.ctx, j)
		case <-e.ctx.Done():
			return
		}
	}
}

// receipt sends an SMS delivery receipt to the partner ESME that
// submitted the message.
func (e *Engine) receipt(ctx context.Context, j receiptJob) {
	p, q, o := j.p, j.q, j.o
	rt := q.Receipt
	now := j.done.UTC()
	r := receipt.Receipt{
		ID:         rt.ID,
		State:      o.ReceiptState(),
		Submitted:  1,
		SubmitDate: time.Unix(0, q.At).UTC(),
		DoneDate:   now,
		Text:       q.Text, // receipt.Build keeps the first 20 characters
	}
	if o == Delivered {
		r.Delivered = 1
	}
	m, err := smpp.ReceiptMessage(rt.dest(), rt.source(), r)
	if err != nil {
		e.fail(p.Name, "receipt", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := e.cfg.SMPPServer.Deliver(ctx, p.Name, m); err != nil {
		if errors.Is(err, smpp.ErrNoBind) {
			// The partner's receiving binds are on other nodes (or
			// down): whichever node has one takes it (relayReceipts).
			e.parkReceipt(ctx, j)
			return
		}
		e.fail(p.Name, "receipt", err)
		return
	}
	p.counters.add("receipts", 1)
}

// parkedReceipt is a receiptJob as it waits in the store.
type parkedReceipt struct {
	Message *queued `json:"message"`
	Outcome Outcome `json:"outcome"`
	Done    int64   `json:"done"`
}

// receiptList is the store list where a partner's receipts wait for a
// node with one of its receiving binds.
func receiptList(partner string) string { return "receipts:" + partner }

// maxParkedReceipts bounds a partner's waiting receipts.
const maxParkedReceipts = 100000

func (e *Engine) parkReceipt(ctx context.Context, j receiptJob) {
	b, err := json.Marshal(parkedReceipt{Message: j.q, Outcome: j.o, Done: j.done.UnixNano()})
	if err == nil {
		err = e.cfg.Store.Push(ctx, receiptList(j.p.Name), b, maxParkedReceipts)
	}
	if err != nil {
		e.fail(j.p.Name, "receipt", fmt.Errorf("no receiving bind, and the receipt could not wait: %w", err))
		return
	}
	j.p.counters.add("receipts_parked", 1)
}

// relayReceipts delivers the partner's parked receipts while this node
// has one of its receiving binds.
func (e *Engine) relayReceipts(ctx context.Context, p *partner) {
	defer e.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for ctx.Err() == nil {
		if !hasReceiver(e.cfg.SMPPServer, p.Name) {
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
			continue
		}
		v, ok, err := e.cfg.Store.Pop(ctx, receiptList(p.Name), time.Second)
		if err != nil || !ok {
			if err != nil && ctx.Err() == nil {
				e.log.Warn("parked receipts", "partner", p.Name, "error", err)
				select {
				case <-ctx.Done():
				case <-tick.C:
				}
			}
			continue
		}
		var pr parkedReceipt
		if err := json.Unmarshal(v, &pr); err != nil || pr.Message == nil || pr.Message.Receipt == nil {
			e.fail(p.Name, "receipt", fmt.Errorf("unreadable parked receipt: %v", err))
			continue
		}
		e.receipt(ctx, receiptJob{p: p, q: pr.Message, o: pr.Outcome, done: time.Unix(0, pr.Done)})
	}
}

// hasReceiver reports whether partner has a bound receiver or
// transceiver on srv.
func hasReceiver(srv *smpp.Server, partner string) bool {
	for _, b := range srv.Status() {
		if b.Partner == partner && b.State == smpp.StateBound && (b.Kind == "receiver" || b.Kind == "transceiver") {
			return true
		}
	}
	return false
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
		c.e.log.Debug("imdn", "error", err)
	}
}

// errNotSent marks a delivery that failed before its first segment left.
var errNotSent = errors.New("interwork: nothing sent")
