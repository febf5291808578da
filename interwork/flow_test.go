package interwork

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/cpim"
	"iwf/internal/iwftest"
	"iwf/internal/testutil"
	"iwf/pager"
	"iwf/pager/pagertest"
	"iwf/session"
	"iwf/session/sipsession"
	"iwf/smpp/concat"
	"iwf/smpp/receipt"
)

// receiptOf reads a delivery receipt deliver_sm.
func receiptOf(t testing.TB, q pdu.PDU) receipt.Receipt {
	t.Helper()
	d, ok := q.(*pdu.DeliverSM)
	if !ok {
		t.Fatalf("got %T, want a deliver_sm receipt", q)
	}
	b, err := d.Message.GetMessageData()
	if err != nil {
		t.Fatal(err)
	}
	r, err := receipt.Parse(b, receipt.Params{})
	if err != nil {
		t.Fatalf("receipt %q: %v", b, err)
	}
	return r
}

// Issue 5, must show (1): three submits from A to B make one INVITE, one
// MSRP session and three SENDs in order; B's reports become receipts.
func TestSubmitsBecomeOneSession(t *testing.T) {
	rcs := startRCS(t, 0)
	w := startIWF(t, startRedis(t), rcs, "n1", demoPartner())
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	texts := []string{"one", "two", "three"}
	var ids []string
	// Each submit waits for its response: SMPP orders only what was
	// acknowledged (a window lets requests overtake each other).
	for _, s := range texts {
		e.Submit(t, "46700000001", "46700000002", s)
		resp := e.NextResp(t)
		if resp.CommandStatus != data.ESME_ROK || resp.MessageID == "" {
			t.Fatalf("submit_sm_resp %+v", resp)
		}
		ids = append(ids, resp.MessageID)
	}
	var call any
	for i, want := range texts {
		m := rcs.Next(t)
		if m.Text != want {
			t.Fatalf("message %d is %q, want %q", i, m.Text, want)
		}
		if call != nil && m.Call != call {
			t.Fatal("messages arrived on two sessions")
		}
		call = m.Call
		if got := m.CPIM.From.URI; !strings.Contains(got, "+46700000001") {
			t.Fatalf("CPIM From %q", got)
		}
	}
	if n := len(rcs.Calls); n != 1 {
		t.Fatalf("%d INVITEs, want 1", n)
	}
	got := map[string]receipt.State{}
	for range texts {
		r := receiptOf(t, e.Next(t))
		got[r.ID] = r.State
	}
	for _, id := range ids {
		if got[id] != receipt.Delivered {
			t.Fatalf("receipt of %s: %v (all %v)", id, got[id], got)
		}
	}
}

// Issue 5, must show (3): the RCS side refuses the session; under
// on_open_failure: fail every acknowledged message returns as a failure
// receipt at once and none stays queued.
func TestOpenFailureReturnsReceipts(t *testing.T) {
	rcs := startRCS(t, 486)
	p := demoPartner()
	p.Policy.OnOpenFailure = FallbackFail
	w := startIWF(t, startRedis(t), rcs, "n1", p)
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	for _, s := range []string{"a", "b", "c"} {
		e.Submit(t, "46700000001", "46700000003", s)
	}
	ids := map[string]bool{}
	receipts := map[string]receipt.State{}
	for len(ids) < 3 || len(receipts) < 3 {
		switch q := e.Next(t).(type) {
		case *pdu.SubmitSMResp:
			ids[q.MessageID] = true
		case *pdu.DeliverSM:
			r := receiptOf(t, q)
			receipts[r.ID] = r.State
		}
	}
	for id := range ids {
		if receipts[id] != receipt.Undeliverable {
			t.Fatalf("receipt of %s: %v, want UNDELIV", id, receipts[id])
		}
	}
	awaitQueueEmpty(t, w, testKey("demo", "+46700000001", "+46700000003"))
}

// rcsOpen opens a session from the RCS peer toward an SMS number at the
// IWF.
func rcsOpen(t testing.TB, rcs *rcsPeer, w *iwf, from, to string) *sipsession.Call {
	t.Helper()
	trunk := sipsession.DefaultTrunk()
	trunk.Name = "iwf"
	trunk.NextHop = "sip:" + w.st.Addr("tcp").String() + ";transport=tcp"
	call, err := rcs.Manager.Open(testutil.Context(t), sipsession.OpenRequest{From: from, To: to, Trunk: trunk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = call.Close(context.Background()) })
	return call
}

