package interwork

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"iwf/internal/cpim"
	"iwf/pager"
)

// IMDNs that come after the message's own answer. A message sent toward
// an RCS user in CPIM with imdn.Disposition-Notification "positive-
// delivery" is delivered when the recipient's IMDN says so (RFC 5438
// section 7.2.1), not when the first hop took it: a 202 to a standalone
// MESSAGE (OMA CPM pager mode, Large Message Mode) only means the RCS
// core has it. Such a message whose SMS sender asked for a receipt is
// owed the provisional receipt at the end of its validity, as one sent
// in a session with a Success-Report (oweAccepted), and waits in the
// store under its imdn.Message-ID until that end: the IMDN may come to
// any node, in a MESSAGE or in another session, long after the worker
// that sent it stopped. The IMDN's receipt replaces the provisional one.
// Messages sent in a session and still waiting when the session is
// lost are put there too (conv.spillAwaiting): no REPORT can come on a
// dead session, an IMDN still can.

// imdnWait is a message waiting in the store for its IMDN. Its JSON is
// what the store holds across restarts: keep it compatible.
type imdnWait struct {
	// Conv is the conversation's key: only its RCS party reports on it.
	Conv string `json:"conv"`
	// Message is the message, its text cut to what the receipt quotes.
	Message *queued `json:"message"`
}

func imdnWaitKey(partner, id string) string { return "imdnwait:" + partner + ":" + id }

// pagerProfiles is the part of a Pager that knows its trunks' profiles
// (*pager.Sender).
type pagerProfiles interface{ Profile(partner string) string }

// pagerAwaitsIMDN reports whether q, sent pager-mode toward the RCS
// side, is delivered only by its IMDN: the pager trunk is CPM (which
// asks for positive-delivery) and the SMS sender wants a receipt.
func (c *conv) pagerAwaitsIMDN(q *queued) bool {
	e := c.e
	if q.Receipt == nil || e.cfg.SMS == nil || !e.cfg.SMS.AcceptsBinds() {
		return false
	}
	pp, ok := e.cfg.Pager.(pagerProfiles)
	return ok && pp.Profile(e.cfg.RCS.PagerPartner) == pager.ProfileCPM
}

// beforePagerSend files q for its IMDN before it goes pager-mode: in
// the store, then the provisional receipt, so that neither an IMDN
// quicker than the 202 nor the receipt it brings is missed or
// replaced. False when q waits for no IMDN: its 2xx is its delivery.
func (c *conv) beforePagerSend(ctx context.Context, q *queued) bool {
	if !c.pagerAwaitsIMDN(q) {
		return false
	}
	e := c.e
	if err := e.awaitIMDN(ctx, c.partner, c.key, q); err != nil {
		e.fail(c.partner.Name, "imdn wait", err)
		return false
	}
	e.oweAccepted(ctx, c.partner, q, false)
	return true
}

// afterPagerSend settles what beforePagerSend filed once the MESSAGE (or
// the Large Message Mode session) ended with o: taken, q waits for its
// IMDN (finish owes no receipt of it) and gets its intermediate
// notification when asked; refused, it waits no longer, and the
// failure's receipt replaces the provisional one.
func (c *conv) afterPagerSend(ctx context.Context, q *queued, o Outcome) {
	if o == Delivered {
		q.imdnPending = true
		c.e.oweAccepted(ctx, c.partner, q, true)
		return
	}
	c.e.forgetIMDN(ctx, c.partner.Name, q.ID)
}

// awaitIMDN keeps q in the store under its id until it expires.
func (e *Engine) awaitIMDN(ctx context.Context, p *partner, conv string, q *queued) error {
	ttl := time.Unix(0, q.expiry(p.Policy)).Sub(e.now())
	if ttl <= 0 {
		return nil // the provisional receipt is already due
	}
	m := *q
	m.Text = receiptText(q.Text)
	m.CPIM, m.Notice, m.Notify = nil, nil, nil
	b, err := json.Marshal(imdnWait{Conv: conv, Message: &m})
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	defer cancel()
	if err := e.cfg.Records.Put(sctx, imdnWaitKey(p.Name, q.ID), b, ttl); err != nil {
		return fmt.Errorf("interwork: imdn wait of %s: %w", q.ID, err)
	}
	return nil
}

// forgetIMDN ends the wait for the IMDN of id; the entry expiring does
// the same later.
func (e *Engine) forgetIMDN(ctx context.Context, partner, id string) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.StoreWait)
	defer cancel()
	if err := e.cfg.Records.Delete(sctx, imdnWaitKey(partner, id)); err != nil {
		e.log.Debug("imdn wait", "partner", partner, "message_id", id, "error", err)
	}
}

// notified takes a delivery notification from the RCS party of
// conversation k, by MESSAGE or on a session: the local worker's
// message waiting for it, else one waiting in the store, gets its
// receipt; else it goes to the node that owns the conversation, whose
// worker may hold the message in memory (forwardIMDN). A notification
// about nothing waiting anywhere is dropped.
func (e *Engine) notified(ctx context.Context, k convKey, n cpim.Notification) error {
	if n.Kind != cpim.DeliveryNotification {
		return nil
	}
	e.mu.Lock()
	c := e.convs[k.String()]
	e.mu.Unlock()
	if c != nil && c.reported(n.MessageID, OutcomeOfIMDN(n.Status)) {
		return nil
	}
	found, err := e.imdnReceipt(ctx, k, n)
	if err != nil || found || c != nil {
		return err
	}
	return e.forwardIMDN(ctx, k, n)
}

