package interwork

import (
	"slices"
	"strings"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/sipsession"
)

// Issue 13 item 3: the provisional receipts of a batch of messages for
// the running session are written alongside their SENDs, concurrently,
// not one store round trip before each SEND; the SENDs keep the
// queue's order, and a message leaves its queue only once its receipt
// is owed.
func TestBatchOwesProvisionalReceiptsTogether(t *testing.T) {
	u := startUnit(t, unitPolicy())
	u.submitRD(t, "a", 1, "")
	call := u.nextCall(t)
	sent := []*session.OutgoingMessage{call.nextSent(t)}
	testutil.Eventually(t, func() bool { return len(u.st.owed(receiptList("p"))) == 1 }, "a's provisional receipt owed")

	hold := u.st.holdSchedules(t)
	u.submitRD(t, "b", 1, "")
	sent = append(sent, call.nextSent(t)) // while its receipt waits for the store
	testutil.Eventually(t, func() bool { return u.st.schedulesWaiting() == 1 }, "b's provisional receipt being owed")
	// The worker waits on b's receipt before it acknowledges b: c, d
	// and e queue up behind it and are read as one batch once b's
	// receipt is owed.
	for _, text := range []string{"c", "d", "e"} {
		u.submitRD(t, text, 1, "")
	}
	hold <- struct{}{}
	for range 3 {
		sent = append(sent, call.nextSent(t))
	}
	testutil.Eventually(t, func() bool { return u.st.schedulesWaiting() == 3 }, "c, d and e's provisional receipts owed together")
	// Sent, not acknowledged: their receipts are not in the store yet.
	if n := u.queueLen(t); n != 3 {
		t.Fatalf("%d entries queued while c, d and e's receipts wait for the store, want 3", n)
	}
	close(hold)
	var texts []string
	for _, m := range sent {
		// The text ends the CPIM document.
		body := string(m.Body)
		texts = append(texts, body[strings.LastIndex(body, "\r\n\r\n")+4:])
	}
	if want := []string{"a", "b", "c", "d", "e"}; !slices.Equal(texts, want) {
		t.Fatalf("sent %q, want %q", texts, want)
	}
	testutil.Eventually(t, func() bool { return len(u.st.owed(receiptList("p"))) == 5 }, "the provisional receipts owed")
	for _, m := range sent {
		call.report(m.MessageID, 200)
	}
	for range sent {
		if got := string(u.nextReceipt(t).ShortMessage); !strings.Contains(got, "stat:DELIVRD") {
			t.Fatalf("receipt %q, want DELIVRD", got)
		}
	}
	u.noMoreReceipts(t)
}

// Issue 13 item 3: a message's SEND does not wait for the store to take
// its provisional receipt; the message is acknowledged in its queue
// only once the store took it.
func TestSendGoesWhileProvisionalReceiptOwed(t *testing.T) {
	u := startUnit(t, unitPolicy())
	var ackedUnowed int
	u.st.mu.Lock()
	u.st.onAck = func(string, []string) {
		if len(u.st.sched[receiptList("p")]) == 0 {
			ackedUnowed++
		}
	}
	u.st.mu.Unlock()
	hold := u.st.holdSchedules(t)
	id := u.submitRD(t, "a", 1, "")
	u.nextCall(t).nextSent(t)
	testutil.Eventually(t, func() bool { return u.st.schedulesWaiting() == 1 }, "a's provisional receipt being owed")
	if n := u.queueLen(t); n != 1 {
		t.Fatalf("%d entries queued while a's receipt waits for the store, want 1", n)
	}
	close(hold)
	testutil.Eventually(t, func() bool { return u.queueLen(t) == 0 }, "a acknowledged")
	u.st.mu.Lock()
	n := ackedUnowed
	u.st.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d acknowledgements before the receipt was owed", n)
	}
	if o, ok := u.st.owedOutcome(receiptList("p"), id); !ok || o != Unconfirmed {
		t.Fatalf("owed %v (%v), want the provisional receipt", o, ok)
	}
}