// awaitReport returns the status of the next REPORT on call.
func awaitReport(t testing.TB, call *sipsession.Call) session.Report {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-call.Events():
			if ev.Kind == sipsession.EventReport {
				return ev.Report
			}
			if ev.Kind == sipsession.EventClosed {
				t.Fatalf("call closed: %v", ev.Err)
			}
		case <-timeout:
			t.Fatal("no REPORT")
		}
	}
}

// Issue 5, must show (2): a long MSRP message from the RCS side reaches
// an SMPP receiver as correctly concatenated segments, and the sender
// gets its Success-Report once the SMS side took every segment.
func TestLongMSRPMessageBecomesConcatenatedSMS(t *testing.T) {
	rcs := startRCS(t, 0)
	p := demoPartner()
	p.SMS.Style = concat.UDH8.String()
	w := startIWF(t, startRedis(t), rcs, "n1", p)
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	long := strings.Repeat("All work and no play. ", 18) // 396 GSM-7 characters: 3 segments
	call := rcsOpen(t, rcs, w, "sip:+46700000009@rcs.test", "sip:+46700000001@iwf.test;user=phone")
	if _, err := call.Send(testutil.Context(t), &session.OutgoingMessage{ContentType: "text/plain", Body: []byte(long), SuccessReport: true}); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	var refs []byte
	for i := 0; i < 3; i++ {
		d, ok := e.Next(t).(*pdu.DeliverSM)
		if !ok {
			t.Fatalf("segment %d is not a deliver_sm", i)
		}
		if d.EsmClass&0x40 == 0 {
			t.Fatalf("segment %d without UDHI", i)
		}
		udh := d.Message.UDH()
		if len(udh) != 1 || udh[0].ID != data.UDH_CONCAT_MSG_8_BIT_REF || len(udh[0].Data) != 3 {
			t.Fatalf("segment %d UDH %+v", i, udh)
		}
		if int(udh[0].Data[1]) != 3 || int(udh[0].Data[2]) != i+1 {
			t.Fatalf("segment %d says part %d of %d", i, udh[0].Data[2], udh[0].Data[1])
		}
		refs = append(refs, udh[0].Data[0])
		if d.SourceAddr.Address() != "46700000009" || d.DestAddr.Address() != "46700000001" {
			t.Fatalf("addresses %s -> %s", d.SourceAddr.Address(), d.DestAddr.Address())
		}
		s, err := d.Message.GetMessage()
		if err != nil {
			t.Fatal(err)
		}
		got.WriteString(s)
	}
	if refs[0] != refs[1] || refs[1] != refs[2] {
		t.Fatalf("segments carry references %v", refs)
	}
	if got.String() != long {
		t.Fatalf("reassembled %q", got.String())
	}
	if r := awaitReport(t, call); r.Status != 200 {
		t.Fatalf("REPORT %d", r.Status)
	}
}

// awaitQueueEmpty waits until the conversation's queue is acknowledged
// to the end. The acknowledgement follows the send it records, with no
// event outside the store to await, so this polls the store.
func awaitQueueEmpty(t testing.TB, w *iwf, key convKey) {
	t.Helper()
	ctx := testutil.Context(t)
	testutil.Eventually(t, func() bool {
		n, err := w.store.QueueLen(ctx, key.String())
		if err != nil {
			t.Fatal(err)
		}
		return n == 0
	}, "the queue of %s to empty", key)
}

