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

// Issue 13 item 3: a worker owes the provisional receipts of a batch of
// messages for its running session together, not one store round trip
// before each SEND; each is still owed before its SEND, and the SENDs
// keep the queue's order.
func TestBatchOwesProvisionalReceiptsTogether(t *testing.T) {
	u := startUnit(t, unitPolicy())
	u.submitRD(t, "a", 1, "")
	call := u.nextCall(t)
	sent := []*session.OutgoingMessage{call.nextSent(t)}
	testutil.Eventually(t, func() bool { return len(u.st.owed(receiptList("p"))) == 1 }, "a's provisional receipt owed")

	hold := u.st.holdSchedules(t)
	u.submitRD(t, "b", 1, "")
	testutil.Eventually(t, func() bool { return u.st.schedulesWaiting() == 1 }, "b's provisional receipt being owed")
	// The worker waits on b's receipt: c, d and e queue up behind it and
	// are read as one batch once b is sent.
	for _, text := range []string{"c", "d", "e"} {
		u.submitRD(t, text, 1, "")
	}
	hold <- struct{}{}
	sent = append(sent, call.nextSent(t))
	testutil.Eventually(t, func() bool { return u.st.schedulesWaiting() == 3 }, "c, d and e's provisional receipts owed together")
	close(hold)
	for range 3 {
		m := call.nextSent(t)
		// Owed before its SEND: the REPORT that follows replaces it.
		if got := u.st.owed(receiptList("p")); len(got) < len(sent)+1 {
			t.Fatalf("%d receipts owed at the SEND of message %d", len(got), len(sent)+1)
		}
		sent = append(sent, m)
	}
	var texts []string
	for _, m := range sent {
		// The text ends the CPIM document.
		body := string(m.Body)
		texts = append(texts, body[strings.LastIndex(body, "\r\n\r\n")+4:])
	}
	if want := []string{"a", "b", "c", "d", "e"}; !slices.Equal(texts, want) {
		t.Fatalf("sent %q, want %q", texts, want)
	}
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
