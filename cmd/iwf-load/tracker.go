package main

import (
	"context"
	"sync"
	"time"

	"iwf/smpp"
	"iwf/smpp/receipt"
)

// outcome is where a submit stands.
type outcome uint8

const (
	notSent     outcome = iota
	pending             // submit_sm written, no response yet
	acked               // submit_sm_resp ESME_ROK
	refused             // submit_sm_resp with an error status
	unconfirmed         // no response: timeout, lost bind, cancelled
)

// record is one seq's life. Times carry the monotonic clock.
type record struct {
	outcome  outcome
	submitAt time.Time
	ackAt    time.Time
	recvAt   time.Time // first receipt on the RCS side
	recvIdx  int64     // order of that first receipt among all, from 1
	recvs    int       // times received
}

// tracker records a run: submits and their responses from the SMS side,
// messages from the RCS side, receipts. Every method is safe for
// concurrent use; wait blocks until a condition holds.
type tracker struct {
	runID string
	convs int

	mu           sync.Mutex
	recs         []record
	submitted    int
	acked        int
	refused      map[string]int // by command_status name
	unconfirmed  map[string]int // by cause
	waiting      int            // acknowledged, not yet received
	recvSeq      int64
	received     int // distinct seqs
	duplicates   int
	misrouted    int
	foreign      int
	foreignFirst string
	sessions     int
	ended        int // sessions ended by the peer or the network
	receipts     int
	receiptIDs   []string        // the ids readable receipts name
	states       map[string]int  // receipt message_state
	ids          map[string]bool // message_ids of submit_sm_resp
	throttled    uint64          // ESME_RTHROTTLED answers the client retried
	queueFull    uint64          // ESME_RMSGQFUL answers
	submitsDone  bool
	firstSubmit  time.Time
	lastAck      time.Time
	lastRecv     time.Time
	changed      chan struct{} // closed on the next change, made by wait
}

func newTracker(runID string, n, convs int) *tracker {
	return &tracker{
		runID:       runID,
		convs:       convs,
		recs:        make([]record, n),
		refused:     map[string]int{},
		unconfirmed: map[string]int{},
		states:      map[string]int{},
		ids:         make(map[string]bool, n),
	}
}

// conv is the conversation of seq: messages are dealt round-robin, so
// every conversation carries a steady share from the start.
func (t *tracker) conv(seq int) int { return seq % t.convs }

func (t *tracker) notifyLocked() {
	if t.changed != nil {
		close(t.changed)
		t.changed = nil
	}
}

// wait returns once cond, called under the lock, holds, or with the
// cause of ctx's end (context.DeadlineExceeded for the run's timeout).
func (t *tracker) wait(ctx context.Context, cond func(t *tracker) bool) error {
	for {
		t.mu.Lock()
		if cond(t) {
			t.mu.Unlock()
			return nil
		}
		if t.changed == nil {
			t.changed = make(chan struct{})
		}
		ch := t.changed
		t.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// allReceived: every submit answered, and every acknowledged message
// received.
func allReceived(t *tracker) bool { return t.submitsDone && t.waiting == 0 }

// allReceipts: a receipt for every acknowledged message.
func allReceipts(t *tracker) bool { return t.submitsDone && t.receipts >= t.acked }

// startSubmitting marks the start of the submits, which the pace and
// the report's spans count from.
func (t *tracker) startSubmitting(at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.firstSubmit.IsZero() {
		t.firstSubmit = at
	}
}

func (t *tracker) sending(seq int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := &t.recs[seq]
	r.outcome, r.submitAt = pending, at
	if t.firstSubmit.IsZero() {
		t.firstSubmit = at
	}
	t.submitted++
}

func (t *tracker) ack(seq int, messageID string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := &t.recs[seq]
	r.outcome, r.ackAt = acked, at
	t.acked++
	t.lastAck = at
	if messageID != "" {
		t.ids[messageID] = true
	}
	if r.recvs == 0 {
		t.waiting++
	}
	t.notifyLocked()
}

func (t *tracker) refuse(seq int, status uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.recs[seq].outcome = refused
	t.refused[smpp.StatusName(status)]++
	t.notifyLocked()
}

func (t *tracker) fail(seq int, cause string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.recs[seq].outcome = unconfirmed
	t.unconfirmed[cause]++
	t.notifyLocked()
}

// doneSubmitting marks the end of the submits: from then on the run waits
// only for what was acknowledged.
func (t *tracker) doneSubmitting() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.submitsDone = true
	t.notifyLocked()
}

// retries records the ESME_RTHROTTLED and ESME_RMSGQFUL answers the
// client took and sent again.
func (t *tracker) retries(throttled, queueFull uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.throttled, t.queueFull = throttled, queueFull
}

// matchedLocked counts the receipts naming a message_id we were given,
// in any of the spellings SMSCs use for it.
func (t *tracker) matchedLocked() int {
	n := 0
	for _, id := range t.receiptIDs {
		for _, f := range receipt.IDForms(id) {
			if t.ids[f] {
				n++
				break
			}
		}
	}
	return n
}

// session counts a session the RCS side accepted.
func (t *tracker) session() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sessions++
}

// sessionEnded counts a session that ended before the run did: the
// daemon's BYE (idle teardown) or a failure.
func (t *tracker) sessionEnded() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ended++
	t.notifyLocked()
}

// receive counts a message the RCS side received: text is what it
// carried (err when it could not be read), to the called URI of its
// session.
func (t *tracker) receive(text string, err error, to string, at time.Time) {
	var p payload
	if err == nil {
		p, err = parseText(text)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil && (p.RunID != t.runID || p.Seq >= len(t.recs)) {
		err = &payloadError{Reason: "not of this run: " + text}
	}
	if err != nil {
		t.foreign++
		if t.foreignFirst == "" {
			t.foreignFirst = err.Error()
		}
		return
	}
	r := &t.recs[p.Seq]
	r.recvs++
	if r.recvs > 1 {
		t.duplicates++
		return
	}
	if d := uriDigits(to); d != "" && d != digits(destination(t.conv(p.Seq))) {
		t.misrouted++
	}
	t.recvSeq++
	r.recvAt, r.recvIdx = at, t.recvSeq
	t.received++
	t.lastRecv = at
	if r.outcome == acked {
		t.waiting--
	}
	t.notifyLocked()
}

// receipt counts a deliver_sm from the daemon: delivery receipts (SMPP
// 3.4 5.2.12 esm_class) by state. Their ids are matched against the
// submit_sm_resp ids only in the report: a receipt may come before the
// response it follows is read (another bind, another goroutine).
func (t *tracker) receipt(m *smpp.Message) {
	if !m.IsReceipt() {
		return
	}
	r, err := m.Receipt()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.receipts++
	if err != nil {
		t.states["unreadable"]++
	} else {
		t.states[r.State.Stat()]++
		t.receiptIDs = append(t.receiptIDs, r.ID)
	}
	t.notifyLocked()
}