// Issue 5, must show (4), in process: the node stops after it
// acknowledged messages and read them from its queue, while their
// session is still opening; a restart delivers each exactly once.
func TestRestartDeliversExactlyOnce(t *testing.T) {
	redis := startRedis(t)
	rcs := startRCS(t, 0)
	rcs.Hold = make(chan struct{})
	w1 := startIWF(t, redis, rcs, "n1", demoPartner())
	e := bindESME(t, w1.smpp.Addr().String(), "demo")
	texts := []string{"first", "second", "third"}
	for _, s := range texts {
		e.Submit(t, "46700000001", "46700000004", s)
		if r := e.NextResp(t); r.CommandStatus != data.ESME_ROK {
			t.Fatalf("submit_sm_resp %v", r.CommandStatus)
		}
	}
	<-rcs.Held // the INVITE is in; its answer is held
	w1.stop(nil)
	close(rcs.Hold)
	key := testKey("demo", "+46700000001", "+46700000004")
	w2 := startIWF(t, redis, rcs, "n1", demoPartner())
	for _, want := range texts {
		if m := rcs.Next(t); m.Text != want {
			t.Fatalf("got %q, want %q", m.Text, want)
		}
	}
	awaitQueueEmpty(t, w2, key)
	select {
	case m := <-rcs.Msgs:
		t.Fatalf("%q delivered twice", m.Text)
	default:
	}
}

// Issue 3 with a real Redis: the segments of a concatenated SMS arrive
// out of order and one twice; the RCS side gets one whole message.
func TestConcatenatedSubmitReassembled(t *testing.T) {
	rcs := startRCS(t, 0)
	w := startIWF(t, startRedis(t), rcs, "n1", demoPartner())
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	parts := []struct {
		seq  byte
		text string
	}{{2, "second half."}, {1, "First half, "}, {2, "second half."}, {3, " And the end."}}
	for _, p := range parts {
		e.SubmitPart(t, "46700000001", "46700000007", p.text, pdu.UDH{pdu.NewIEConcatMessage(3, p.seq, 42)})
		if r := e.NextResp(t); r.CommandStatus != data.ESME_ROK {
			t.Fatalf("segment %d answered %v", p.seq, r.CommandStatus)
		}
	}
	if m := rcs.Next(t); m.Text != "First half, second half. And the end." {
		t.Fatalf("RCS side got %q", m.Text)
	}
	awaitQueueEmpty(t, w, testKey("demo", "+46700000001", "+46700000007"))
	select {
	case m := <-rcs.Msgs:
		t.Fatalf("a second message %q", m.Text)
	default:
	}
}

// DESIGN "Scale-out": two nodes share one Redis. A message that reaches
// the node not owning the conversation is queued and sent by the owner,
// in the owner's session; when the owner stops, the other node takes the
// conversation over.
func TestTwoNodesShareConversations(t *testing.T) {
	redis := startRedis(t)
	rcs := startRCS(t, 0)
	n1 := startIWF(t, redis, rcs, "n1", demoPartner())
	n2 := startIWF(t, redis, rcs, "n2", demoPartner())
	e1 := bindESME(t, n1.smpp.Addr().String(), "demo")
	e2 := bindESME(t, n2.smpp.Addr().String(), "demo")
	e1.Submit(t, "46700000001", "46700000008", "via node 1")
	e1.NextResp(t)
	first := rcs.Next(t)
	e2.Submit(t, "46700000001", "46700000008", "via node 2")
	e2.NextResp(t)
	second := rcs.Next(t)
	if first.Text != "via node 1" || second.Text != "via node 2" {
		t.Fatalf("got %q then %q", first.Text, second.Text)
	}
	if first.Call != second.Call {
		t.Fatal("the second node opened its own session")
	}
	// Either node may have taken the conversation first (the other's
	// recovery scan races the enqueuing node for the lease): stop the
	// owner and send through the other.
	key := testKey("demo", "+46700000001", "+46700000008").String()
	owner, err := n1.store.Owner(testutil.Context(t), key)
	if err != nil {
		t.Fatal(err)
	}
	survivor := e2
	switch owner {
	case "n1":
		n1.stop(t)
	case "n2":
		n2.stop(t)
		survivor = e1
	default:
		t.Fatalf("conversation owned by %q", owner)
	}
	survivor.Submit(t, "46700000001", "46700000008", "after the owner stopped")
	survivor.NextResp(t)
	if m := rcs.Next(t); m.Text != "after the owner stopped" || m.Call == first.Call {
		t.Fatalf("got %q on the old session: %v", m.Text, m.Call == first.Call)
	}
}