// Issue 13 item 3: a REPORT that comes while the message's provisional
// receipt is still being written waits for that write: the receipt the
// REPORT brings replaces the provisional one in the schedule, and is not
// replaced by it.
func TestReportWaitsForProvisionalReceipt(t *testing.T) {
	u := startUnit(t, unitPolicy())
	u.sms.mu.Lock()
	u.sms.noReceiver = true // the receipts stay in the schedule to be seen
	u.sms.mu.Unlock()
	hold := u.st.holdProvisional(t)
	id := u.submitRD(t, "a", 1, "")
	call := u.nextCall(t)
	m := call.nextSent(t)
	testutil.Eventually(t, func() bool { return u.st.schedulesWaiting() == 1 }, "a's provisional receipt being owed")
	call.report(m.MessageID, 200)
	c := u.conv(t)
	testutil.Eventually(t, func() bool {
		_, owed := u.st.owedOutcome(receiptList("p"), id)
		// Two wait: the worker, to acknowledge a (sendDone), and the
		// REPORT's receipt.
		return owed || c.owingWaits.Load() == 2
	}, "the REPORT's receipt owed or waiting")
	if o, ok := u.st.owedOutcome(receiptList("p"), id); ok {
		t.Fatalf("receipt %v owed while the provisional one is being written", o)
	}
	close(hold)
	// The provisional write is done once none waits (the fake writes
	// in the same critical section).
	testutil.Eventually(t, func() bool { return u.st.schedulesWaiting() == 0 }, "the provisional receipt written")
	testutil.Eventually(t, func() bool {
		o, ok := u.st.owedOutcome(receiptList("p"), id)
		return ok && o == Delivered
	}, "the REPORT's receipt owed in place of the provisional one")
	u.sms.mu.Lock()
	u.sms.noReceiver = false
	u.sms.mu.Unlock()
	if got := string(u.nextReceipt(t).ShortMessage); !strings.Contains(got, "stat:DELIVRD") {
		t.Fatalf("receipt %q, want DELIVRD", got)
	}
	u.noMoreReceipts(t)
}

// Issue 13 item 3: the REPORTs of a session become receipts
// concurrently: while the store is slow to take one receipt, the
// session's next REPORT is still taken (one after the other, it waited
// and held up the session's reader).
func TestReportsBecomeReceiptsConcurrently(t *testing.T) {
	u := startUnit(t, unitPolicy())
	u.submitRD(t, "a", 1, "")
	call := u.nextCall(t)
	a := call.nextSent(t)
	u.submitRD(t, "b", 1, "")
	b := call.nextSent(t)
	testutil.Eventually(t, func() bool { return len(u.st.owed(receiptList("p"))) == 2 }, "the provisional receipts owed")

	hold := u.st.holdSchedules(t)
	call.report(a.MessageID, 200)
	testutil.Eventually(t, func() bool { return u.st.schedulesWaiting() == 1 }, "a's receipt being owed")
	select {
	case call.events <- sipsession.Event{Kind: sipsession.EventReport, Report: session.Report{MessageID: b.MessageID, Status: 200}}:
	case <-time.After(30 * time.Second):
		t.Fatal("b's REPORT not taken while a's receipt waits for the store")
	}
	testutil.Eventually(t, func() bool { return u.st.schedulesWaiting() == 2 }, "both receipts being owed at once")
	close(hold)
	for range 2 {
		if got := string(u.nextReceipt(t).ShortMessage); !strings.Contains(got, "stat:DELIVRD") {
			t.Fatalf("receipt %q, want DELIVRD", got)
		}
	}
	u.noMoreReceipts(t)
}

