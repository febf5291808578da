package interwork

// SMS over IP toward IMS users (MT): SMS-DELIVERs in RP-DATA, the
// correlation of the handsets' RP-ACK/RP-ERROR through the store, and the
// RP-SMMA that ends a wait for a handset's memory. smsip.go has the
// overview.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"iwf/internal/address"
	"iwf/pager"
	"iwf/smpp/coding"
	"iwf/smpp/concat"
	"iwf/sms/rp"
	"iwf/sms/tpdu"
)

// rpWait bounds the wait for the RP-ACK of one RP-DATA; rpAnswerTTL
// keeps an answer and its correlation in the store. TS 24.011's TR1N runs
// 35 to 45 s, but one delivery attempt is cut at 30 s (toSMS): waiting
// less ends the attempt on this segment's own timeout, and the retry
// resumes at it under the same concatenation reference.
const (
	rpWait      = 25 * time.Second
	rpAnswerTTL = 10 * time.Minute
)

// rpPending is the correlation of an RP-DATA sent, kept in the store
// under its reference: the node that gets the answer finds the
// conversation whose worker waits for it.
type rpPending struct {
	Conv string `json:"conv"`
}

// rpAnswer is an RP-ACK (Cause 0) or RP-ERROR as the store keeps it for
// the waiting worker.
type rpAnswer struct {
	Cause rp.Cause `json:"cause"`
}

// rpKey names the RP-DATA with reference ref toward user of partner.
func rpKey(partner, user string, ref uint8) string {
	return "smsip:" + partner + "|" + user + "|" + strconv.Itoa(int(ref))
}

