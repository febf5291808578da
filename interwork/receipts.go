package interwork

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"iwf/smpp"
	"iwf/smpp/receipt"
	"iwf/store"
)

// Delivery receipts owed to partner ESMEs are durable: each is written to
// the partner's schedule in the store (Records.Schedule) before the
// message it is about is acknowledged in its queue, and leaves it only
// once the ESME answered its deliver_sm. Every node with one of the
// partner's receiving binds takes the due receipts (TakeDue), so a
// receipt survives a crash of the node that owed it, a bind that drops,
// and an ESME that answers "try later": a taken receipt stays in the
// schedule, held for receiptHold, and is taken again when its taker died
// or failed to deliver it. A receipt is given up receiptTTL after it fell
// due. Delivery is at least once: a node that dies between the
// deliver_sm_resp and settling the receipt leaves it to be sent again.
//
// A message sent into an MSRP session with a Success-Report asked for is
// owed a provisional final receipt, due at the end of its validity and
// saying Unconfirmed; the REPORT or IMDN that comes in time replaces it
// under the same id with the receipt it asks for, due at once.

// receiptJob is a receipt taken from the schedule, for a sender.
type receiptJob struct {
	p *partner
	// id and value are the job as the schedule holds it: settling it
	// names both.
	id    string
	value []byte
	r     owedReceipt
}

// owedReceipt is a receipt as it waits in the store. Its JSON is what
// the store holds across restarts: keep it compatible.
type owedReceipt struct {
	// Message is the message it is about, its text cut to what the
	// receipt quotes.
	Message *queued `json:"message"`
	Outcome Outcome `json:"outcome"`
	// Done is when the outcome was known (done date:), Unix nanoseconds.
	Done int64 `json:"done"`
	// Until is when the receipt stops being worth sending, Unix
	// nanoseconds; zero in receipts parked before it existed.
	Until int64 `json:"until,omitempty"`
}

// parkedReceipt is what relayReceipts found in the lists of older
// versions; the same fields as owedReceipt.
type parkedReceipt = owedReceipt

// receiptSenders is how many receipts are in flight at once: each waits
// for its deliver_sm_resp.
const receiptSenders = 64

// receiptList names the partner's receipt schedule (and the list where
// older versions parked its receipts).
func receiptList(partner string) string { return "receipts:" + partner }

// maxParkedReceipts bounds a partner's owed receipts; receiptTTL is how
// long a receipt is tried after it fell due (a receipt days old tells an
// SMS sender nothing its SMSC has not already given up on); receiptHold
// is how long a taken receipt is left to its taker before another node
// takes it (beyond the 30 s a deliver_sm may take).
const (
	maxParkedReceipts = 100000
	receiptTTL        = 72 * time.Hour
	parkedReceiptTTL  = receiptTTL
	receiptHold       = 2 * time.Minute
	receiptWait       = 30 * time.Second
)

// Registered delivery (SMPP 3.4 section 5.2.17) bits a receipt honours.
const (
	// rdFinalMask selects the SMSC delivery receipt bits: 1 asks a
	// receipt for every final outcome, 2 one on failure only; 3, which
	// 3.4 reserves, is read as 1 (SMPP 5.0 makes it "success only", and
	// a receipt too many is better than none).
	rdFinalMask byte = 0x03
	rdFailure   byte = 0x02
	// rdIntermediate asks for intermediate notifications.
	rdIntermediate byte = 0x10
)

// wantsReceipt reports whether a submit_sm's registered_delivery asks
// for any receipt: final, on failure, or intermediate.
func wantsReceipt(rd byte) bool { return rd&(rdFinalMask|rdIntermediate) != 0 }

// wantsFinal reports whether the sender asked for a final receipt of
// outcome o. Entries queued before registered_delivery was kept have RD
// 0: they asked for one of every outcome.
func (r *receiptTo) wantsFinal(o Outcome) bool {
	if r.RD == 0 {
		return true
	}
	switch r.RD & rdFinalMask {
	case 0:
		return false
	case rdFailure:
		return o != Delivered && o != Unconfirmed
	}
	return true
}

