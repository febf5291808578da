package interwork

import (
	"strings"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/session/sipsession"
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

// on_open_failure: retry keeps the message queued while opens fail, then
// sends it once into the session that opens.
func TestConvRetryThenOpen(t *testing.T) {
	pol := unitPolicy()
	pol.OnOpenFailure = FallbackRetry
	pol.MaxRetries = 3
	busy := &sipsession.Error{Kind: sipsession.KindRejected, Status: 486}
	u := startUnit(t, pol, busy, busy)
	u.submit(t, "after two refusals")
	var call *fakeCall
	select {
	case call = <-u.sessions.calls:
	case <-time.After(30 * time.Second):
		t.Fatal("no session opened")
	}
	select {
	case m := <-call.sent:
		if m.MessageID == "" || !strings.Contains(string(m.Body), "after two refusals") {
			t.Fatalf("sent %+v", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("nothing sent")
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
	var call *fakeCall
	select {
	case call = <-u.sessions.calls:
	case <-time.After(30 * time.Second):
		t.Fatal("no session opened")
	}
	<-call.sent
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
	call := <-u.sessions.calls
	<-call.sent
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