// rpAnswered takes a handset's RP-ACK or RP-ERROR (cause not 0) to an
// RP-DATA of ours, on whichever node it arrives: the answer goes to the
// store and wakes the worker that waits for it.
func (e *Engine) rpAnswered(ctx context.Context, m *pager.Message, ref uint8, cause rp.Cause) error {
	p, ok := e.lookupPartner(m.Partner)
	if !ok {
		return errNoPartner
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	defer cancel()
	k := rpKey(p.Name, partyOf(m.From).id, ref)
	v, ok, err := e.cfg.Records.Get(ctx, k+"|sent")
	if err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	if !ok {
		// Late (its wait ended, the message was sent again under another
		// reference) or not ours: nothing waits for it.
		e.log.Debug("rp answer to nothing pending", "partner", p.Name, "rp_ref", ref, "error", errRPState)
		return nil
	}
	var pend rpPending
	if err := json.Unmarshal(v, &pend); err != nil {
		return fmt.Errorf("interwork: rp correlation %s: %w", k, err)
	}
	b, _ := json.Marshal(rpAnswer{Cause: cause})
	if err := e.cfg.Records.Put(ctx, k+"|answer", b, rpAnswerTTL); err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	if e.signalRP(k) {
		return nil
	}
	owner, err := e.cfg.Leases.Owner(ctx, pend.Conv)
	if err == nil && owner != "" {
		err = e.cfg.Leases.Notify(ctx, owner, pend.Conv)
	}
	if err != nil {
		// The waiting worker looks at the store once a second anyway.
		e.log.Warn("wake rp waiter", "conversation", pend.Conv, "error", err)
	}
	return nil
}

// signalRP wakes this node's worker waiting for the answer k, if any.
func (e *Engine) signalRP(k string) bool {
	e.mu.Lock()
	ch, ok := e.rpWaiters[k]
	e.mu.Unlock()
	if ok {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return ok
}

func (e *Engine) rpWaiter(k string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	e.mu.Lock()
	if e.rpWaiters == nil {
		e.rpWaiters = make(map[string]chan struct{})
	}
	e.rpWaiters[k] = ch
	e.mu.Unlock()
	return ch, func() {
		e.mu.Lock()
		if e.rpWaiters[k] == ch {
			delete(e.rpWaiters, k)
		}
		e.mu.Unlock()
	}
}

// deliverSMSIP sends q to a user of an sms_over_ip partner: a status
// report as it is, a text as SMS-DELIVERs segmented by the partner's sms
// settings. It resumes at the segment a previous try stopped at, under
// the same concatenation reference; an error wrapping errNotSent may be
// tried again.
func (c *conv) deliverSMSIP(ctx context.Context, q *queued) (Outcome, error) {
	e := c.e
	sender, ok := e.cfg.Pager.(RPSender)
	if !ok || e.cfg.Pager == nil {
		return Undeliverable, errNoPager
	}
	to, err := c.k.SMS.address()
	if err != nil {
		return Rejected, err
	}
	sc, err := scAddress(c.partner.SCAddress)
	if err != nil {
		return Undeliverable, err
	}
	pr := c.loadProgress(ctx, q)
	tpdus := [][]byte{q.TPDU}
	if q.TPDU == nil {
		if tpdus, err = c.delivers(ctx, q, pr); err != nil {
			return Rejected, err
		}
	}
	for k := pr.Sent; k < len(tpdus); k++ {
		if o, err := c.sendRP(ctx, sender, to, sc, tpdus[k]); err != nil {
			if errors.Is(err, errNotSent) {
				return Expired, fmt.Errorf("segment %d of %d: %w", k+1, len(tpdus), err)
			}
			return o, err
		}
		pr.Sent = k + 1
		if pr.Sent < len(tpdus) {
			if err := c.saveProgress(ctx, q, pr); err != nil {
				e.log.Warn("sms progress", "conversation", c.key, "error", err)
			}
		}
	}
	return Delivered, nil
}

// delivers codes and segments q's text into SMS-DELIVER TPDUs, within
// the partner's segment cap and overflow policy (SMSConfig.Texts).
func (c *conv) delivers(ctx context.Context, q *queued, pr *smsProgress) ([][]byte, error) {
	cfg := smsipSMS(c.partner.SMS)
	texts, err := cfg.Texts(q.Text)
	if err != nil {
		return nil, err
	}
	oa, err := tpOriginator(c.k.RCS)
	if err != nil {
		return nil, err
	}
	opts := cfg.TextOptions()
	now := c.e.now()
	var out [][]byte
	for i, text := range texts {
		var refErr error
		next := func() (uint16, error) {
			if r, ok := pr.Refs[i]; ok {
				return r, nil
			}
			r, err := c.e.cfg.Refs.NextRef(ctx, c.k.SMS.id)
			if err == nil {
				pr.Refs[i] = r
				err = c.saveProgress(ctx, q, pr)
			}
			refErr = err
			return r, err
		}
		cd := opts.CodingFor(text)
		dcs, err := tpdu.DCSFor(cd)
		if err != nil {
			return nil, err
		}
		encoded, err := coding.Encode(cd, text)
		if err != nil {
			return nil, err
		}
		segs, err := concat.Split(encoded, cd, opts.Concat, next)
		if refErr != nil {
			return nil, fmt.Errorf("%w: reference: %w", errNotSent, refErr)
		}
		if err != nil {
			return nil, err
		}
		for _, s := range segs {
			ud, err := tpdu.NewUserData(s.ShortMessage, s.ESMClass&concat.ESMClassUDHI != 0)
			if err != nil {
				return nil, err
			}
			b, err := tpdu.Encode(&tpdu.Deliver{Originator: oa, DCS: dcs, SCTimestamp: now, UserData: ud})
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
	}
	return out, nil
}

// tpOriginator is the TP-OA of a message from p: its E.164 number, or
// the user part of another identity as an alphanumeric address (TS
// 23.040 9.1.2.5: at most 11 characters of the default alphabet).
func tpOriginator(p party) (tpdu.Address, error) {
	a, err := p.address()
	if err != nil {
		return tpdu.Address{}, err
	}
	if a.Kind == address.KindGlobal {
		return tpdu.Address{TON: tpdu.TONInternational, NPI: tpdu.NPIISDN, Digits: strings.TrimPrefix(a.Number, "+")}, nil
	}
	user := a.User
	if user == "" {
		user = a.String()
	}
	if len(user) > 11 {
		user = user[:11]
	}
	if _, err := coding.Length(coding.GSM7, user); err != nil {
		return tpdu.Address{}, fmt.Errorf("interwork: sender %s has no sms form: %w", a, err)
	}
	return tpdu.Address{TON: tpdu.TONAlphanumeric, Digits: user}, nil
}

// scAddress reads a partner's sc_address as the RP-Originator-Address.
func scAddress(s string) (rp.Address, error) {
	d, ok := strings.CutPrefix(s, "+")
	if !ok || d == "" {
		return rp.Address{}, fmt.Errorf("interwork: sc_address %q is not +digits", s)
	}
	return rp.Address{TON: rp.TONInternational, NPI: rp.NPIISDN, Digits: d}, nil
}

// A handset that answers RP-ERROR 22 (memory capacity exceeded) sends
// RP-SMMA once it has room again (TS 24.011 6.3.3, 7.3.2; TS 24.341
// 5.3.2.5), and the service centre then tries what waits for it at once
// (TS 23.040 3.2.5, the alert of the SC). A conversation that got cause
// 22 puts itself in the user's memory-wait schedule; the RP-SMMA, on
// whichever node it lands, marks the time the memory came back and wakes
// each conversation of the schedule, whose worker cuts its retry wait
// short when the mark is no older than the RP-DATA that was refused.
const (
	// memWaitMax bounds the conversations of one user waiting for its
	// memory.
	memWaitMax = 256
	// memWaitTTL keeps the schedule and the mark: a message waits at most
	// its validity, and is tried on the retry schedule anyway.
	memWaitTTL = 24 * time.Hour
)

// memWaitKey names the schedule of the conversations waiting for the
// memory of user of partner; smmaKey the time of its last RP-SMMA.
func memWaitKey(partner, user string) string { return "smsip:memwait:" + partner + "|" + user }
func smmaKey(partner, user string) string    { return "smsip:smma:" + partner + "|" + user }

// memoryAvailable takes a handset's RP-SMMA: each conversation waiting
// for its memory is woken, to try again at once.
func (e *Engine) memoryAvailable(ctx context.Context, m *pager.Message) error {
	p, ok := e.lookupPartner(m.Partner)
	if !ok {
		return errNoPartner
	}
	if !p.SMSOverIP {
		return errNoSMSIP
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	defer cancel()
	user := partyOf(m.From).id
	now := e.now()
	// The mark first: a conversation that registers after the take below
	// finds it (awaitMemory).
	if err := e.cfg.Records.Put(ctx, smmaKey(p.Name, user), []byte(strconv.FormatInt(now.UnixNano(), 10)), memWaitTTL); err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	name := memWaitKey(p.Name, user)
	// Due with some slack: another node's clock registered them.
	jobs, err := e.cfg.Records.TakeDue(ctx, name, now.Add(time.Minute), e.cfg.StoreWait, memWaitMax)
	if err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	for _, j := range jobs {
		if _, err := e.cfg.Records.Unschedule(ctx, name, j.ID, j.Value); err != nil {
			e.log.Warn("memory wait", "partner", p.Name, "conversation", j.ID, "error", err)
		}
		key, err := parseConvKey(string(j.Value))
		if err != nil {
			e.log.Warn("memory wait: unreadable conversation key", "partner", p.Name, "key", string(j.Value), "error", err)
			continue
		}
		// Wakes this node's worker or tells the owner's node; the worker
		// reads the mark (memoryBack).
		e.ensureWorker(ctx, key)
	}
	return nil
}

// awaitMemory registers the conversation as waiting for the memory of its
// SMS side's user, after the RP-DATA sent at sent got RP-ERROR 22. An
// RP-SMMA that came already (its mark taken before the registration)
// wakes the worker now.
func (c *conv) awaitMemory(ctx context.Context, sent time.Time) {
	e := c.e
	c.memSince = sent.UnixNano()
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	defer cancel()
	err := e.cfg.Records.Schedule(ctx, memWaitKey(c.partner.Name, c.k.SMS.id), c.key, []byte(c.key), e.now(), memWaitMax, memWaitTTL)
	if err != nil {
		// The retry schedule tries it again anyway.
		e.log.Warn("memory wait", "conversation", c.key, "error", err)
		return
	}
	if c.smmaSince(ctx) {
		c.wake()
	}
}

// memoryBack reports whether an RP-SMMA came from the SMS side's user
// since the RP-DATA refused for want of memory: its retry is due now. It
// forgets the wait once it says so.
func (c *conv) memoryBack(ctx context.Context) bool {
	if c.memSince == 0 || !c.smmaSince(ctx) {
		return false
	}
	c.memSince = 0
	return true
}

// smmaSince reports whether the last RP-SMMA of the SMS side's user is
// no older than memSince.
func (c *conv) smmaSince(ctx context.Context) bool {
	e := c.e
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	defer cancel()
	v, ok, err := e.cfg.Records.Get(ctx, smmaKey(c.partner.Name, c.k.SMS.id))
	if err != nil || !ok {
		return false
	}
	at, err := strconv.ParseInt(string(v), 10, 64)
	return err == nil && at >= c.memSince
}

// sendRP sends one TPDU in an RP-DATA and waits for its RP-ACK. A
// temporary failure (no answer, a 408 or 5xx to the MESSAGE, an RP-ERROR
// with a temporary cause) wraps errNotSent.
func (c *conv) sendRP(ctx context.Context, sender RPSender, to address.Address, sc rp.Address, tp []byte) (Outcome, error) {
	e := c.e
	r, err := e.cfg.Refs.NextRef(ctx, "rp:"+c.k.SMS.id)
	if err != nil {
		return Expired, fmt.Errorf("%w: rp reference: %w", errNotSent, err)
	}
	ref := uint8(r)
	body, err := rp.Encode(&rp.Data{Direction: rp.MT, Ref: ref, Originator: sc, UserData: tp})
	if err != nil {
		return Rejected, err
	}
	k := rpKey(c.partner.Name, c.k.SMS.id, ref)
	pend, _ := json.Marshal(rpPending{Conv: c.key})
	sctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	_ = e.cfg.Records.Delete(sctx, k+"|answer")
	err = e.cfg.Records.Put(sctx, k+"|sent", pend, rpAnswerTTL)
	cancel()
	if err != nil {
		return Expired, fmt.Errorf("%w: rp correlation: %w", errNotSent, err)
	}
	wake, done := e.rpWaiter(k)
	defer func() {
		done()
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.StoreWait)
		_ = e.cfg.Records.Delete(dctx, k+"|sent")
		_ = e.cfg.Records.Delete(dctx, k+"|answer")
		cancel()
	}()
	sent := e.now()
	res, err := sender.SendRP(ctx, pager.RPOutgoing{Partner: c.partner.Name, To: to, RP: body})
	if err != nil {
		if errors.Is(err, pager.ErrUnknownPartner) {
			return Undeliverable, err
		}
		return Expired, fmt.Errorf("%w: %w", errNotSent, err)
	}
	if res.Outcome != pager.Delivered {
		o := OutcomeOfSIP(res.SIPStatus())
		if res.Outcome == pager.Rejected && o != Expired && o != Unknown {
			return o, fmt.Errorf("interwork: rp-data answered %d", res.Status)
		}
		return Expired, fmt.Errorf("%w: rp-data answered %d", errNotSent, res.SIPStatus())
	}
	a, err := c.awaitRP(ctx, k, wake)
	if err != nil {
		return Expired, fmt.Errorf("%w: %w", errNotSent, err)
	}
	switch {
	case a.Cause == 0:
		c.memSince = 0
		return Delivered, nil
	case a.Cause == rp.CauseMemoryCapacityExceeded:
		c.awaitMemory(ctx, sent)
		return Expired, fmt.Errorf("%w: rp-error %v", errNotSent, a.Cause)
	case a.Cause.Temporary():
		return Expired, fmt.Errorf("%w: rp-error %v", errNotSent, a.Cause)
	}
	return OutcomeOfRPCause(a.Cause), fmt.Errorf("interwork: rp-error %v", a.Cause)
}

// awaitRP waits for the answer k: woken by this node's rpAnswered, or by
// another node's through the conversation's wake-up, and looking at the
// store once a second should a wake-up be lost.
func (c *conv) awaitRP(ctx context.Context, k string, wake <-chan struct{}) (rpAnswer, error) {
	e := c.e
	limit := time.NewTimer(rpWait)
	defer limit.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		gctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
		v, ok, err := e.cfg.Records.Get(gctx, k+"|answer")
		cancel()
		if err == nil && ok {
			var a rpAnswer
			if err := json.Unmarshal(v, &a); err != nil {
				return rpAnswer{}, err
			}
			return a, nil
		}
		select {
		case <-wake:
		case <-c.wakeCh:
			// A message queued meanwhile, or another node's answer: the
			// run loop reads the queue again after this delivery anyway.
		case <-tick.C:
		case <-limit.C:
			return rpAnswer{}, errors.New("no rp answer in time")
		case <-ctx.Done():
			return rpAnswer{}, ctx.Err()
		}
	}
}