// imdnReceipt owes the receipt a notification brings for a message that
// waits in the store for it, and ends the wait; found is false when no
// message waits there.
func (e *Engine) imdnReceipt(ctx context.Context, k convKey, n cpim.Notification) (found bool, err error) {
	p, ok := e.lookupPartner(k.Partner)
	if !ok || n.MessageID == "" {
		return true, nil // nobody can wait for it
	}
	key := imdnWaitKey(p.Name, n.MessageID)
	sctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	defer cancel()
	v, ok, err := e.cfg.Records.Get(sctx, key)
	if err != nil {
		return false, fmt.Errorf("%w: %w", errUnavailable, err)
	}
	if !ok {
		return false, nil
	}
	var w imdnWait
	if err := json.Unmarshal(v, &w); err != nil || w.Message == nil {
		e.fail(p.Name, "imdn wait", fmt.Errorf("unreadable wait of %s: %v", n.MessageID, err))
		return true, nil
	}
	if w.Conv != k.String() {
		// Only the recipient reports on a message (RFC 5438 section
		// 7.2.1.1): ids are guessable enough not to take others' word.
		e.log.Debug("imdn from another party", "partner", p.Name, "message_id", n.MessageID)
		return true, nil
	}
	o := OutcomeOfIMDN(n.Status)
	if w.Message.Receipt != nil && w.Message.Receipt.wantsFinal(o) {
		now := e.now()
		if err := e.owe(ctx, p, w.Message, o, now, now); err != nil {
			return false, fmt.Errorf("%w: %w", errUnavailable, err)
		}
	}
	if o != Delivered {
		p.counters.add(counterFailed, 1)
	}
	e.forgetIMDN(ctx, p.Name, n.MessageID)
	return true, nil
}

// awaited is a message sent in a session that waits for its REPORT or
// IMDN.
type awaited struct {
	q *queued
	// call carried it: its REPORT can only come on it.
	call Call
	// imdn says it went in CPIM asking for delivery notifications: an
	// IMDN may still come once call is gone.
	imdn bool
}

// maxAwaiting bounds the entries a conversation keeps waiting in memory
// (one or two a message: its id, and its MSRP Message-ID when that
// differs); awaitPruneEvery is how often the expired ones are dropped.
// Peers that never report (no REPORT despite Success-Report, no IMDN)
// must not make a long-lived session grow without end.
const (
	maxAwaiting     = 8192
	awaitPruneEvery = time.Minute
)

// await files q for its REPORT, which names the MSRP Message-ID, and its
// IMDN, which names the original id.
func (c *conv) await(q *queued, msrpID string, call Call, imdn bool) {
	a := &awaited{q: q, call: call, imdn: imdn}
	now := c.e.now()
	c.mu.Lock()
	var evicted []*awaited
	if len(c.awaiting) >= maxAwaiting || !now.Before(c.pruneAt) {
		evicted = c.pruneAwaitingLocked(now)
	}
	c.awaiting[q.ID] = a
	c.awaiting[msrpID] = a
	c.mu.Unlock()
	c.keepAwaiting(evicted)
}

// pruneAwaitingLocked drops the expired messages, whose provisional
// receipt is due anyway, then, when the conversation keeps too many,
// the oldest down to half the bound; those of the latter that may still get an IMDN are
// returned, to wait in the store. c.mu is held.
func (c *conv) pruneAwaitingLocked(now time.Time) []*awaited {
	c.pruneAt = now.Add(awaitPruneEvery)
	pol := c.partner.Policy
	var live []*awaited
	for id, a := range c.awaiting {
		if now.UnixNano() >= a.q.expiry(pol) {
			delete(c.awaiting, id)
		} else if id == a.q.ID {
			live = append(live, a)
		}
	}
	if len(c.awaiting) < maxAwaiting {
		return nil
	}
	// Down to half, so that the next prune is far off.
	slices.SortFunc(live, func(x, y *awaited) int { return cmp.Compare(x.q.At, y.q.At) })
	var evicted []*awaited
	for _, a := range live {
		if len(c.awaiting) <= maxAwaiting/2 {
			break
		}
		delete(c.awaiting, a.q.ID)
		delete(c.awaiting, msrpMessageID(a.q.ID))
		if a.imdn {
			evicted = append(evicted, a)
		}
	}
	return evicted
}

// spillAwaiting ends the wait in memory for what was sent on call, which
// ended: no REPORT can come on it any more. A message that may still
// get an IMDN, in a MESSAGE or another session, waits for it in the
// store, where any node finds it; the others are left to their
// provisional receipt.
func (c *conv) spillAwaiting(call Call) {
	var spilled []*awaited
	c.mu.Lock()
	for id, a := range c.awaiting {
		if a.call != call {
			continue
		}
		delete(c.awaiting, id)
		if id == a.q.ID && a.imdn {
			spilled = append(spilled, a)
		}
	}
	c.mu.Unlock()
	c.keepAwaiting(spilled)
}

// keepAwaiting puts messages taken out of memory in the store to wait
// for their IMDN.
func (c *conv) keepAwaiting(as []*awaited) {
	if len(as) == 0 {
		return
	}
	for _, a := range as {
		// An IMDN that finds one in the store owes its receipt at
		// once: after the provisional one.
		c.owedFirst(a.q)
	}
	ctx, cancel := c.afterwards(time.Duration(len(as)) * c.e.cfg.StoreWait)
	defer cancel()
	for _, a := range as {
		if err := c.e.awaitIMDN(ctx, c.partner, c.key, a.q); err != nil {
			c.e.fail(c.partner.Name, "imdn wait", err)
		}
	}
}