// wantsIntermediate reports whether the sender asked for intermediate
// notifications.
func (r *receiptTo) wantsIntermediate() bool { return r.RD&rdIntermediate != 0 }

// receiptText is the part of a message a receipt quotes (SMPP 3.4
// Appendix B text:, the first 20 characters).
func receiptText(s string) string {
	s = strings.ToValidUTF8(s, "")
	n := 0
	for i := range s {
		if n == 20 {
			return s[:i]
		}
		n++
	}
	return s
}

// owe writes the receipt of q with outcome o, due at due, to the
// partner's schedule, replacing one owed under the same id. intermediate
// marks an intermediate notification, which has an id of its own.
func (e *Engine) owe(ctx context.Context, p *partner, q *queued, o Outcome, done, due time.Time) error {
	if q.Receipt == nil {
		return nil
	}
	err := e.oweOne(ctx, p, q, q.Receipt.ID, o, done, due)
	if len(q.Receipt.Also) == 0 {
		return err
	}
	errs := []error{err}
	for _, id := range q.Receipt.Also {
		errs = append(errs, e.oweOne(ctx, p, q, id, o, done, due))
	}
	return errors.Join(errs...)
}

// oweOne owes the receipt of q's submitted message id, one of the ids
// its receipt goes under.
func (e *Engine) oweOne(ctx context.Context, p *partner, q *queued, id string, o Outcome, done, due time.Time) error {
	// The receipt holds a copy of q cut to what it needs; written
	// straight to bytes, the copies stay off the heap.
	rt := *q.Receipt
	rt.ID, rt.Also = id, nil
	m := *q
	m.Receipt = nil // rt, passed on its own
	m.Text = receiptText(q.Text)
	m.CPIM, m.Notice = nil, nil
	r := owedReceipt{Message: &m, Outcome: o, Done: done.UnixNano(), Until: due.Add(receiptTTL).UnixNano()}
	b, err := appendOwedWith(make([]byte, 0, owedReceiptSize(&m)+len(id)+len(rt.SrcAddr)+len(rt.DstAddr)+120), &r, &rt)
	if err != nil {
		return err
	}
	if o == Accepted {
		id += "/intermediate"
	}
	ttl := max(due.Sub(e.now()), 0) + receiptTTL
	var lastErr error
	// A short store outage must not lose the receipt: the message is
	// already delivered and will not be tried again.
	for attempt := range 3 {
		if attempt > 0 && sleepCtx(ctx, time.Duration(attempt)*200*time.Millisecond) != nil {
			break
		}
		sctx, cancel := e.deadlines.within(ctx, e.cfg.StoreWait, false)
		lastErr = e.cfg.Records.Schedule(sctx, receiptList(p.Name), id, b, due, maxParkedReceipts, ttl)
		cancel()
		if lastErr == nil {
			e.wakeReceipts(p.Name)
			return nil
		}
	}
	return fmt.Errorf("interwork: receipt %s: %w", id, lastErr)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refusedForGood reports an ESME's refusal that a retry would meet
// again. (A function of its own: the error variable errors.As needs
// goes to the heap, for every receipt when in Engine.receipt.)
func refusedForGood(err error) bool {
	var se *smpp.StatusError
	return errors.As(err, &se) && !se.Temporary()
}

// oweFinal owes the final receipt of q, when its sender asked for one of
// outcome o.
func (e *Engine) oweFinal(ctx context.Context, p *partner, q *queued, o Outcome) {
	if q.Receipt == nil || !q.Receipt.wantsFinal(o) {
		return
	}
	now := e.now()
	if err := e.owe(ctx, p, q, o, now, now); err != nil {
		e.fail(p.Name, "receipt", err)
	}
}

// oweAccepted is called, with sent false, before q goes to the RCS side
// with a Success-Report or IMDN to confirm its delivery: it owes the
// provisional final receipt that goes at the end of q's validity unless
// the confirmation replaces it. With sent true, once the RCS side took
// q, it owes the intermediate notification when one was asked for.
func (e *Engine) oweAccepted(ctx context.Context, p *partner, q *queued, sent bool) {
	if q.Receipt == nil || e.cfg.SMS == nil || !e.cfg.SMS.AcceptsBinds() {
		return
	}
	now := e.now()
	if sent {
		if q.Receipt.wantsIntermediate() {
			if err := e.owe(ctx, p, q, Accepted, now, now); err != nil {
				e.fail(p.Name, "receipt", err)
			}
		}
		return
	}
	if q.Receipt.wantsFinal(Unconfirmed) {
		end := time.Unix(0, q.expiry(p.Policy))
		if err := e.owe(ctx, p, q, Unconfirmed, end, end); err != nil {
			e.fail(p.Name, "receipt", err)
		}
	}
}

// queueReceipt owes the final receipt of a message toward the RCS side.
func (e *Engine) queueReceipt(ctx context.Context, p *partner, q *queued, o Outcome) {
	if e.cfg.SMS == nil || !e.cfg.SMS.AcceptsBinds() {
		return
	}
	e.oweFinal(ctx, p, q, o)
}

// wakeReceipts tells this node's taker of partner's receipts that one is
// due now.
func (e *Engine) wakeReceipts(partner string) {
	select {
	case e.receiptWake(partner) <- struct{}{}:
	default:
	}
}

func (e *Engine) receiptWake(partner string) chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.receiptWakes == nil {
		e.receiptWakes = make(map[string]chan struct{})
	}
	ch, ok := e.receiptWakes[partner]
	if !ok {
		ch = make(chan struct{}, 1)
		e.receiptWakes[partner] = ch
	}
	return ch
}

