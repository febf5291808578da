package interwork

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"iwf/pager"
	"iwf/session/msrp"
	"iwf/smpp"
	"iwf/smpp/concat"
	"iwf/store"
)

// queued is a message as it waits in its conversation's queue. Its JSON
// is what the store holds across restarts: keep it compatible.
type queued struct {
	ID      string    `json:"id"`
	Dir     direction `json:"dir"`
	Ingress ingress   `json:"in"`
	Text    string    `json:"text"`
	// At is when it was accepted (Unix nanoseconds), for latency.
	At int64 `json:"at"`
	// Expires is when it stops being worth delivering (Unix
	// nanoseconds): the SMS validity period, else the partner's max_age
	// after At. Zero in entries queued before it existed: see expiry.
	Expires int64 `json:"exp,omitempty"`
	// Promote says the promotion policy wants a session for it.
	Promote bool `json:"promote,omitempty"`
	// Receipt, when set, is where its delivery receipt goes.
	Receipt *receiptTo `json:"receipt,omitempty"`
	// Notify is the CPIM document of a MESSAGE from the RCS side whose
	// sender asked for delivery notifications (notifyPager).
	Notify []byte `json:"notify,omitempty"`
	// CPIM is the document a message from the RCS side came in, kept
	// when its sender asked for delivery notifications: an SMSC's
	// receipt turns into one, on any node (smscReceipt).
	CPIM []byte `json:"cpim,omitempty"`
	// Notice, in an entry toward the RCS side, is an IMDN (a
	// message/cpim document) to send in place of a text.
	Notice []byte `json:"notice,omitempty"`
}

// expiry is when q expires (Unix nanoseconds); entries queued before
// expiry was recorded take max_age after they were accepted.
func (q *queued) expiry(pol Policy) int64 {
	if q.Expires != 0 {
		return q.Expires
	}
	return time.Unix(0, q.At).Add(pol.MaxAge).UnixNano()
}

// receiptTo is what a delivery receipt toward an SMS sender needs.
type receiptTo struct {
	// ID is the message_id we answered the submit_sm with.
	ID      string `json:"id"`
	SrcTON  byte   `json:"src_ton"`
	SrcNPI  byte   `json:"src_npi"`
	SrcAddr string `json:"src"`
	DstTON  byte   `json:"dst_ton"`
	DstNPI  byte   `json:"dst_npi"`
	DstAddr string `json:"dst"`
	// RD is the submit_sm's registered_delivery (SMPP 3.4 5.2.17); 0 in
	// entries queued before it was kept, which asked for every final
	// receipt.
	RD byte `json:"rd,omitempty"`
}

func newReceiptTo(id string, m *smpp.Message) *receiptTo {
	return &receiptTo{ID: id, SrcTON: m.Source.TON, SrcNPI: m.Source.NPI, SrcAddr: m.Source.Addr,
		DstTON: m.Dest.TON, DstNPI: m.Dest.NPI, DstAddr: m.Dest.Addr, RD: m.RegisteredDelivery}
}

func (r *receiptTo) source() smpp.Address {
	return smpp.Address{TON: r.SrcTON, NPI: r.SrcNPI, Addr: r.SrcAddr}
}
func (r *receiptTo) dest() smpp.Address {
	return smpp.Address{TON: r.DstTON, NPI: r.DstNPI, Addr: r.DstAddr}
}

// admit checks the partner, draining and the rate limit.
func (e *Engine) admit(name string) (*partner, error) {
	p, ok := e.partners[name]
	if !ok {
		return nil, errNoPartner
	}
	if e.draining.Load() {
		return nil, errDraining
	}
	if p.limiter != nil && !p.limiter.allow() {
		p.counters.add(counterThrottled, 1)
		return nil, errThrottled
	}
	return p, nil
}

// enqueue stores q in its conversation and wakes the worker. dedupID
// names the request for duplicate detection; "" when it has no name a
// resend would repeat.
func (e *Engine) enqueue(ctx context.Context, p *partner, key convKey, dedupID string, q *queued) (dup bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	defer cancel()
	k := key.String()
	if q.Dir == toRCS {
		switch p.Policy.Promotion {
		case PromoteAlways:
			q.Promote = true
		case PromoteThreshold:
			n, err := e.cfg.Records.Hit(ctx, "hits:"+k, p.Policy.ThresholdWindow)
			if err != nil {
				return false, fmt.Errorf("%w: %w", errUnavailable, err)
			}
			q.Promote = n >= int64(p.Policy.Threshold)
		}
	}
	if q.Expires == 0 {
		q.Expires = time.Unix(0, q.At).Add(p.Policy.MaxAge).UnixNano()
	}
	payload, err := json.Marshal(q)
	if err != nil {
		return false, err
	}
	dup, err = e.cfg.Queue.Enqueue(ctx, k, dedupID, payload, p.Policy.DedupTTL, p.Policy.QueueMax)
	switch {
	case errors.Is(err, store.ErrQueueFull):
		p.counters.add(counterRefused, 1)
		e.cfg.Metrics.Message(p.Name, q.Dir.metric(), string(q.Ingress), outcomeRefused)
		return false, errQueueFull
	case err != nil:
		e.fail(p.Name, "enqueue", err)
		return false, fmt.Errorf("%w: %w", errUnavailable, err)
	case dup:
		p.counters.add(counterDuplicates, 1)
		e.cfg.Metrics.Message(p.Name, q.Dir.metric(), string(q.Ingress), outcomeDuplicate)
		return true, nil
	}
	p.counters.add(counterIn(q.Ingress), 1)
	e.cfg.Metrics.Message(p.Name, q.Dir.metric(), string(q.Ingress), outcomeAccepted)
	e.ensureWorker(ctx, key)
	return false, nil
}

