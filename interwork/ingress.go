package interwork

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"iwf/internal/address"
	"iwf/pager"
	"iwf/session/msrp"
	"iwf/smpp"
	"iwf/smpp/coding"
	"iwf/smpp/concat"
	"iwf/store"
)

// Directions of a queued message.
const (
	toRCS = "rcs" // flow 1: pager side -> MSRP session
	toSMS = "sms" // flow 2: MSRP session -> pager side
)

// queued is a message as it waits in its conversation's queue.
type queued struct {
	ID      string `json:"id"`
	Dir     string `json:"dir"`
	Ingress string `json:"in"`
	Text    string `json:"text"`
	// At is when it was accepted (Unix nanoseconds), for latency.
	At int64 `json:"at"`
	// Promote says the promotion policy wants a session for it.
	Promote bool `json:"promote,omitempty"`
	// Receipt, when set, is where its delivery receipt goes.
	Receipt *receiptTo `json:"receipt,omitempty"`
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
}

func newReceiptTo(id string, m *smpp.Message) *receiptTo {
	return &receiptTo{ID: id, SrcTON: m.Source.TON, SrcNPI: m.Source.NPI, SrcAddr: m.Source.Addr,
		DstTON: m.Dest.TON, DstNPI: m.Dest.NPI, DstAddr: m.Dest.Addr}
}

func (r *receiptTo) source() smpp.Address {
	return smpp.Address{TON: r.SrcTON, NPI: r.SrcNPI, Addr: r.SrcAddr}
}
func (r *receiptTo) dest() smpp.Address {
	return smpp.Address{TON: r.DstTON, NPI: r.DstNPI, Addr: r.DstAddr}
}

// Refusal is an ingress refused before anything was stored; it carries
// the answer for each side.
type Refusal struct {
	Reason string
	SIP    int
	SMPP   uint32
	MSRP   int
}

func (r *Refusal) Error() string { return "interwork: " + r.Reason }

// SIPStatus answers a MESSAGE (pager.Store).
func (r *Refusal) SIPStatus() int { return r.SIP }

// SMPPStatus answers a submit_sm (smpp.StatusOf).
func (r *Refusal) SMPPStatus() uint32 { return r.SMPP }

// MSRPStatus answers an MSRP SEND (session.Reject semantics).
func (r *Refusal) MSRPStatus() int { return r.MSRP }

var (
	errThrottled   = &Refusal{"partner rate limit", 503, smpp.StatusThrottled, 503}
	errQueueFull   = &Refusal{"conversation queue full", 503, smpp.StatusMsgQFul, 503}
	errUnavailable = &Refusal{"store unavailable", 503, smpp.StatusXTAppn, 503}
	errDrainingRef = &Refusal{"draining", 503, smpp.StatusXTAppn, 503}
	errNoPartner   = &Refusal{"unknown partner", 403, smpp.StatusInvSysID, 403}
	errBadText     = &Refusal{"text cannot be decoded", 415, smpp.StatusXPAppn, 415}
)

// admit checks the partner, draining and the rate limit.
func (e *Engine) admit(name string) (*partner, error) {
	p, ok := e.partners[name]
	if !ok {
		return nil, errNoPartner
	}
	if e.draining.Load() {
		return nil, errDrainingRef
	}
	if p.limiter != nil && !p.limiter.allow() {
		p.counters.add("throttled", 1)
		return nil, errThrottled
	}
	return p, nil
}

// enqueue stores q in its conversation and wakes the worker. dedupID
// names the request for duplicate detection.
func (e *Engine) enqueue(ctx context.Context, p *partner, key convKey, dedupID string, q *queued) (dup bool, err error) {
	k := key.String()
	if q.Dir == toRCS {
		switch p.Policy.Promotion {
		case PromoteAlways:
			q.Promote = true
		case PromoteThreshold:
			n, err := e.cfg.Store.Hit(ctx, "hits:"+k, p.Policy.ThresholdWindow)
			if err != nil {
				return false, fmt.Errorf("%w: %w", errUnavailable, err)
			}
			q.Promote = n >= int64(p.Policy.Threshold)
		}
	}
	payload, err := json.Marshal(q)
	if err != nil {
		return false, err
	}
	dup, err = e.cfg.Store.Enqueue(ctx, k, dedupID, payload, p.Policy.DedupTTL, p.Policy.QueueMax)
	switch {
	case errors.Is(err, store.ErrQueueFull):
		p.counters.add("refused", 1)
		e.cfg.Metrics.Message(p.Name, directionName(q.Dir), q.Ingress, "refused")
		return false, errQueueFull
	case err != nil:
		e.fail(p.Name, "enqueue", err)
		return false, fmt.Errorf("%w: %w", errUnavailable, err)
	case dup:
		p.counters.add("duplicates", 1)
		e.cfg.Metrics.Message(p.Name, directionName(q.Dir), q.Ingress, "duplicate")
		return true, nil
	}
	p.counters.add("in_"+q.Ingress, 1)
	e.cfg.Metrics.Message(p.Name, directionName(q.Dir), q.Ingress, "accepted")
	e.ensureWorker(ctx, key)
	return false, nil
}

func directionName(dir string) string {
	if dir == toSMS {
		return "to_pager"
	}
	return "to_session"
}

