package interwork

import (
	"context"
	"fmt"

	"iwf/internal/cpim"
)

// IMDNs that reach a node other than the conversation's owner. A message
// sent in a session waits for its REPORT or IMDN in the memory of the
// node that holds the session (conv.awaiting). Its REPORT can only come
// on that session, so to that node; its IMDN may come in a SIP MESSAGE,
// which an SBC or DNS SRV hands to any node, or in a session the RCS
// side opened to another node. Such an IMDN, when no message waits for
// it in the store, is queued in the conversation, and so reaches the
// owner as its other messages do (Notify wakes it, and the queue is
// durable: a dead owner's successor reads it, and finds the message in
// the store if the old session's wait was spilled there). One store
// round trip more per IMDN that comes the other way, none for the
// others.

// forwardedIMDN is a delivery notification in a conversation's queue.
// Its JSON is kept in the store: keep it compatible.
type forwardedIMDN struct {
	MessageID string      `json:"id"`
	Status    cpim.Status `json:"status"`
}

// forwardIMDN queues n in conversation k for the node that owns it; n is
// dropped when no node does: no worker holds a message waiting in
// memory then.
func (e *Engine) forwardIMDN(ctx context.Context, k convKey, n cpim.Notification) error {
	p, ok := e.lookupPartner(k.Partner)
	if !ok || n.MessageID == "" {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	owner, err := e.cfg.Leases.Owner(sctx, k.String())
	cancel()
	if err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	if owner == "" || owner == e.cfg.Node {
		e.log.Debug("imdn about nothing waiting", "partner", p.Name, "message_id", n.MessageID)
		return nil
	}
	now := e.now()
	q := &queued{ID: "imdnfwd:" + n.MessageID, Dir: toSMS, Ingress: ingressSIP, At: now.UnixNano(),
		Reported: &forwardedIMDN{MessageID: n.MessageID, Status: n.Status}}
	_, err = e.enqueue(ctx, p, k, q.ID, q)
	return err
}

// forwardedIMDN takes an IMDN another node queued: the message waiting
// here in memory gets its receipt, else one waiting in the store; false
// keeps it queued while the store does not answer.
func (c *conv) forwardedIMDN(ctx context.Context, q *queued) bool {
	n := cpim.Notification{MessageID: q.Reported.MessageID, Kind: cpim.DeliveryNotification, Status: q.Reported.Status}
	if c.reported(n.MessageID, OutcomeOfIMDN(n.Status)) {
		return true
	}
	if _, err := c.e.imdnReceipt(ctx, c.k, n); err != nil {
		if ctx.Err() != nil {
			return false
		}
		c.e.fail(c.partner.Name, "imdn", err)
		return c.noticeRetry(q)
	}
	return true
}