// Accept implements pager.Store: a SIP MESSAGE from a pager partner.
func (e *Engine) Accept(ctx context.Context, m *pager.Message) error {
	if e.fromRCSPager(m) {
		return e.acceptRCS(ctx, m)
	}
	p, err := e.admit(m.Partner)
	if err != nil {
		return err
	}
	id := m.IMDN.MessageID
	if id == "" {
		id = m.ID
	}
	q := &queued{ID: id, Dir: toRCS, Ingress: ingressSIP, Text: m.Text, At: m.ReceivedAt.UnixNano()}
	dup, err := e.enqueue(ctx, p, convKey{p.Name, partyOf(m.From), partyOf(m.To)}, m.ID, q)
	if err != nil {
		return err
	}
	if dup {
		return pager.ErrDuplicate
	}
	return nil
}

// HandleSubmit implements smpp.SubmitHandler: a submit_sm from a partner
// ESME. A segment of a concatenated message is acknowledged once stored
// in the reassembly store; the message is queued when its last segment
// arrives.
func (e *Engine) HandleSubmit(ctx context.Context, partnerName string, m *smpp.Message) (string, error) {
	p, err := e.admit(partnerName)
	if err != nil {
		return "", err
	}
	id := msrp.NewID()
	var rt *receiptTo
	if wantsReceipt(m.RegisteredDelivery) {
		rt = newReceiptTo(id, m)
	}
	return id, e.smsIn(ctx, p, m, id, rt)
}

// HandleDeliver implements smpp.DeliverHandler: mobile-originated
// messages and receipts from a partner's SMSC.
func (e *Engine) HandleDeliver(ctx context.Context, partnerName string, m *smpp.Message) error {
	if m.IsReceipt() {
		return e.smscReceipt(ctx, partnerName, m)
	}
	p, err := e.admit(partnerName)
	if err != nil {
		return err
	}
	return e.smsIn(ctx, p, m, msrp.NewID(), nil)
}

// smsParties reads a message's addresses as conversation parties under
// the partner's numbering plan; one that cannot be read refuses the
// message with ESME_RINVSRCADR or ESME_RINVDSTADR (its SMPPStatus).
func smsParties(n smpp.Numbering, m *smpp.Message) (src, dst party, err error) {
	sk, err := n.SourceKey(m.Source)
	if err != nil {
		return party{}, party{}, err
	}
	dk, err := n.DestKey(m.Dest)
	if err != nil {
		return party{}, party{}, err
	}
	return readParty(sk), readParty(dk), nil
}

// smsIn reassembles and queues an SMS toward the RCS side.
func (e *Engine) smsIn(ctx context.Context, p *partner, m *smpp.Message, id string, rt *receiptTo) error {
	c, in, drop, err := p.SMS.inbound(m)
	if err != nil {
		return err
	}
	now := e.now()
	if drop {
		e.dropSMS(ctx, p, id, rt, now)
		return nil
	}
	validity, err := smpp.ParseTime(m.ValidityPeriod, now)
	if err != nil {
		return errBadValidity
	}
	packed := p.SMS.Packed
	src, dst, err := smsParties(p.Numbering, m)
	if err != nil {
		return err
	}
	key := convKey{p.Name, src, dst}
	q := &queued{ID: id, Dir: toRCS, Ingress: ingressSMPP, At: now.UnixNano(), Receipt: rt}
	if !validity.IsZero() {
		q.Expires = validity.UnixNano()
	}
	if !in.Concatenated {
		if q.Text, err = in.Decode(c, packed); err != nil {
			return errBadText
		}
		// id is ours, made up for this submit: a resend of it would get
		// another, so no duplicate marker is kept for it.
		_, err = e.enqueue(ctx, p, key, "", q)
		return err
	}
	part, err := in.Part(c, packed)
	if err != nil {
		return errBadText
	}
	ck := in.Key(p.Name, key.SMS.id, key.RCS.id)
	actx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	res, err := e.reasm.Add(actx, ck, part, now)
	cancel()
	if errors.Is(err, concat.ErrStoreFull) {
		return errQueueFull
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	switch res.Status {
	case concat.Pending:
		return nil
	case concat.Duplicate:
		p.counters.add(counterDuplicates, 1)
		return nil
	case concat.Complete:
		q.Text = res.Text
		// The reassembly key is the message's identity: a resent last
		// segment after a lost response is not queued twice.
		if _, err := e.enqueue(ctx, p, key, reassemblyID(ck), q); err != nil {
			return err
		}
		return e.reasm.Release(ctx, ck)
	}
	return errBadText
}

// reassemblyID is the dedup id of a reassembled message.
func reassemblyID(k concat.Key) string {
	return fmt.Sprintf("sms:%s:%d:%d", k.Source, k.Ref, k.Total)
}

// reassembled handles a message whose segments timed out.
func (e *Engine) reassembled(ctx context.Context, r concat.Result) {
	p, ok := e.partners[r.Key.Partner]
	if !ok {
		return
	}
	if r.Status != concat.Partial {
		p.counters.add(counterFailed, 1)
		e.fail(p.Name, "reassembly", fmt.Errorf("message from %s to %s incomplete: parts %v missing", r.Key.Source, r.Key.Destination, r.Missing))
		return
	}
	key := convKey{p.Name, readParty(r.Key.Source), readParty(r.Key.Destination)}
	q := &queued{ID: msrp.NewID(), Dir: toRCS, Ingress: ingressSMPP, Text: r.Text, At: time.Now().UnixNano()}
	if _, err := e.enqueue(ctx, p, key, reassemblyID(r.Key), q); err != nil {
		e.fail(p.Name, "reassembly", err)
		return
	}
	_ = e.reasm.Release(ctx, r.Key)
}
