package interwork

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"iwf/smpp"
	"iwf/smpp/receipt"
)

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
	if e.cfg.SMS == nil || !e.cfg.SMS.AcceptsBinds() {
		return
	}
	e.mu.Lock()
	run := e.ctx
	e.mu.Unlock()
	if run == nil {
		return
	}
	select {
	case e.receipts <- j:
	case <-ctx.Done():
	case <-run.Done():
	}
}

// sendReceipts sends queued receipts until ctx ends.
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

// receipt sends an SMS delivery receipt to the partner ESME that
// submitted the message.
func (e *Engine) receipt(ctx context.Context, j receiptJob) {
	p, q, o := j.p, j.q, j.o
	rt := q.Receipt
	r := receipt.Receipt{
		ID:         rt.ID,
		State:      o.ReceiptState(),
		Submitted:  1,
		SubmitDate: time.Unix(0, q.At).UTC(),
		DoneDate:   j.done.UTC(),
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
	if err := e.cfg.SMS.Deliver(ctx, p.Name, m); err != nil {
		if errors.Is(err, smpp.ErrNoBind) {
			// The partner's receiving binds are on other nodes (or
			// down): whichever node has one takes it (relayReceipts).
			e.parkReceipt(ctx, j)
			return
		}
		e.fail(p.Name, "receipt", err)
		return
	}
	p.counters.add(counterReceipts, 1)
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

// maxParkedReceipts bounds a partner's waiting receipts, and
// parkedReceiptTTL how long they wait after the latest: a receipt days
// old tells an SMS sender nothing its SMSC has not already given up on.
const (
	maxParkedReceipts = 100000
	parkedReceiptTTL  = 72 * time.Hour
)

func (e *Engine) parkReceipt(ctx context.Context, j receiptJob) {
	b, err := json.Marshal(parkedReceipt{Message: j.q, Outcome: j.o, Done: j.done.UnixNano()})
	if err == nil {
		err = e.cfg.Records.Push(ctx, receiptList(j.p.Name), b, maxParkedReceipts, parkedReceiptTTL)
	}
	if err != nil {
		e.fail(j.p.Name, "receipt", fmt.Errorf("no receiving bind, and the receipt could not wait: %w", err))
		return
	}
	j.p.counters.add(counterReceiptsParked, 1)
}

// relayReceipts delivers the partner's parked receipts while this node
// has one of its receiving binds.
func (e *Engine) relayReceipts(ctx context.Context, p *partner) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	pause := func() {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	for ctx.Err() == nil {
		if !e.cfg.SMS.HasReceiver(p.Name) {
			pause()
			continue
		}
		v, ok, err := e.cfg.Records.Pop(ctx, receiptList(p.Name), time.Second)
		if err != nil && ctx.Err() == nil {
			e.log.Warn("parked receipts", "partner", p.Name, "error", err)
			pause()
			continue
		}
		if !ok {
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
