package interwork

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"iwf/internal/address"
	"iwf/internal/cpim"
	"iwf/internal/testutil"
	"iwf/pager"
)

// awaitingCount is how many messages the conversation of the unit's
// submits keeps waiting in memory; 0 once its worker is gone.
func (u *unit) awaitingCount() int {
	u.eng.mu.Lock()
	c := u.eng.convs[testKey("p", "+46700000001", "+46700000002").String()]
	u.eng.mu.Unlock()
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for id, a := range c.awaiting {
		if id == a.q.ID {
			n++
		}
	}
	return n
}

// imdnOf is the imdn.Message-ID of a CPIM message sent in a session.
func imdnOf(t *testing.T, body []byte) string {
	t.Helper()
	cm, err := cpim.Parse(body)
	if err != nil {
		t.Fatalf("not CPIM: %v", err)
	}
	i, err := cm.IMDN()
	if err != nil || i.MessageID == "" || i.Disposition&cpim.PositiveDelivery == 0 {
		t.Fatalf("imdn headers %+v, %v", i, err)
	}
	return i.MessageID
}

// deliveredByMessage is the RCS user's IMDN "delivered" about id, in a
// MESSAGE.
func deliveredByMessage(t *testing.T, u *unit, id string) error {
	t.Helper()
	sms, err := address.Parse("+46700000001", address.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rcsUser, err := address.Parse("sip:+46700000002@rcs.test", address.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := &cpim.Notification{MessageID: id, Kind: cpim.DeliveryNotification, Status: cpim.StatusDelivered}
	return u.eng.Accept(testutil.Context(t), &pager.Message{ID: "n-" + id, Partner: "rcs", From: rcsUser, To: sms, Notification: n, ReceivedAt: time.Now()})
}

// Issue 10: a message answered 200 in a session and still waiting for
// its Success-Report or IMDN when the session is lost. No REPORT can
// come on the dead session; an IMDN still can, in a MESSAGE or a new
// session, long after the conversation's worker left. The message
// leaves memory with its session and waits in the store: the IMDN that
// comes in a MESSAGE afterwards still becomes its receipt.
func TestAwaitingSurvivesSessionLossInStore(t *testing.T) {
	u := startUnit(t, unitPolicy())
	u.submit(t, "answered, not reported")
	call := u.nextCall(t)
	id := imdnOf(t, call.nextSent(t).Body)
	testutil.Eventually(t, func() bool { return u.awaitingCount() == 1 }, "the message does not wait for its report")
	_ = call.Close(testutil.Context(t))
	testutil.Eventually(t, func() bool {
		_, ok, _ := u.st.Get(testutil.Context(t), imdnWaitKey("p", id))
		return ok && u.awaitingCount() == 0
	}, "the message still waits in memory, or not in the store")
	if err := deliveredByMessage(t, u, id); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if r := u.receipt(t); !strings.Contains(r, "stat:DELIVRD") {
		t.Fatalf("receipt %q", r)
	}
	if _, ok, _ := u.st.Get(testutil.Context(t), imdnWaitKey("p", id)); ok {
		t.Fatal("the wait outlived the IMDN")
	}
}

// A session whose peer never reports keeps nothing in memory past the
// messages' validity: their provisional receipt is due, no report is
// waited for any more.
func TestAwaitingExpires(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	pol := unitPolicy()
	u := startUnitClock(t, pol, clk.Now)
	u.submit(t, "one")
	call := u.nextCall(t)
	call.nextSent(t)
	u.submit(t, "two")
	call.nextSent(t)
	testutil.Eventually(t, func() bool { return u.awaitingCount() == 2 }, "two messages wait")
	clk.advance(pol.MaxAge + time.Hour)
	u.submit(t, "three")
	call.nextSent(t)
	testutil.Eventually(t, func() bool { return u.awaitingCount() == 1 }, "expired messages still wait")
}

// A conversation keeps maxAwaiting entries waiting in memory at most:
// past that, the oldest go, those that may still get an IMDN to wait in
// the store.
func TestAwaitingCapped(t *testing.T) {
	u := startUnit(t, unitPolicy())
	k := testKey("p", "+46700000001", "+46700000003")
	c := newConv(u.eng, k, testutil.Context(t), func(error) {})
	call := newFakeCall()
	now := time.Now()
	for i := range maxAwaiting {
		q := &queued{ID: fmt.Sprintf("m%05d", i), At: now.Add(time.Duration(i) * time.Millisecond).UnixNano()}
		c.await(q, q.ID, call, i%2 == 0)
	}
	last := &queued{ID: "last", At: now.Add(time.Hour).UnixNano()}
	c.await(last, last.ID, call, true)
	c.mu.Lock()
	n := len(c.awaiting)
	_, kept := c.awaiting["last"]
	c.mu.Unlock()
	if want := maxAwaiting/2 + 1; n != want || !kept {
		t.Fatalf("%d waiting (last kept %v), want %d", n, kept, want)
	}
	ctx := testutil.Context(t)
	// The oldest half went, the even ones to the store.
	for i, want := range map[int]bool{0: true, 1: false, maxAwaiting / 2: false, maxAwaiting - 1: false} {
		_, ok, _ := u.st.Get(ctx, imdnWaitKey("p", fmt.Sprintf("m%05d", i)))
		if ok != want {
			t.Errorf("m%05d waits in the store: %v, want %v", i, ok, want)
		}
	}
}
