package interwork

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/sipsession"
	"iwf/smpp"
	"iwf/smpp/concat"
	"iwf/smpp/receipt"
)

// submitRD hands the engine a submit_sm with registered_delivery rd and
// returns the message id it was answered with.
func (u *unit) submitRD(t *testing.T, text string, rd byte, validity string) string {
	t.Helper()
	msgs, err := smpp.TextMessages(smsAddr("+46700000001"), smsAddr("+46700000002"), text, smpp.TextOptions{}, nil)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	msgs[0].RegisteredDelivery = rd
	msgs[0].ValidityPeriod = validity
	id, err := u.eng.HandleSubmit(testutil.Context(t), "p", msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// report plays the RCS side's REPORT about message id on call.
func (c *fakeCall) report(id string, status int) {
	c.events <- sipsession.Event{Kind: sipsession.EventReport, Report: session.Report{MessageID: id, Status: status}}
}

// nextReceipt awaits the next receipt deliver_sm toward the ESME.
func (u *unit) nextReceipt(t *testing.T) *smpp.Message {
	t.Helper()
	select {
	case m := <-u.sms.receipts:
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("no receipt")
		return nil
	}
}

// noMoreReceipts checks that no receipt is owed or was sent beyond those
// taken already.
func (u *unit) noMoreReceipts(t *testing.T) {
	t.Helper()
	testutil.Eventually(t, func() bool { return len(u.st.owed(receiptList("p"))) == 0 }, "no receipt owed")
	select {
	case m := <-u.sms.receipts:
		t.Fatalf("an unwanted receipt %q", m.ShortMessage)
	default:
	}
}

// Issue 9 item 5: the RCS side accepts the message (200) and never
// confirms it. At the end of the message's validity its sender gets the
// documented final receipt: UNKNOWN with err:005, not silence.
func TestReceiptUnconfirmedAtValidityEnd(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	u := startUnitClock(t, unitPolicy(), clk.Now)
	id := u.submitRD(t, "never confirmed", 1, "000000010000000R")
	u.nextCall(t).nextSent(t)
	testutil.Eventually(t, func() bool { return len(u.st.owed(receiptList("p"))) == 1 }, "the provisional receipt owed")
	select {
	case m := <-u.sms.receipts:
		t.Fatalf("a receipt before the validity ended: %q", m.ShortMessage)
	default:
	}
	clk.advance(time.Hour + time.Second)
	r, err := u.nextReceipt(t).Receipt()
	if err != nil || r.ID != id || r.State != receipt.Unknown || r.ErrorCode != 5 {
		t.Fatalf("receipt %+v, %v; want UNKNOWN err:005 for %s", r, err, id)
	}
	u.noMoreReceipts(t)
}

// Issue 9 item 5: registered_delivery (SMPP 3.4 5.2.17) is honoured: 1
// a final receipt, 2 one on failure only, bit 4 an intermediate
// notification (ENROUTE, esm_class 0x20) once the RCS side took the
// message, before the final one.
func TestReceiptRegisteredDelivery(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rd     byte
		status int
		want   []string // stat: of each receipt, in order
	}{
		{"final on success", 0x01, 200, []string{"DELIVRD"}},
		{"final on failure", 0x01, 486, []string{"UNDELIV"}},
		{"failure only, success", 0x02, 200, nil},
		{"failure only, failure", 0x02, 486, []string{"UNDELIV"}},
		{"intermediate and final", 0x11, 200, []string{"ENROUTE", "DELIVRD"}},
		{"intermediate only", 0x10, 200, []string{"ENROUTE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := startUnit(t, unitPolicy())
			id := u.submitRD(t, "rd", tc.rd, "")
			call := u.nextCall(t)
			m := call.nextSent(t)
			if len(tc.want) > 0 && tc.want[0] == "ENROUTE" {
				im := u.nextReceipt(t)
				r, err := im.Receipt()
				if err != nil || r.State != receipt.Enroute || im.ESMClass != receipt.ESMClassIntermediate || r.ID != id {
					t.Fatalf("intermediate %+v esm_class 0x%02x, %v", r, im.ESMClass, err)
				}
				tc.want = tc.want[1:]
			}
			call.report(m.MessageID, tc.status)
			for _, want := range tc.want {
				if got := string(u.nextReceipt(t).ShortMessage); !strings.Contains(got, "stat:"+want) {
					t.Fatalf("receipt %q, want %s", got, want)
				}
			}
			u.noMoreReceipts(t)
		})
	}
}

// Issue 9 item 5: an ESME that answers a receipt with a temporary error
// gets it again later; a receipt is not dropped on the first refusal.
func TestReceiptRetriedAfterTemporaryRefusal(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	u := startUnitClock(t, unitPolicy(), clk.Now)
	u.sms.mu.Lock()
	u.sms.deliverErrs = []error{&smpp.StatusError{Command: smpp.CmdDeliverSMResp, Status: smpp.StatusThrottled}}
	u.sms.mu.Unlock()
	id := u.submitRD(t, "try again", 1, "")
	call := u.nextCall(t)
	call.report(call.nextSent(t).MessageID, 200)
	if r, _ := u.nextReceipt(t).Receipt(); r.ID != id {
		t.Fatalf("first try for %s", r.ID)
	}
	clk.advance(2 * time.Second) // past the first back-off
	r, err := u.nextReceipt(t).Receipt()
	if err != nil || r.ID != id || r.State != receipt.Delivered {
		t.Fatalf("second try %+v, %v", r, err)
	}
	u.noMoreReceipts(t)
}

// Issue 9 item 4: a temporary failure on segment k of a concatenated
// message (throttled, try later, no response) resumes at segment k under
// the same reference: the earlier segments never go again, and never
// under a new reference. A permanent refusal fails the message at once.
func TestSMSResumesAtFailedSegment(t *testing.T) {
	long := strings.Repeat("segmented text ", 25) // three GSM-7 segments
	for _, tc := range []struct {
		name   string
		second error
		failed int64
		seqs   string
	}{
		{"throttled", &smpp.StatusError{Command: smpp.CmdDeliverSMResp, Status: smpp.StatusThrottled}, 0, "[1 2 3]"},
		{"try later", &smpp.StatusError{Command: smpp.CmdDeliverSMResp, Status: smpp.StatusXTAppn}, 0, "[1 2 3]"},
		{"system error", &smpp.StatusError{Command: smpp.CmdDeliverSMResp, Status: smpp.StatusSysErr}, 0, "[1 2 3]"},
		{"response timeout", fmt.Errorf("smpp: deliver_sm: %w", smpp.ErrResponseTimeout), 0, "[1 2 3]"},
		{"bind lost", fmt.Errorf("smpp: deliver_sm: %w", smpp.ErrConnectionLost), 0, "[1 2 3]"},
		{"permanent", &smpp.StatusError{Command: smpp.CmdDeliverSMResp, Status: smpp.StatusInvDstAdr}, 1, "[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := startUnit(t, unitPolicy())
			u.sms.mu.Lock()
			u.sms.answers = []error{nil, tc.second}
			u.sms.mu.Unlock()
			p := u.eng.partnerNamed("p")
			q := &queued{ID: "m1", Dir: toSMS, Ingress: ingressMSRP, Text: long, At: u.eng.now().UnixNano()}
			if _, err := u.eng.enqueue(testutil.Context(t), p, testKey("p", "+46700000001", "+46700000002"), "", q); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, func() bool { return u.queueLen(t) == 0 }, "the message to leave the queue")
			u.sms.mu.Lock()
			sent := append([]*smpp.Message(nil), u.sms.sent...)
			u.sms.mu.Unlock()
			var seqs []int
			refs := map[uint16]bool{}
			for _, m := range sent {
				in, err := concat.Inspect(m.ESMClass, m.ShortMessage, m.TLVs)
				if err != nil || !in.Concatenated {
					t.Fatalf("segment %v %+v", err, in)
				}
				seqs = append(seqs, in.Concat.Seq)
				refs[in.Concat.Ref] = true
			}
			if fmt.Sprint(seqs) != tc.seqs || len(refs) != 1 {
				t.Fatalf("segments accepted %v under %d references, want %s under one", seqs, len(refs), tc.seqs)
			}
			if n := p.counters.snapshot()["failed"]; n != tc.failed {
				t.Fatalf("%d failed, want %d", n, tc.failed)
			}
		})
	}
}