// sendReceipts sends the receipts the takers hand over until ctx ends.
func (e *Engine) sendReceipts(ctx context.Context) {
	for {
		select {
		case j := <-e.receipts:
			e.receipt(ctx, j)
		case <-ctx.Done():
			return
		}
	}
}

// receiptBackoff is the wait before a receipt that failed is tried
// again: half its age, from 1 s up to 5 min, so that the waits grow
// without a count kept anywhere.
func receiptBackoff(age time.Duration) time.Duration {
	return min(max(age/2, time.Second), 5*time.Minute)
}

// receipt sends one owed receipt to one of the partner's receiving ESME
// binds, and settles it in the schedule.
func (e *Engine) receipt(ctx context.Context, j receiptJob) {
	p, q, o := j.p, j.r.Message, j.r.Outcome
	now := e.now()
	// Settling must outlive a stop: a receipt sent and not settled goes
	// out twice. Its bound starts when it does, after the deliver_sm.
	storeCtx := func() (context.Context, context.CancelFunc) {
		return e.deadlines.within(ctx, e.cfg.StoreWait, true)
	}
	settle := func() {
		sctx, cancel := storeCtx()
		defer cancel()
		if _, err := e.cfg.Records.Unschedule(sctx, receiptList(p.Name), j.id, j.value); err != nil {
			e.log.Warn("receipt settle", "partner", p.Name, "message_id", j.id, "error", err)
		}
	}
	if j.r.Until != 0 && now.UnixNano() >= j.r.Until {
		settle()
		e.fail(p.Name, "receipt", fmt.Errorf("receipt %s for %s given up after %v", o.ReceiptState(), j.id, receiptTTL))
		return
	}
	rt := q.Receipt
	r := receipt.Receipt{
		ID:         rt.ID,
		State:      o.ReceiptState(),
		ErrorCode:  o.ReceiptError(),
		Submitted:  1,
		SubmitDate: time.Unix(0, q.At).UTC(),
		DoneDate:   time.Unix(0, j.r.Done).UTC(),
		Text:       q.Text, // receipt.Build keeps the first 20 characters
	}
	if o == Delivered {
		r.Delivered = 1
	}
	m, err := smpp.ReceiptMessage(rt.dest(), rt.source(), r)
	if err != nil {
		settle()
		e.fail(p.Name, "receipt", err)
		return
	}
	if o == Accepted {
		// SMPP 3.4 5.2.12: esm_class "Intermediate Delivery Notification".
		m.ESMClass = receipt.ESMClassIntermediate
	}
	dctx, dcancel := e.deadlines.within(ctx, receiptWait, false)
	err = e.cfg.SMS.Deliver(dctx, p.Name, m)
	dcancel()
	switch {
	case err == nil:
		settle()
		p.counters.add(counterReceipts, 1)
	case refusedForGood(err):
		// The ESME refused it for good (SMPP 3.4 5.1.3): sending it
		// again would be refused again.
		settle()
		e.fail(p.Name, "receipt", err)
	default:
		// Throttled, try later, no answer, the bind dropped or there is
		// none here: the receipt waits in the store for the next try,
		// by whichever node has a receiving bind then.
		if errors.Is(err, smpp.ErrNoBind) {
			p.counters.add(counterReceiptsParked, 1)
		} else {
			e.fail(p.Name, "receipt", fmt.Errorf("tried again later: %w", err))
		}
		age := now.Sub(time.Unix(0, j.r.Done))
		sctx, cancel := storeCtx()
		defer cancel()
		if _, rerr := e.cfg.Records.Reschedule(sctx, receiptList(p.Name), j.id, j.value, now.Add(receiptBackoff(age))); rerr != nil {
			e.log.Warn("receipt reschedule", "partner", p.Name, "message_id", j.id, "error", rerr)
		}
	}
}