// Accept implements pager.Store: a SIP MESSAGE from a pager partner.
func (e *Engine) Accept(ctx context.Context, m *pager.Message) error {
	p, err := e.admit(m.Partner)
	if err != nil {
		return err
	}
	id := m.IMDN.MessageID
	if id == "" {
		id = m.ID
	}
	q := &queued{ID: id, Dir: toRCS, Ingress: "sip", Text: m.Text, At: m.ReceivedAt.UnixNano()}
	dup, err := e.enqueue(ctx, p, convKey{p.Name, party(m.From), party(m.To)}, m.ID, q)
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
	if m.RegisteredDelivery&0x03 != 0 {
		rt = newReceiptTo(id, m)
	}
	return id, e.smsIn(ctx, p, m, id, rt, "smpp")
}

// HandleDeliver implements smpp.DeliverHandler: mobile-originated
// messages and receipts from a partner's SMSC.
func (e *Engine) HandleDeliver(ctx context.Context, partnerName string, m *smpp.Message) error {
	if m.IsReceipt() {
		// Our submits toward the SMSC are reported when the SMSC accepts
		// them (flow 2); its later receipts are counted, not relayed.
		if p, ok := e.partners[partnerName]; ok {
			p.counters.add("smsc_receipts", 1)
		}
		return nil
	}
	p, err := e.admit(partnerName)
	if err != nil {
		return err
	}
	return e.smsIn(ctx, p, m, msrp.NewID(), nil, "smpp")
}

// smsIn reassembles and queues an SMS toward the RCS side.
func (e *Engine) smsIn(ctx context.Context, p *partner, m *smpp.Message, id string, rt *receiptTo, ingress string) error {
	c, err := coding.FromDataCoding(m.DataCoding)
	if err != nil {
		return errBadText
	}
	in, err := m.Inspect()
	if err != nil {
		return errBadText
	}
	packed := p.SMS.Packed
	key := convKey{p.Name, smsAddress(m.Source), smsAddress(m.Dest)}
	q := &queued{ID: id, Dir: toRCS, Ingress: ingress, At: time.Now().UnixNano(), Receipt: rt}
	if !in.Concatenated {
		if q.Text, err = in.Decode(c, packed); err != nil {
			return errBadText
		}
		_, err = e.enqueue(ctx, p, key, id, q)
		return err
	}
	part, err := in.Part(c, packed)
	if err != nil {
		return errBadText
	}
	ck := in.Key(p.Name, key.SMS, key.RCS)
	res, err := e.reasm.Add(ctx, ck, part, time.Now())
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
		p.counters.add("duplicates", 1)
		return nil
	case concat.Complete:
		q.Text = res.Text
		// The reassembly key is the message's identity: a resent last
		// segment after a lost response is not queued twice.
		if _, err := e.enqueue(ctx, p, key, fmt.Sprintf("sms:%s:%d:%d", ck.Source, ck.Ref, ck.Total), q); err != nil {
			return err
		}
		return e.reasm.Release(ctx, ck)
	}
	return errBadText
}

// reassembled handles a message whose segments timed out.
func (e *Engine) reassembled(ctx context.Context, r concat.Result) {
	p, ok := e.partners[r.Key.Partner]
	if !ok {
		return
	}
	if r.Status != concat.Partial {
		p.counters.add("failed", 1)
		e.fail(p.Name, "reassembly", fmt.Errorf("message from %s to %s incomplete: parts %v missing", r.Key.Source, r.Key.Destination, r.Missing))
		return
	}
	key := convKey{p.Name, r.Key.Source, r.Key.Destination}
	q := &queued{ID: msrp.NewID(), Dir: toRCS, Ingress: "smpp", Text: r.Text, At: time.Now().UnixNano()}
	if _, err := e.enqueue(ctx, p, key, fmt.Sprintf("sms:%s:%d:%d", r.Key.Source, r.Key.Ref, r.Key.Total), q); err != nil {
		e.fail(p.Name, "reassembly", err)
		return
	}
	_ = e.reasm.Release(ctx, r.Key)
}

// smsAddress normalises an SMPP address: international numbers (TON 1)
// become E.164 with "+".
func smsAddress(a smpp.Address) string {
	s := a.Addr
	if a.TON == 1 {
		// The common case, without the general parser.
		if digits := strings.TrimPrefix(s, "+"); allDigits(digits) {
			return "+" + digits
		}
	}
	if a.TON == 1 && len(s) > 0 && s[0] != '+' {
		s = "+" + s
	}
	if ad, err := address.Parse(s, address.Options{}); err == nil {
		return party(ad)
	}
	return s
}

// party is the form of an identity in conversation keys: E.164 numbers
// as "+digits" (routing matches their prefixes), others as URIs.
func party(a address.Address) string {
	if a.Kind == address.KindGlobal {
		return a.Number
	}
	return a.String()
}

// smppAddress is the SMPP form of a normalised address.
func smppAddress(s string) smpp.Address {
	if len(s) > 1 && s[0] == '+' {
		return smpp.Address{TON: 1, NPI: 1, Addr: s[1:]}
	}
	return smpp.Address{TON: 5, NPI: 0, Addr: s}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