// An idle session gets its BYE; the conversation record stays, and the
// next message's session carries the same Conversation-ID.
func TestIdleSessionClosedAndConversationRegroups(t *testing.T) {
	rcs := startRCS(t, 0)
	p := demoPartner()
	p.Policy.IdleTimeout = 300 * time.Millisecond
	w := startIWF(t, startRedis(t), rcs, "n1", p)
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	e.Submit(t, "46700000001", "46700000010", "before idle")
	first := rcs.Next(t)
	select {
	case <-first.Call.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("no BYE after the idle timeout")
	}
	key := testKey("demo", "+46700000001", "+46700000010").String()
	rec, err := w.store.LoadConversation(testutil.Context(t), key)
	if err != nil {
		t.Fatal(err)
	}
	// The BYE went out between "closing" and "idle".
	if (rec["state"] != "closing" && rec["state"] != "idle") || rec["conversation_id"] != first.Call.ConversationID() || rec["node"] != "n1" {
		t.Fatalf("record after idle close: %v", rec)
	}
	e.Submit(t, "46700000001", "46700000010", "after idle")
	second := rcs.Next(t)
	if second.Text != "after idle" || second.Call == first.Call {
		t.Fatalf("got %q on the closed session", second.Text)
	}
	if second.Call.ConversationID() != first.Call.ConversationID() {
		t.Fatalf("Conversation-ID %q, then %q", first.Call.ConversationID(), second.Call.ConversationID())
	}
}

// An RCS sender that asks for IMDN delivery notifications gets one, with
// status delivered, once the SMS side took the message.
func TestIMDNDeliveryNotificationToRCSSender(t *testing.T) {
	rcs := startRCS(t, 0)
	w := startIWF(t, startRedis(t), rcs, "n1", demoPartner())
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	call := rcsOpen(t, rcs, w, "sip:+46700000009@rcs.test", "sip:+46700000011@iwf.test;user=phone")
	doc, err := cpim.Wrap("<tel:+46700000009>", "<tel:+46700000011>", "text/plain", []byte("notify me"),
		cpim.IMDN{MessageID: "imdn-42", DateTime: time.Now(), Disposition: cpim.PositiveDelivery})
	if err != nil {
		t.Fatal(err)
	}
	body, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call.Send(testutil.Context(t), &session.OutgoingMessage{ContentType: "message/cpim", Body: body}); err != nil {
		t.Fatal(err)
	}
	if d, ok := e.Next(t).(*pdu.DeliverSM); !ok {
		t.Fatal("no deliver_sm")
	} else if s, _ := d.Message.GetMessage(); s != "notify me" {
		t.Fatalf("deliver_sm %q", s)
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-call.Events():
			if ev.Kind != sipsession.EventMessage {
				continue
			}
			cm, err := cpim.Parse(ev.Message.Body)
			if err != nil || !cm.IsNotification() {
				t.Fatalf("a message that is not an IMDN: %q", ev.Message.Body)
			}
			n, err := cm.Notification()
			if err != nil || n.MessageID != "imdn-42" || n.Status != cpim.StatusDelivered {
				t.Fatalf("notification %+v, %v", n, err)
			}
			return
		case <-timeout:
			t.Fatal("no IMDN")
		}
	}
}

// The same flow on the embedded store (miniredis in process), which the
// daemon uses when no Redis address is configured.
func TestSubmitsOnEmbeddedStore(t *testing.T) {
	rcs := startRCS(t, 0)
	w := startIWF(t, "", rcs, "n1", demoPartner())
	if !w.store.Embedded() {
		t.Fatal("not the embedded store")
	}
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	for _, s := range []string{"e1", "e2"} {
		e.Submit(t, "46700000001", "46700000012", s)
		e.NextResp(t)
	}
	for _, want := range []string{"e1", "e2"} {
		if m := rcs.Next(t); m.Text != want {
			t.Fatalf("got %q, want %q", m.Text, want)
		}
	}
}

// Beyond the partner's rate limit, submits are refused with
// ESME_RTHROTTLED before anything is stored.
func TestRateLimitThrottles(t *testing.T) {
	rcs := startRCS(t, 0)
	p := demoPartner()
	p.Policy.RateLimit = 2 // a bucket of two, refilled at 2/s
	w := startIWF(t, startRedis(t), rcs, "n1", p)
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	var ok, throttled int
	for range 4 {
		e.Submit(t, "46700000001", "46700000013", "x")
		switch r := e.NextResp(t); r.CommandStatus {
		case data.ESME_ROK:
			ok++
		case data.ESME_RTHROTTLED:
			throttled++
		default:
			t.Fatalf("status %v", r.CommandStatus)
		}
	}
	if ok < 2 || throttled == 0 {
		t.Fatalf("%d accepted, %d throttled: want at least 2 and some", ok, throttled)
	}
	for range ok {
		rcs.Next(t)
	}
}

