package interwork

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/sipsession"
	"iwf/smpp"
)

func unitPolicy() Policy {
	p := Defaults()
	p.RetryDelay = time.Millisecond
	return p
}

// A refused INVITE under on_open_failure: pager relays the message as a
// MESSAGE toward the RCS side, and its receipt says delivered.
func TestConvFallbackPager(t *testing.T) {
	pol := unitPolicy()
	pol.OnOpenFailure = FallbackPager
	u := startUnit(t, pol, &sipsession.Error{Kind: sipsession.KindRejected, Status: 486})
	u.submit(t, "hello")
	select {
	case m := <-u.pager.sent:
		if m.Text != "hello" || m.Partner != "rcs" || m.To.Number != "+46700000002" {
			t.Fatalf("relayed %+v", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("nothing relayed")
	}
	if r := u.receipt(t); !strings.Contains(r, "stat:DELIVRD") {
		t.Fatalf("receipt %q", r)
	}
	testutil.Eventually(t, func() bool { return u.queueLen(t) == 0 }, "queue acknowledged")
	if n := u.sessions.openCount(); n != 1 {
		t.Fatalf("%d INVITEs, want 1", n)
	}
}

// A call the RCS party opened is attached to the conversation while its
// worker is reading the queue: what the worker reads then goes into that
// call, not into a second session it would open toward the same party.
// (The SMSC receipt's IMDN of TestSMSCReceiptBecomesIMDN went on a new
// session when its worker was this late.)
func TestConvUsesCallAttachedDuringRead(t *testing.T) {
	u := startUnit(t, unitPolicy())
	<-u.eng.running // the submit starts the worker, not recovery later
	gate := make(chan struct{})
	u.st.mu.Lock()
	u.st.readGate = gate
	u.st.mu.Unlock()
	u.submit(t, "toward the caller")
	incoming := newFakeCall()
	if !u.eng.attach(testutil.Context(t), testKey("p", "+46700000001", "+46700000002"), incoming) {
		t.Fatal("call not attached")
	}
	u.st.mu.Lock()
	u.st.readGate = nil
	u.st.mu.Unlock()
	close(gate)
	select {
	case m := <-incoming.sent:
		if !strings.Contains(string(m.Body), "toward the caller") {
			t.Fatalf("sent %+v", m)
		}
	case <-u.sessions.calls:
		t.Fatal("a second session opened toward the caller")
	case <-time.After(30 * time.Second):
		t.Fatal("nothing sent")
	}
	testutil.Eventually(t, func() bool { return u.queueLen(t) == 0 }, "queue acknowledged")
	if n := u.sessions.openCount(); n != 0 {
		t.Fatalf("%d INVITEs, want 0", n)
	}
}

// on_open_failure: retry keeps the message queued while opens fail, then
// sends it once into the session that opens.
func TestConvRetryThenOpen(t *testing.T) {
	pol := unitPolicy()
	pol.OnOpenFailure = FallbackRetry
	pol.MaxRetries = 3
	busy := &sipsession.Error{Kind: sipsession.KindRejected, Status: 486}
	u := startUnit(t, pol, busy, busy)
	u.submit(t, "after two refusals")
	call := u.nextCall(t)
	if m := call.nextSent(t); m.MessageID == "" || !strings.Contains(string(m.Body), "after two refusals") {
		t.Fatalf("sent %+v", m)
	}
	testutil.Eventually(t, func() bool { return u.queueLen(t) == 0 }, "queue acknowledged")
	if n := u.sessions.openCount(); n != 3 {
		t.Fatalf("%d INVITEs, want 3", n)
	}
	select {
	case m := <-call.sent:
		t.Fatalf("sent twice: %+v", m)
	default:
	}
}

// Once the retries are spent the message fails back to its sender.
func TestConvRetryExhausted(t *testing.T) {
	pol := unitPolicy()
	pol.OnOpenFailure = FallbackRetry
	pol.MaxRetries = 2
	busy := &sipsession.Error{Kind: sipsession.KindRejected, Status: 486}
	u := startUnit(t, pol, busy, busy, busy, busy)
	u.submit(t, "never opens")
	if r := u.receipt(t); !strings.Contains(r, "stat:UNDELIV") {
		t.Fatalf("receipt %q", r)
	}
	testutil.Eventually(t, func() bool { return u.queueLen(t) == 0 }, "queue acknowledged")
	if n := u.sessions.openCount(); n != 3 {
		t.Fatalf("%d INVITEs, want 1 + 2 retries", n)
	}
}

// A worker whose lease another node took stops at once: the message it
// was opening a session for stays queued for the new owner, and the
// lease, no longer ours, is not released.
func TestConvLeaseLost(t *testing.T) {
	u := startUnit(t, unitPolicy())
	u.sessions.mu.Lock()
	u.sessions.block = true
	u.sessions.mu.Unlock()
	u.submit(t, "taken over")
	testutil.Eventually(t, func() bool { return u.sessions.openCount() == 1 }, "INVITE sent")
	u.st.mu.Lock()
	u.st.renewFails = true
	u.st.mu.Unlock()
	testutil.Eventually(t, func() bool {
		u.eng.mu.Lock()
		defer u.eng.mu.Unlock()
		return len(u.eng.convs) == 0
	}, "worker gone")
	if n := u.queueLen(t); n != 1 {
		t.Fatalf("queue holds %d, want the message still queued", n)
	}
	u.st.mu.Lock()
	defer u.st.mu.Unlock()
	if len(u.st.released) != 0 {
		t.Fatalf("released %v, a lease another node holds", u.st.released)
	}
	if owner := u.st.leases[testKey("p", "+46700000001", "+46700000002").String()]; owner != "other-node" {
		t.Fatalf("lease held by %q", owner)
	}
}

// While the store refuses acks (a Redis at maxmemory), the worker sends
// nothing more and never sends again what it sent: it retries the ack,
// backing off, until the store takes it.
func TestConvAckFailureNoResend(t *testing.T) {
	u := startUnit(t, unitPolicy())
	u.st.mu.Lock()
	u.st.ackFails = 3
	u.st.mu.Unlock()
	u.submit(t, "sent once")
	call := u.nextCall(t)
	call.nextSent(t)
	testutil.Eventually(t, func() bool { return u.queueLen(t) == 0 }, "the ack to go through")
	u.st.mu.Lock()
	acks := u.st.acks
	u.st.mu.Unlock()
	if acks != 4 {
		t.Fatalf("%d ack attempts, want 3 refused and 1 taken", acks)
	}
	select {
	case m := <-call.sent:
		t.Fatalf("sent again while the ack failed: %+v", m)
	default:
	}
}

// A worker whose ack is refused because another node holds the lease
// stops at once, and leaves the entry to that node.
func TestConvAckFencedByLease(t *testing.T) {
	u := startUnit(t, unitPolicy())
	hold := make(chan struct{})
	u.sessions.mu.Lock()
	u.sessions.hold = hold
	u.sessions.mu.Unlock()
	key := testKey("p", "+46700000001", "+46700000002").String()
	u.submit(t, "fenced")
	call := u.nextCall(t)
	call.nextSent(t)
	// Take the lease away between the send and its ack.
	u.st.mu.Lock()
	u.st.leases[key] = "other-node"
	u.st.mu.Unlock()
	close(hold)
	testutil.Eventually(t, func() bool {
		u.eng.mu.Lock()
		defer u.eng.mu.Unlock()
		return len(u.eng.convs) == 0
	}, "the fenced worker to stop")
	if n := u.queueLen(t); n != 1 {
		t.Fatalf("queue holds %d, want the entry left to the new owner", n)
	}
}

// clock is a settable time for the engine's expiry checks.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Issue 11 item 12: by default a session that cannot be opened is tried
// again, with growing waits, for as long as the message is valid; only
// then does its failure receipt go back. Nothing is failed while valid.
func TestConvDefaultRetriesUntilValidity(t *testing.T) {
	pol := Defaults()
	pol.RetryDelay, pol.RetryMaxDelay = time.Millisecond, 4*time.Millisecond
	if pol.OnOpenFailure != FallbackRetry || pol.MaxRetries != 0 {
		t.Fatalf("default policy %s / %d retries, want retry until validity", pol.OnOpenFailure, pol.MaxRetries)
	}
	clk := &clock{now: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	busy := &sipsession.Error{Kind: sipsession.KindRejected, Status: 486}
	answers := make([]error, 1000)
	for i := range answers {
		answers[i] = busy
	}
	u := startUnitClock(t, pol, clk.Now, answers...)
	// Valid for one hour (SMPP 3.4 7.1.1 relative time).
	u.submitValid(t, "valid for an hour", "000000010000000R")
	testutil.Eventually(t, func() bool { return u.sessions.openCount() >= 20 }, "twenty tries")
	select {
	case m := <-u.sms.receipts:
		t.Fatalf("failed while still valid: %q", m.ShortMessage)
	default:
	}
	if n := u.queueLen(t); n != 1 {
		t.Fatalf("queue holds %d while retrying, want 1", n)
	}
	clk.advance(time.Hour + time.Second)
	if r := u.receipt(t); !strings.Contains(r, "stat:EXPIRED") {
		t.Fatalf("receipt %q, want EXPIRED", r)
	}
	testutil.Eventually(t, func() bool { return u.queueLen(t) == 0 }, "the expired message to leave the queue")
}

// The retry waits double from retry_delay up to retry_max_delay.
func TestConvRetryDelayDoubles(t *testing.T) {
	c := &conv{partner: &partner{Partner: Partner{Policy: Policy{RetryDelay: time.Second, RetryMaxDelay: 5 * time.Second}}}}
	var got []time.Duration
	for c.attempts = 1; c.attempts <= 5; c.attempts++ {
		got = append(got, c.retryDelay())
	}
	if fmt.Sprint(got) != "[1s 2s 4s 5s 5s]" {
		t.Fatalf("waits %v", got)
	}
}

// A validity period that is not an SMPP time is refused before anything
// is stored (ESME_RINVEXPIRY, SMPP 3.4 5.1.3).
func TestSubmitBadValidity(t *testing.T) {
	u := startUnit(t, unitPolicy())
	msgs, err := smpp.TextMessages(smsAddr("+46700000001"), smsAddr("+46700000002"), "x", smpp.TextOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs[0].ValidityPeriod = "2612071200000+0X"
	_, err = u.eng.HandleSubmit(testutil.Context(t), "p", msgs[0])
	if smpp.StatusOf(err) != smpp.StatusInvExpiry {
		t.Fatalf("HandleSubmit = %v, want ESME_RINVEXPIRY", err)
	}
	if n := u.queueLen(t); n != 0 {
		t.Fatalf("queued %d", n)
	}
}

// Issue 11 item 9: with the store hanging, a submit is answered "try
// later" once the store wait is over, not when the peer gives up.
func TestSubmitAnsweredWhenStoreHangs(t *testing.T) {
	u := startUnit(t, unitPolicy())
	u.st.mu.Lock()
	u.st.hang = true
	u.st.mu.Unlock()
	msgs, err := smpp.TextMessages(smsAddr("+46700000001"), smsAddr("+46700000002"), "x", smpp.TextOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The context of the call has no deadline of its own.
	_, err = u.eng.HandleSubmit(context.Background(), "p", msgs[0])
	if smpp.StatusOf(err) != smpp.StatusXTAppn {
		t.Fatalf("HandleSubmit = %v, want ESME_RX_T_APPN", err)
	}
}

// A 481 to a SEND says the session is gone, not that the message is bad
// (RFC 4975 section 10): the message goes into a new session instead of
// failing back to its sender (found by make chaos, RCS core down).
func TestConvSessionGoneResends(t *testing.T) {
	u := startUnit(t, unitPolicy())
	u.sessions.mu.Lock()
	u.sessions.sendErrs = []error{&session.StatusError{Code: 481, Comment: "no such session"}}
	u.sessions.mu.Unlock()
	u.submit(t, "into a new session")
	u.nextCall(t)
	second := u.nextCall(t)
	if m := second.nextSent(t); !strings.Contains(string(m.Body), "into a new session") {
		t.Fatalf("sent %q", m.Body)
	}
	testutil.Eventually(t, func() bool { return u.queueLen(t) == 0 }, "the queue to empty")
	if n := u.eng.partnerNamed("p").counters.snapshot()["failed"]; n != 0 {
		t.Fatalf("%d failed", n)
	}
	select {
	case m := <-u.sms.receipts:
		t.Fatalf("a receipt %q for a message still on its way", m.ShortMessage)
	default:
	}
}

// A partner that answers deliver_sm "throttled" or "try later" (SMPP 3.4
// 5.1.3) gets the message again later; it does not fail (found by make
// chaos, partner ESME answering ESME_RTHROTTLED / ESME_RX_T_APPN).
func TestConvTemporarySMPPStatusRetried(t *testing.T) {
	for _, status := range []uint32{smpp.StatusThrottled, smpp.StatusXTAppn, smpp.StatusMsgQFul} {
		t.Run(fmt.Sprintf("0x%02x", status), func(t *testing.T) {
			u := startUnit(t, unitPolicy())
			u.sms.mu.Lock()
			u.sms.answers = []error{&smpp.StatusError{Command: smpp.CmdDeliverSMResp, Status: status}}
			u.sms.mu.Unlock()
			p := u.eng.partnerNamed("p")
			q := &queued{ID: "m1", Dir: toSMS, Ingress: ingressMSRP, Text: "to the handset", At: u.eng.now().UnixNano()}
			if _, err := u.eng.enqueue(testutil.Context(t), p, testKey("p", "+46700000001", "+46700000002"), "", q); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, func() bool { return u.sms.sends() == 1 && u.queueLen(t) == 0 }, "the message to go out on the second try")
			if n := p.counters.snapshot()["failed"]; n != 0 {
				t.Fatalf("%d failed", n)
			}
		})
	}
}

// A lease that lapsed while the store stalled, and that no other node
// took, is taken back at the ack: the worker goes on instead of tearing
// its session down and leaving the batch to be sent again.
func TestConvAckRetakesLapsedLease(t *testing.T) {
	u := startUnit(t, unitPolicy())
	hold := make(chan struct{})
	u.sessions.mu.Lock()
	u.sessions.hold = hold
	u.sessions.mu.Unlock()
	key := testKey("p", "+46700000001", "+46700000002").String()
	u.submit(t, "lapsed")
	call := u.nextCall(t)
	call.nextSent(t)
	// The lease lapses: nobody holds it.
	u.st.mu.Lock()
	delete(u.st.leases, key)
	u.st.mu.Unlock()
	close(hold)
	testutil.Eventually(t, func() bool { return u.queueLen(t) == 0 }, "the ack under the retaken lease")
	u.eng.mu.Lock()
	_, live := u.eng.convs[key]
	u.eng.mu.Unlock()
	if !live {
		t.Fatal("the worker stopped although nobody else took its lease")
	}
	select {
	case <-call.done:
		t.Fatal("the session was torn down")
	default:
	}
}