// Issue 13, latency at a steady rate: the worker acknowledges what it
// sent together with its next read, one store round trip where the
// acknowledgement and the read took one each (and a message arriving
// meanwhile waited for both).
func TestAckGoesWithNextRead(t *testing.T) {
	u := startUnit(t, unitPolicy())
	u.submit(t, "a")
	call := u.nextCall(t)
	call.nextSent(t)
	testutil.Eventually(t, func() bool { return u.queueLen(t) == 0 }, "a acknowledged")
	u.st.mu.Lock()
	acks, ackReads := u.st.acks, u.st.ackReads
	u.st.mu.Unlock()
	if acks != 1 || ackReads != 1 {
		t.Fatalf("%d acks, %d with a read; want the one ack made with the next read", acks, ackReads)
	}
	select {
	case m := <-call.sent:
		t.Fatalf("sent again: %+v", m)
	default:
	}
}

// A worker stopping while the acks of its last batch wait for its next
// read acknowledges them before its lease goes: the next owner does not
// send them again.
func TestStoppingWorkerAcksWhatItSent(t *testing.T) {
	u := startUnit(t, unitPolicy())
	gate := make(chan struct{})
	defer close(gate)
	u.st.mu.Lock()
	u.st.ackReadGate = gate
	u.st.mu.Unlock()
	u.submit(t, "a")
	call := u.nextCall(t)
	call.nextSent(t)
	testutil.Eventually(t, func() bool {
		u.st.mu.Lock()
		defer u.st.mu.Unlock()
		return u.st.ackReadsHeld == 1
	}, "a's ack waiting with the next read")
	u.stop()
	if n := u.queueLen(t); n != 0 {
		t.Fatalf("%d entries left queued by the stopped worker, want 0", n)
	}
}

// holdProvisional is holdSchedules for the provisional receipts only.
func (m *memStore) holdProvisional(t *testing.T) chan struct{} {
	hold := m.holdSchedules(t)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.schedHoldIf = func(v []byte) bool {
		r, err := readOwedReceipt(v)
		return err == nil && r.Outcome == Unconfirmed
	}
	return hold
}

// owedOutcome is the outcome of the receipt owed under id in schedule
// name; false when none is.
func (m *memStore) owedOutcome(name, id string) (Outcome, bool) {
	m.mu.Lock()
	j, ok := m.sched[name][id]
	m.mu.Unlock()
	if !ok {
		return 0, false
	}
	r, err := readOwedReceipt(j.value)
	return r.Outcome, err == nil
}

// conv is the worker of the conversation the unit's submits go to.
func (u *unit) conv(t *testing.T) *conv {
	t.Helper()
	u.eng.mu.Lock()
	defer u.eng.mu.Unlock()
	c := u.eng.convs[testKey("p", "+46700000001", "+46700000002").String()]
	if c == nil {
		t.Fatal("no worker")
	}
	return c
}

// Issue 13 item 3: a worker stopped while its message's provisional
// receipt is being written lets the write finish, as the SEND does,
// and acknowledges the message only after it: the receipt of a message
// that went is not lost to the stop.
func TestStopWhileProvisionalReceiptOwed(t *testing.T) {
	u := startUnit(t, unitPolicy())
	hold := u.st.holdSchedules(t)
	id := u.submitRD(t, "a", 1, "")
	u.nextCall(t).nextSent(t)
	testutil.Eventually(t, func() bool { return u.st.schedulesWaiting() == 1 }, "a's provisional receipt being owed")
	c := u.conv(t)
	stopped := make(chan struct{})
	go func() { defer close(stopped); u.stop() }()
	testutil.Eventually(t, func() bool { return c.ctx.Err() != nil }, "the worker stopping")
	close(hold)
	<-stopped
	if o, ok := u.st.owedOutcome(receiptList("p"), id); !ok || o != Unconfirmed {
		t.Fatalf("owed %v (%v) after the stop, want the provisional receipt", o, ok)
	}
	if n := u.queueLen(t); n != 0 {
		t.Fatalf("%d entries left queued by the stopped worker, want 0", n)
	}
}
