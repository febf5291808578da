package interwork

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"iwf/internal/cpim"
	"iwf/session"
	"iwf/session/msrp"
	"iwf/smpp"
)

// Receipts from a partner's SMSC (deliver_sm with a receipt esm_class on
// our client binds) are about the submits we made for RCS senders. Each
// submit_sm_resp's message id is kept in the store with what the IMDN
// back needs: the conversation, the message's id, its CPIM document and
// how many segments it went in. The receipt may reach any node (the one
// whose bind the SMSC chose): that node reads the mapping and queues the
// IMDN in the conversation, whose owner sends it on the session (opening
// one when none is up). The MSRP REPORT goes at submit_sm_resp, as it
// answers the SEND and cannot wait hours on a session that may be gone;
// the positive IMDN waits for the receipts, which say whether the
// handset has the message (RFC 5438 "delivered"). A message in several
// segments is delivered once each segment's receipt says DELIVRD; one
// failure fails it. One IMDN per message at most (the queue's dedup).

// smscMapping is what a receipt from the SMSC needs to reach the RCS
// sender. Its JSON is kept in the store: keep it compatible.
type smscMapping struct {
	Conv     string `json:"conv"`
	Msg      string `json:"msg"`
	Segments int    `json:"segments"`
	CPIM     []byte `json:"cpim"`
	Expires  int64  `json:"exp"`
}

func smscIDKey(partner, id string) string { return "smscid:" + partner + ":" + id }

// mapSMSCID keeps the SMSC's message id of one segment of q.
func (e *Engine) mapSMSCID(ctx context.Context, c *conv, q *queued, id string, segments int) error {
	exp := time.Unix(0, q.expiry(c.partner.Policy))
	b, err := json.Marshal(smscMapping{Conv: c.key, Msg: q.ID, Segments: segments, CPIM: q.CPIM, Expires: exp.UnixNano()})
	if err != nil {
		return err
	}
	// SMSCs send receipts until the validity ends; a day more covers
	// their retries.
	ttl := max(exp.Sub(e.now()), 0) + 24*time.Hour
	return e.cfg.Records.Put(ctx, smscIDKey(c.partner.Name, id), b, ttl)
}

// smscReceipt takes a delivery receipt from partner's SMSC: a final one
// about a message an RCS sender wants notified of becomes its IMDN,
// queued in the conversation before the deliver_sm_resp.
func (e *Engine) smscReceipt(ctx context.Context, partnerName string, m *smpp.Message) error {
	p, ok := e.lookupPartner(partnerName)
	if !ok {
		return nil
	}
	p.counters.add(counterSMSCReceipts, 1)
	r, err := m.Receipt()
	if err != nil || r.ID == "" {
		// Nothing to match it with; answering an error would only make
		// the SMSC send it again.
		e.log.Debug("smsc receipt unreadable", "partner", p.Name, "error", err)
		return nil
	}
	o, final := OutcomeOfReceipt(r.State)
	if !final {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	defer cancel()
	v, ok, err := e.cfg.Records.Get(sctx, smscIDKey(p.Name, r.ID))
	if err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	if !ok {
		return nil // a message nobody asked to be notified of
	}
	var mp smscMapping
	if err := json.Unmarshal(v, &mp); err != nil {
		e.fail(p.Name, "smsc receipt", fmt.Errorf("unreadable mapping of %s: %w", r.ID, err))
		return nil
	}
	if o == Delivered && mp.Segments > 1 {
		ttl := max(time.Unix(0, mp.Expires).Sub(e.now()), 0) + 24*time.Hour
		n, err := e.cfg.Records.Hit(sctx, "smscdelivered:"+p.Name+":"+mp.Conv+"/"+mp.Msg, ttl)
		if err != nil {
			return fmt.Errorf("%w: %w", errUnavailable, err)
		}
		if n < int64(mp.Segments) {
			return nil
		}
	}
	orig, err := cpim.Parse(mp.CPIM)
	if err != nil {
		return nil
	}
	if i, err := orig.IMDN(); err != nil || !i.Wants(cpim.DeliveryNotification, o.IMDNStatus()) {
		return nil
	}
	n, err := cpim.NewNotification(orig, cpim.DeliveryNotification, o.IMDNStatus())
	if err != nil {
		return nil
	}
	nm, err := cpim.NotificationMessage(orig, n, msrp.NewID(), e.now())
	if err != nil {
		return nil
	}
	body, err := nm.Marshal()
	if err != nil {
		return nil
	}
	key, err := parseConvKey(mp.Conv)
	if err != nil {
		return nil
	}
	q := &queued{ID: "imdn:" + mp.Msg, Dir: toRCS, Ingress: ingressSMPP, At: e.now().UnixNano(),
		Expires: mp.Expires, Notice: body}
	_, err = e.enqueue(ctx, p, key, "imdn:"+mp.Msg, q)
	return err
}

// toRCSNotice sends an IMDN queued in the conversation on its session,
// opening one when none is up; false keeps it queued for a retry.
func (c *conv) toRCSNotice(ctx context.Context, q *queued) bool {
	call := c.currentCall()
	if call == nil {
		opened, err := c.open(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			c.e.fail(c.partner.Name, "imdn session", err)
			return c.noticeRetry(q)
		}
		c.attempts = 0
		c.setCall(opened)
		call = opened
	}
	_, err := call.Send(context.WithoutCancel(ctx), &session.OutgoingMessage{ContentType: "message/cpim", Body: q.Notice})
	if err != nil {
		var se *session.StatusError
		if errors.As(err, &se) && !se.Local && !sessionGone(se.Code) {
			c.e.fail(c.partner.Name, "imdn", err)
			return true // refused for good
		}
		if ctx.Err() != nil {
			return false
		}
		c.e.fail(c.partner.Name, "imdn", err)
		c.dropCall()
		return c.noticeRetry(q)
	}
	c.attempts = 0
	return true
}

// noticeRetry keeps an IMDN queued while it may still be tried.
func (c *conv) noticeRetry(q *queued) bool {
	if c.mayRetry(q) {
		c.attempts++
		return false
	}
	c.attempts = 0
	return true
}
