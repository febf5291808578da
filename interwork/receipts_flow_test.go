package interwork

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/cpim"
	"iwf/internal/iwftest"
	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/sipsession"
	"iwf/smpp/receipt"
	"iwf/smpp/smpptest"
)

// Issue 9 item 5: a receipt owed to an ESME survives the node that owed
// it. The node dies (its store connection first, so that it settles
// nothing) while the ESME holds the receipt's deliver_sm unanswered;
// another node, once the hold on the receipt is over, delivers it.
func TestReceiptSurvivesNodeCrash(t *testing.T) {
	redis := startRedis(t)
	rcs := startRCS(t, 0)
	n1 := startIWF(t, redis, rcs, "n1", demoPartner())
	e1 := iwftest.BindESMEWith(t, n1.smpp.Addr().String(), "demo", "pw", iwftest.ESMEOptions{
		Answer: func(*pdu.DeliverSM) (data.CommandStatusType, bool) { return 0, false },
	})
	e1.Submit(t, "46700000001", "46700000021", "owed across a crash")
	id := e1.NextResp(t).MessageID
	if m := rcs.Next(t); m.Text != "owed across a crash" {
		t.Fatalf("RCS side got %q", m.Text)
	}
	if r := receiptOf(t, e1.Next(t)); r.ID != id {
		t.Fatalf("receipt for %s, want %s", r.ID, id)
	}
	_ = n1.store.Close()
	n1.stop(t)
	// n2's clock is past the hold n1 took the receipt under.
	later := func() time.Time { return time.Now().Add(receiptHold + time.Minute) }
	n2 := startIWFOpts(t, redis, rcs, "n2", []Partner{demoPartner()}, iwfOptions{now: later})
	e2 := bindESME(t, n2.smpp.Addr().String(), "demo")
	r := receiptOf(t, e2.Next(t))
	if r.ID != id || r.State != receipt.Delivered {
		t.Fatalf("receipt %+v, want DELIVRD for %s", r, id)
	}
}

// Issue 9 item 6: a receipt from the partner's SMSC on our client bind
// reaches the RCS sender as an IMDN, matched by the SMSC's message id
// kept in the store. The MSRP REPORT answers the SEND once the SMSC took
// the message; the IMDN says what the receipt says (here UNDELIV:
// failed), not what submit_sm_resp said.
func TestSMSCReceiptBecomesIMDN(t *testing.T) {
	smsc := smpptest.Start(t, smpptest.Config{})
	rcs := startRCS(t, 0)
	p := demoPartner()
	p.SMS.Receipts = true
	w := startIWFOpts(t, startRedis(t), rcs, "n1", []Partner{p}, iwfOptions{smscs: map[string]string{"demo": smsc.Addr()}})
	ctx := testutil.Context(t)
	if err := smsc.Wait(ctx, func(s smpptest.State) bool { return s.Bound >= 1 }); err != nil {
		t.Fatal(err)
	}
	call := rcsOpen(t, rcs, w, "sip:+46700000009@rcs.test", "sip:+46700000022@iwf.test;user=phone")
	doc, err := cpim.Wrap("<tel:+46700000009>", "<tel:+46700000022>", "text/plain", []byte("via the smsc"),
		cpim.IMDN{MessageID: "imdn-smsc", DateTime: time.Now(), Disposition: cpim.PositiveDelivery | cpim.NegativeDelivery})
	if err != nil {
		t.Fatal(err)
	}
	body, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call.Send(ctx, &session.OutgoingMessage{ContentType: "message/cpim", Body: body, SuccessReport: true}); err != nil {
		t.Fatal(err)
	}
	if err := smsc.Wait(ctx, func(s smpptest.State) bool { return s.Submits >= 1 }); err != nil {
		t.Fatal(err)
	}
	sub := smsc.Submits()[0]
	if sub.PDU.RegisteredDelivery != 1 || sub.MessageID == "" {
		t.Fatalf("submit_sm registered_delivery %d, id %q", sub.PDU.RegisteredDelivery, sub.MessageID)
	}
	if r := awaitReport(t, call); r.Status != 200 {
		t.Fatalf("REPORT %d", r.Status)
	}
	if st, err := smsc.DeliverReceipt(ctx, "46700000022", "46700000009", sub.MessageID, "UNDELIV", 5); err != nil || st != 0 {
		t.Fatalf("deliver_sm_resp 0x%x, %v", st, err)
	}
	// The IMDN goes on the session the sender opened, which is the
	// conversation's: not on a second session toward the sender.
	timeout := time.After(iwftest.Wait)
	for {
		select {
		case ev := <-call.Events():
			if ev.Kind != sipsession.EventMessage {
				continue
			}
			cm, err := cpim.Parse(ev.Message.Body)
			if err != nil || !cm.IsNotification() {
				t.Fatalf("not an IMDN: %q", ev.Message.Body)
			}
			n, err := cm.Notification()
			if err != nil || n.MessageID != "imdn-smsc" || n.Status != cpim.StatusFailed {
				t.Fatalf("notification %+v, %v; want failed for imdn-smsc", n, err)
			}
			return
		case m := <-rcs.Msgs:
			t.Fatalf("IMDN on a session the IWF opened, not on the sender's: %q", m.Text)
		case <-timeout:
			t.Fatal("no IMDN")
		}
	}
}

// Issue 9 item 4, toward an SMSC (our client bind): ESME_RX_T_APPN on
// the second segment is tried again from that segment, under the same
// reference; the first segment is not submitted twice.
func TestSMSCTemporaryErrorResumesSegment(t *testing.T) {
	smsc := smpptest.Start(t, smpptest.Config{})
	smsc.RespondNext(1, smpptest.StatusOK)
	smsc.RespondNext(1, uint32(data.ESME_RX_T_APPN))
	rcs := startRCS(t, 0)
	p := demoPartner()
	p.Policy.RetryDelay = 50 * time.Millisecond
	w := startIWFOpts(t, startRedis(t), rcs, "n1", []Partner{p}, iwfOptions{smscs: map[string]string{"demo": smsc.Addr()}})
	ctx := testutil.Context(t)
	if err := smsc.Wait(ctx, func(s smpptest.State) bool { return s.Bound >= 1 }); err != nil {
		t.Fatal(err)
	}
	call := rcsOpen(t, rcs, w, "sip:+46700000009@rcs.test", "sip:+46700000023@iwf.test;user=phone")
	long := strings.Repeat("resume me ", 40) // three GSM-7 segments
	if _, err := call.Send(ctx, &session.OutgoingMessage{ContentType: "text/plain", Body: []byte(long), SuccessReport: true}); err != nil {
		t.Fatal(err)
	}
	if r := awaitReport(t, call); r.Status != 200 {
		t.Fatalf("REPORT %d", r.Status)
	}
	var got []string
	for _, s := range smsc.Submits() {
		ud := s.PDU.Message.UDH()
		var ref, seq byte
		for _, ie := range ud {
			if ie.ID == 0x00 && len(ie.Data) == 3 {
				ref, seq = ie.Data[0], ie.Data[2]
			}
		}
		got = append(got, fmt.Sprintf("ref%d/%d:0x%x", ref, seq, s.Status))
	}
	first := got[0][:strings.Index(got[0], "/")]
	want := []string{first + "/1:0x0", first + "/2:0x64", first + "/2:0x0", first + "/3:0x0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("submits %v, want %v", got, want)
	}
}