// parkedEvery is how often relayReceipts looks for receipts parked by
// older versions: they park none, so a look after every wake-up (every
// batch of receipts under load) would be a round trip to Redis for
// nothing.
const parkedEvery = time.Second

// relayReceipts takes the partner's due receipts while this node has one
// of its receiving binds and hands them to the senders.
func (e *Engine) relayReceipts(ctx context.Context, p *partner) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	wake := e.receiptWake(p.Name)
	pause := func() {
		select {
		case <-ctx.Done():
		case <-tick.C:
		case <-wake:
		}
	}
	// nextParked is when to look at the parked list next: at once, then
	// once per parkedEvery of the engine's clock (adoptParked drains it).
	var nextParked time.Time
	for ctx.Err() == nil {
		if !e.cfg.SMS.HasReceiver(p.Name) {
			pause()
			continue
		}
		if now := e.now(); !now.Before(nextParked) {
			e.adoptParked(ctx, p)
			nextParked = now.Add(parkedEvery)
		}
		jobs, err := e.cfg.Records.TakeDue(ctx, receiptList(p.Name), e.now(), receiptHold, receiptSenders)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Warn("owed receipts", "partner", p.Name, "error", err)
			}
			pause()
			continue
		}
		if len(jobs) == 0 {
			pause()
			continue
		}
		for _, sj := range jobs {
			j, ok := e.readJob(p, sj)
			if !ok {
				continue
			}
			select {
			case e.receipts <- j:
			case <-ctx.Done():
				return
			}
		}
	}
}

func (e *Engine) readJob(p *partner, sj store.Scheduled) (receiptJob, bool) {
	r, err := readOwedReceipt(sj.Value)
	if err != nil || r.Message == nil || r.Message.Receipt == nil {
		e.fail(p.Name, "receipt", fmt.Errorf("unreadable owed receipt %s: %v", sj.ID, err))
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.StoreWait)
		defer cancel()
		_, _ = e.cfg.Records.Unschedule(ctx, receiptList(p.Name), sj.ID, sj.Value)
		return receiptJob{}, false
	}
	return receiptJob{p: p, id: sj.ID, value: sj.Value, r: r}, true
}

// adoptParked moves receipts parked by older versions (a list, popped
// when sent) into the schedule.
func (e *Engine) adoptParked(ctx context.Context, p *partner) {
	for ctx.Err() == nil {
		v, ok, err := e.cfg.Records.Pop(ctx, receiptList(p.Name), 0)
		if err != nil || !ok {
			return
		}
		var pr parkedReceipt
		if err := json.Unmarshal(v, &pr); err != nil || pr.Message == nil || pr.Message.Receipt == nil {
			e.fail(p.Name, "receipt", fmt.Errorf("unreadable parked receipt: %v", err))
			continue
		}
		done := time.Unix(0, pr.Done)
		if err := e.owe(ctx, p, pr.Message, pr.Outcome, done, e.now()); err != nil {
			e.fail(p.Name, "receipt", err)
		}
	}
}
