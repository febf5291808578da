package interwork

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	// SMSIP, in a message of an SMS over IP sender that set TP-SRR, is
	// the status report it is owed (smsip.go).
	SMSIP *smsipReport `json:"smsip,omitempty"`
	// TPDU, in an entry toward an SMS over IP user, is a TPDU to send as
	// it is (an SMS-STATUS-REPORT) in place of a text.
	TPDU []byte `json:"tpdu,omitempty"`
	// Reported, in an entry toward the SMS side, is an IMDN about a
	// message this conversation sent, that reached another node: the
	// owner's worker makes it the receipt (receipts_forward.go).
	Reported *forwardedIMDN `json:"reported,omitempty"`
	// imdnPending says its delivery is its IMDN's to tell: the 2xx
	// that took it is no delivery receipt (receipts_imdn.go).
	imdnPending bool
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
	// Also are the message_ids of the other segments of a concatenated
	// message that asked for a receipt: each submit_sm was acknowledged
	// under its own id, and the ESME waits for a receipt for each.
	Also []string `json:"also,omitempty"`
}

// segmentReceipts is where the receipts of a reassembled message go: the
// segment that completed it (rt, nil when it asked for none) and every
// other part that asked for one.
func segmentReceipts(rt *receiptTo, parts []concat.Part) *receiptTo {
	for _, pt := range parts {
		prt := partReceipt(pt)
		switch {
		case prt == nil || (rt != nil && prt.ID == rt.ID):
		case rt == nil:
			rt = prt
		case !slices.Contains(rt.Also, prt.ID):
			c := *rt
			c.Also = append(slices.Clip(rt.Also), prt.ID)
			rt = &c
		}
	}
	return rt
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
	p, ok := e.lookupPartner(name)
	if !ok || p.removed {
		return nil, errNoPartner
	}
	if e.draining.Load() {
		return nil, errDraining
	}
	if e.Suspended(name) {
		return nil, errSuspended
	}
	if !e.allowMessage(p) {
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
	payload, err := appendQueuedJSON(make([]byte, 0, queuedSize(q)), q)
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
	if m.SMS != nil {
		return e.acceptSMSIP(ctx, m) // smsip.go
	}
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
	return e.smsArrived(ctx, p, m, smsArrival{
		id: id, ingress: ingressSMPP, cfg: p.SMS, receipt: rt,
		key: func() (convKey, error) {
			src, dst, err := smsParties(p.Numbering, m)
			return convKey{p.Name, src, dst}, err
		},
		meta: rt, merge: func(q *queued, parts []concat.Part) { q.Receipt = segmentReceipts(rt, parts) },
	})
}

// smsArrival is what tells the ways an SMS arrives apart (SMPP, SMS over
// IP) where they share reassembly and queueing.
type smsArrival struct {
	// id is the message's id; key reads its conversation, after the
	// content was found relayable.
	id  string
	key func() (convKey, error)
	// ingress names the way it came.
	ingress ingress
	// cfg reads its coding and applies the partner's NonText policy.
	cfg SMSConfig
	// receipt is where its SMPP delivery receipt goes, nil for none.
	receipt *receiptTo
	// meta, kept with each segment, says what the segment's sender is
	// owed when the message fails; nil for nothing.
	meta any
	// merge sets on the reassembled message what its segments asked for.
	merge func(q *queued, parts []concat.Part)
	// prepare, when set, completes the queued message before it is
	// stored (SMS over IP keeps its status report there).
	prepare func(q *queued)
	// dedup names a message that is not a segment for duplicate
	// detection; "" when a resend of it cannot be recognised.
	dedup string
}

// smsArrived reassembles and queues an SMS toward the RCS side, m carrying
// its user data as SMPP does.
func (e *Engine) smsArrived(ctx context.Context, p *partner, m *smpp.Message, a smsArrival) error {
	id, rt := a.id, a.receipt
	c, in, drop, err := a.cfg.inbound(m)
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
	packed := a.cfg.Packed
	key, err := a.key()
	if err != nil {
		return err
	}
	q := &queued{ID: id, Dir: toRCS, Ingress: a.ingress, At: now.UnixNano(), Receipt: rt}
	if !validity.IsZero() {
		q.Expires = validity.UnixNano()
	}
	if a.prepare != nil {
		a.prepare(q)
	}
	if !in.Concatenated {
		if q.Text, err = in.Decode(c, packed); err != nil {
			return errBadText
		}
		// id is ours, made up for this submit: a resend of it would get
		// another, so only a dedup the way in names is kept.
		_, err = e.enqueue(ctx, p, key, a.dedup, q)
		return err
	}
	part, err := in.Part(c, packed)
	if err != nil {
		return errBadText
	}
	if a.meta != nil && !isNilReceipt(a.meta) {
		// Each segment was acknowledged under its own id: a reassembly
		// that fails owes each its failure receipt.
		if part.Meta, err = json.Marshal(a.meta); err != nil {
			return err
		}
	}
	ck := in.Key(p.Name, key.SMS.id, key.RCS.id)
	actx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	res, err := p.reasm.Add(actx, ck, part, now)
	cancel()
	switch {
	case errors.Is(err, concat.ErrStoreFull):
		p.counters.add(counterRefused, 1)
		return errPartsFull
	case errors.Is(err, concat.ErrTooManySegments):
		return errTooLong
	case errors.Is(err, concat.ErrMalformed):
		return errBadText
	case err != nil:
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
		if a.merge != nil {
			a.merge(q, res.Parts)
		}
		// The reassembly instance is the message's identity: if this
		// node dies before the release, the expiry that finds the parts
		// does not queue it twice.
		if _, err := e.enqueue(ctx, p, key, reassemblyID(res), q); err != nil {
			return err
		}
		return p.reasm.Release(ctx, ck)
	}
	// The parts do not decode: this segment is refused, the ones
	// acknowledged before get their failure receipts.
	res.Parts = slices.DeleteFunc(res.Parts, func(x concat.Part) bool { return x.Seq == part.Seq })
	e.reassemblyFailed(ctx, p, res)
	if err := p.reasm.Release(ctx, ck); err != nil {
		e.fail(p.Name, "reassembly", err)
	}
	return errBadText
}

// isNilReceipt reports a meta that is a nil *receiptTo (an SMPP segment
// whose sender asked for no receipt).
func isNilReceipt(meta any) bool {
	rt, ok := meta.(*receiptTo)
	return ok && rt == nil
}

// reassemblyID is the dedup id of a reassembled message: one reassembly,
// not its reference, which the sender may use again for its next message.
func reassemblyID(r concat.Result) string { return "sms:" + r.Instance() }

// partReceipt reads where a part's failure receipt goes; nil when its
// sender asked for none.
func partReceipt(pt concat.Part) *receiptTo {
	var rt receiptTo
	if len(pt.Meta) == 0 || json.Unmarshal(pt.Meta, &rt) != nil || rt.ID == "" {
		return nil
	}
	return &rt
}

// reassemblyOutcome is what a failed reassembly tells the senders of its
// parts: EXPIRED when segments stopped arriving, REJECTD when they do not
// decode.
func reassemblyOutcome(r concat.Result) Outcome {
	if r.Err != nil {
		return Rejected
	}
	return Expired
}

// reassemblyFailed counts a reassembly that did not become the whole
// message, and sends each part whose sender asked its failure receipt.
func (e *Engine) reassemblyFailed(ctx context.Context, p *partner, r concat.Result) {
	in := partsIngress(r.Parts)
	p.counters.add(counterFailed, 1)
	e.cfg.Metrics.Message(p.Name, toRCS.metric(), string(in), outcomeFailed)
	e.fail(p.Name, "reassembly", fmt.Errorf("%v message (ref %d) %s: parts %v missing: %w", r.Key.Style, r.Key.Ref, r.Status, r.Missing, cmp.Or(r.Err, errIncomplete)))
	if in == ingressSMSIP {
		// A partial message went to its recipient carrying its
		// segments' status reports (reassembled): they tell its outcome.
		if r.Status != concat.Partial {
			e.smsipReassemblyFailed(ctx, p, r, reassemblyOutcome(r)) // smsip.go
		}
		return
	}
	for _, pt := range r.Parts {
		if rt := partReceipt(pt); rt != nil {
			e.queueReceipt(ctx, p, &queued{ID: rt.ID, Dir: toRCS, Ingress: ingressSMPP, Text: r.Text, At: pt.At.UnixNano(), Receipt: rt}, reassemblyOutcome(r))
		}
	}
}

// reassembled settles a reassembly that timed out (or completed on a node
// that died before releasing it): the message is queued, or its senders
// get their failure receipts, and its parts are released. It reports
// false when the message must wait for the next round: the store did not
// take it, or the release failed.
func (e *Engine) reassembled(ctx context.Context, p *partner, r concat.Result) bool {
	if r.Status == concat.Complete || r.Status == concat.Partial {
		q := &queued{ID: msrp.NewID(), Dir: toRCS, Ingress: ingressSMPP, Text: r.Text, At: r.Started.UnixNano()}
		if r.Started.IsZero() {
			q.At = e.now().UnixNano()
		}
		switch {
		case partsIngress(r.Parts) == ingressSMSIP:
			// Complete or partial, it keeps its way in and the status
			// reports its segments asked for, as smsipSubmit's.
			q.Ingress, q.SMSIP = ingressSMSIP, mergeReports(nil, r.Parts)
		case r.Status == concat.Complete:
			// The segment that completed it arrived last: its submit's
			// id and receipt stand for the message, as in smsIn.
			if last := latestPart(r.Parts); last != nil {
				if rt := partReceipt(*last); rt != nil {
					q.ID = rt.ID
				}
				q.Receipt = segmentReceipts(partReceipt(*last), r.Parts)
			}
		}
		key := convKey{p.Name, readParty(r.Key.Source), readParty(r.Key.Destination)}
		_, err := e.enqueue(ctx, p, key, reassemblyID(r), q)
		switch {
		case errors.Is(err, errUnavailable):
			return false
		case err != nil:
			// Refused for good (its conversation's queue is full): the
			// message fails like one that never completed.
			r.Status, r.Err = concat.Failed, err
		}
	}
	if r.Status != concat.Complete {
		e.reassemblyFailed(ctx, p, r)
	}
	if err := p.reasm.Release(ctx, r.Key); err != nil {
		e.fail(p.Name, "reassembly", err)
		return false
	}
	return true
}

// latestPart is the part that arrived last, nil for none.
func latestPart(parts []concat.Part) *concat.Part {
	var last *concat.Part
	for i := range parts {
		if last == nil || parts[i].At.After(last.At) {
			last = &parts[i]
		}
	}
	return last
}