// Beyond max_sessions a conversation falls back to pager mode: the
// message goes to the RCS side as a MESSAGE.
func TestSessionLimitFallsBackToPager(t *testing.T) {
	rcs := startRCS(t, 0)
	rcsPager := pagertest.StartPartner(t, func(int, pagertest.Received) pagertest.Answer { return pagertest.Answer{} })
	p := demoPartner()
	p.Policy.MaxSessions, p.Policy.OnSessionLimit = 1, FallbackPager
	rcsTrunk := pager.Trunk{Partner: "rcs", NextHop: rcsPager.NextHop("udp"), AllowedSources: []string{"127.0.0.2"}}
	w := startIWFWith(t, startRedis(t), rcs, "n1", []Partner{p}, []pager.Trunk{rcsTrunk.WithDefaults()})
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	e.Submit(t, "46700000001", "46700000014", "in a session")
	if m := rcs.Next(t); m.Text != "in a session" {
		t.Fatalf("session got %q", m.Text)
	}
	e.Submit(t, "46700000001", "46700000015", "over the limit")
	select {
	case r := <-rcsPager.Got():
		if r.Body != "over the limit" {
			t.Fatalf("MESSAGE %q", r.Body)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no pager-mode fallback")
	}
}

// A message for a partner whose ESME is not bound stays queued and goes
// out once it binds.
func TestDeliveryWaitsForPartnerBind(t *testing.T) {
	rcs := startRCS(t, 0)
	p := demoPartner()
	p.Policy.RetryDelay, p.Policy.MaxRetries = 100*time.Millisecond, 100
	w := startIWF(t, startRedis(t), rcs, "n1", p)
	call := rcsOpen(t, rcs, w, "sip:+46700000009@rcs.test", "sip:+46700000016@iwf.test;user=phone")
	if _, err := call.Send(testutil.Context(t), &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("wait for me"), SuccessReport: true}); err != nil {
		t.Fatal(err)
	}
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	d, ok := e.Next(t).(*pdu.DeliverSM)
	if !ok {
		t.Fatal("no deliver_sm")
	}
	if s, _ := d.Message.GetMessage(); s != "wait for me" {
		t.Fatalf("deliver_sm %q", s)
	}
	if r := awaitReport(t, call); r.Status != 200 {
		t.Fatalf("REPORT %d", r.Status)
	}
}

// A receipt for a message whose conversation another node owns goes out
// through the node that has the partner's receiving bind.
func TestReceiptThroughAnotherNodesBind(t *testing.T) {
	redis := startRedis(t)
	rcs := startRCS(t, 0)
	n1 := startIWF(t, redis, rcs, "n1", demoPartner())
	n2 := startIWF(t, redis, rcs, "n2", demoPartner())
	tx := iwftest.BindTransmitter(t, n1.smpp.Addr().String(), "demo", "pw")
	tx.Submit(t, "46700000001", "46700000017", "owned by n1")
	tx.NextResp(t)
	rcs.Next(t)
	trx := bindESME(t, n2.smpp.Addr().String(), "demo")
	trx.Submit(t, "46700000001", "46700000017", "receipt via n2")
	id := trx.NextResp(t).MessageID
	if m := rcs.Next(t); m.Text != "receipt via n2" {
		t.Fatalf("RCS side got %q", m.Text)
	}
	// Both receipts come through n2: the first message's too, which
	// waited in the store for a receiving bind of the partner.
	got := map[string]receipt.State{}
	for range 2 {
		r := receiptOf(t, trx.Next(t))
		got[r.Text] = r.State
		if r.Text == "receipt via n2" && r.ID != id {
			t.Fatalf("receipt for %s, want %s", r.ID, id)
		}
	}
	if got["owned by n1"] != receipt.Delivered || got["receipt via n2"] != receipt.Delivered {
		t.Fatalf("receipts %v", got)
	}
}
