package interwork

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/testutil"
	"iwf/smpp"
	"iwf/smpp/receipt"
)

// segment is a submit_sm carrying segment seq of total of a concatenated
// message under an 8-bit reference (TS 23.040 9.2.3.24.1), its units in
// data_coding dc; asking for a delivery receipt.
func segment(from, to string, ref, total, seq, dc byte, units []byte) *smpp.Message {
	return &smpp.Message{
		Source: smsAddr(from), Dest: smsAddr(to),
		ESMClass: 0x40, DataCoding: dc, RegisteredDelivery: 1,
		ShortMessage: append([]byte{5, 0, 3, ref, total, seq}, units...),
	}
}

// submitSegment hands the engine a segment as partner's ESME sends it and
// returns our message id and the SMPP status of the answer.
func (u *unit) submitSegment(t *testing.T, partner string, m *smpp.Message) (string, uint32) {
	t.Helper()
	id, err := u.eng.HandleSubmit(testutil.Context(t), partner, m)
	return id, smpp.StatusOf(err)
}

// waiting lists the reassemblies of partner held in the part store.
func (u *unit) waiting(t *testing.T, partner string) int {
	t.Helper()
	keys, err := u.parts.Expired(testutil.Context(t), partner, time.Now().Add(1000*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(keys)
}

// queued counts the messages a conversation's queue took, whether or not
// its worker sent them since.
func (u *unit) queued(t *testing.T, partner, from, to string) int {
	t.Helper()
	prefix := testKey(partner, from, to).String() + "\x00"
	u.st.mu.Lock()
	defer u.st.mu.Unlock()
	n := 0
	for k := range u.st.seen {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// holdSessions keeps every session the engine opens from opening, so
// that nothing is sent and no receipt but the reassembly's comes.
func (u *unit) holdSessions() {
	u.sessions.mu.Lock()
	u.sessions.block = true
	u.sessions.mu.Unlock()
}

// receiptState reads a receipt's id and state from its text.
func receiptState(t *testing.T, text string) (string, receipt.State) {
	t.Helper()
	r, err := receipt.Parse([]byte(text), receipt.Params{})
	if err != nil {
		t.Fatalf("receipt %q: %v", text, err)
	}
	return r.ID, r.State
}

// Issue 9 item 1 with a real Redis and a gosmpp ESME: two different
// concatenated messages in one conversation reuse reference 42, one after
// the other (8-bit references wrap, handsets pick them at random). Both
// reach the RCS side: the first one's completion does not make the second
// a duplicate.
func TestReassemblyReferenceReused(t *testing.T) {
	rcs := startRCS(t, 0)
	w := startIWF(t, startRedis(t), rcs, "n1", demoPartner())
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	for _, msg := range [][2]string{{"First message, ", "part two."}, {"Second message, ", "its end."}} {
		for seq, text := range msg {
			e.SubmitPart(t, "46700000001", "46700000007", text, pdu.UDH{pdu.NewIEConcatMessage(2, byte(seq+1), 42)})
			if r := e.NextResp(t); r.CommandStatus != data.ESME_ROK {
				t.Fatalf("segment %d answered %v", seq+1, r.CommandStatus)
			}
		}
		if m := rcs.Next(t); m.Text != msg[0]+msg[1] {
			t.Fatalf("RCS side got %q, want %q", m.Text, msg[0]+msg[1])
		}
	}
}

// Issue 9 item 2 with a real Redis and a gosmpp ESME: under
// `incomplete: fail` a message whose second segment never comes is
// released at its timeout, and the acknowledged first segment gets its
// EXPIRED receipt.
func TestReassemblyTimeoutFailsWithReceipt(t *testing.T) {
	rcs := startRCS(t, 0)
	p := demoPartner()
	p.SMS.Incomplete = IncompleteFail
	p.SMS.ReassemblyTimeout = 200 * time.Millisecond
	w := startIWF(t, startRedis(t), rcs, "n1", p)
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	e.SubmitPart(t, "46700000001", "46700000007", "The first half ", pdu.UDH{pdu.NewIEConcatMessage(2, 1, 9)})
	r := e.NextResp(t)
	if r.CommandStatus != data.ESME_ROK {
		t.Fatalf("segment answered %v", r.CommandStatus)
	}
	got := receiptOf(t, e.Next(t))
	if got.ID != r.MessageID || got.State != receipt.Expired {
		t.Fatalf("receipt %+v, want EXPIRED for %s", got, r.MessageID)
	}
	ctx := testutil.Context(t)
	testutil.Eventually(t, func() bool {
		m, err := w.store.GroupBefore(ctx, "parts:demo", time.Now().Add(time.Hour), 0)
		return err == nil && len(m) == 0
	}, "the parts released")
	select {
	case m := <-rcs.Msgs:
		t.Fatalf("the RCS side got %q", m.Text)
	default:
	}
}

// Issue 9 item 2: parts that do not decode once the message is complete
// are released; the completing segment is refused, the segments
// acknowledged before get REJECTD receipts.
func TestReassemblyDecodeFailureReleased(t *testing.T) {
	u := startUnit(t, unitPolicy())
	id, st := u.submitSegment(t, "p", segment("+46700000001", "+46700000002", 3, 2, 1, 8, []byte{0, 'a'}))
	if st != smpp.StatusOK {
		t.Fatalf("first segment answered %#x", st)
	}
	// A lone low surrogate: UCS-2 that does not decode.
	if _, st := u.submitSegment(t, "p", segment("+46700000001", "+46700000002", 3, 2, 2, 8, []byte{0xDC, 0})); st != smpp.StatusXPAppn {
		t.Fatalf("undecodable last segment answered %#x, want ESME_RX_P_APPN", st)
	}
	if rid, state := receiptState(t, u.receipt(t)); rid != id || state != receipt.Rejected {
		t.Fatalf("receipt %s %v, want REJECTD for %s", rid, state, id)
	}
	if n := u.waiting(t, "p"); n != 0 {
		t.Fatalf("%d reassemblies left in the store", n)
	}
}

// Issue 9 item 2: expiry never stalls behind messages it cannot settle.
// A hundred timed-out messages whose conversation cannot be written (its
// shard is down) are older than a hundred-and-first of another
// conversation: that one is still delivered, with the EXPIRED receipt of
// its partial delivery.
func TestReassemblyExpiryPassesStuckMessages(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	u := startUnitClock(t, unitPolicy(), clk.Now)
	u.holdSessions()
	u.st.mu.Lock()
	u.st.downConv = testKey("p", "+46700000001", "+46700000002").String()
	u.st.mu.Unlock()
	for ref := range 100 {
		if _, st := u.submitSegment(t, "p", segment("+46700000001", "+46700000002", byte(ref), 2, 1, 0, []byte("stuck"))); st != smpp.StatusOK {
			t.Fatalf("segment answered %#x", st)
		}
	}
	clk.advance(time.Second)
	id, st := u.submitSegment(t, "p", segment("+46700000003", "+46700000002", 1, 2, 1, 0, []byte("gets through")))
	if st != smpp.StatusOK {
		t.Fatalf("segment answered %#x", st)
	}
	clk.advance(time.Hour)
	testutil.Eventually(t, func() bool { return u.queued(t, "p", "+46700000003", "+46700000002") == 1 }, "the partial message behind the stuck ones queued")
	if rid, state := receiptState(t, u.receipt(t)); rid != id || state != receipt.Expired {
		t.Fatalf("receipt %s %v, want EXPIRED for %s", rid, state, id)
	}
	if n := u.waiting(t, "p"); n != 100 {
		t.Fatalf("%d reassemblies wait, want the 100 stuck ones", n)
	}
	// The shard is back: the stuck ones are settled too.
	u.st.mu.Lock()
	u.st.downConv = ""
	u.st.mu.Unlock()
	testutil.Eventually(t, func() bool { return u.waiting(t, "p") == 0 }, "the stuck reassemblies settled")
	if n := u.queued(t, "p", "+46700000001", "+46700000002"); n != 100 {
		t.Fatalf("%d of the stuck messages queued, want 100", n)
	}
}

// Issue 9 item 3: each partner's reassembly_timeout, incomplete policy,
// max_segments and max_reassemblies apply to its own messages only.
func TestReassemblyPerPartner(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	strict := Partner{Name: "strict", Numbers: []string{"+1"}, DeliverVia: ViaSMPP, Policy: unitPolicy()}
	strict.SMS = SMSConfig{Incomplete: IncompleteFail, ReassemblyTimeout: time.Minute, MaxSegments: 2, MaxReassemblies: 1}
	lenient := Partner{Name: "lenient", Numbers: []string{"+2"}, DeliverVia: ViaSMPP, Policy: unitPolicy()}
	lenient.SMS = SMSConfig{Incomplete: IncompleteDeliver, ReassemblyTimeout: time.Hour}
	u := startUnitPartners(t, clk.Now, []Partner{strict, lenient})
	u.holdSessions()
	const from, to = "+46700000001", "+46700000002"

	strictID, st := u.submitSegment(t, "strict", segment(from, to, 1, 2, 1, 0, []byte("one")))
	if st != smpp.StatusOK {
		t.Fatalf("strict: first message answered %#x", st)
	}
	if _, st := u.submitSegment(t, "strict", segment(from, to, 2, 2, 1, 0, []byte("two"))); st != smpp.StatusMsgQFul {
		t.Fatalf("strict: a message over max_reassemblies answered %#x, want ESME_RMSGQFUL", st)
	}
	if _, st := u.submitSegment(t, "strict", segment(from, to, 3, 3, 1, 0, []byte("three"))); st != smpp.StatusInvMsgLen {
		t.Fatalf("strict: 3 segments over max_segments 2 answered %#x, want ESME_RINVMSGLEN", st)
	}
	lenientIDs := map[string]bool{}
	for ref := range 3 {
		id, st := u.submitSegment(t, "lenient", segment(from, to, byte(ref), 3, 1, 0, []byte(fmt.Sprint("lenient ", ref))))
		if st != smpp.StatusOK {
			t.Fatalf("lenient: message %d answered %#x while strict is full", ref, st)
		}
		lenientIDs[id] = true
	}

	// Past strict's minute, not lenient's hour: only strict's message
	// fails, with its receipt.
	clk.advance(2 * time.Minute)
	if rid, state := receiptState(t, u.receipt(t)); rid != strictID || state != receipt.Expired {
		t.Fatalf("receipt %s %v, want EXPIRED for %s", rid, state, strictID)
	}
	testutil.Eventually(t, func() bool { return u.waiting(t, "strict") == 0 }, "strict's reassembly released")
	if n := u.waiting(t, "lenient"); n != 3 {
		t.Fatalf("lenient: %d reassemblies wait after 2m of its 1h, want 3", n)
	}
	if n := u.queued(t, "strict", from, to); n != 0 {
		t.Fatalf("strict: %d messages queued under incomplete: fail", n)
	}

	// Past lenient's hour: its messages are delivered as they are.
	clk.advance(time.Hour)
	testutil.Eventually(t, func() bool { return u.queued(t, "lenient", from, to) == 3 }, "lenient's partial messages queued")
	for range 3 {
		rid, state := receiptState(t, u.receipt(t))
		if !lenientIDs[rid] || state != receipt.Expired {
			t.Fatalf("receipt %s %v, want EXPIRED for one of %v", rid, state, lenientIDs)
		}
		delete(lenientIDs, rid)
	}
	testutil.Eventually(t, func() bool { return u.waiting(t, "lenient") == 0 }, "lenient's reassemblies released")
	if !strings.Contains(fmt.Sprint(u.eng.Status(testutil.Context(t))), "refused") {
		t.Fatalf("strict's refusal not counted: %v", u.eng.Status(testutil.Context(t)))
	}
}

// Issue 9 item 5: each segment of a concatenated message was
// acknowledged under its own message_id, and each asked for a receipt:
// once the whole message is delivered, every one of those ids gets its
// final receipt, not only the segment that completed the message.
func TestReassembledMessageReceiptPerSegment(t *testing.T) {
	rcs := startRCS(t, 0)
	w := startIWF(t, startRedis(t), rcs, "n1", demoPartner())
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	want := map[string]bool{}
	for seq, text := range []string{"The first half ", "and the second."} {
		e.SubmitPart(t, "46700000001", "46700000007", text, pdu.UDH{pdu.NewIEConcatMessage(2, byte(seq+1), 7)})
		r := e.NextResp(t)
		if r.CommandStatus != data.ESME_ROK {
			t.Fatalf("segment %d answered %v", seq+1, r.CommandStatus)
		}
		want[r.MessageID] = true
	}
	if m := <-rcs.Msgs; m.Text != "The first half and the second." {
		t.Fatalf("RCS got %q", m.Text)
	}
	for n := len(want); n > 0; n-- {
		got := receiptOf(t, e.Next(t))
		if !want[got.ID] || got.State != receipt.Delivered {
			t.Fatalf("receipt %+v; want DELIVRD for one of %v", got, want)
		}
		delete(want, got.ID)
	}
}
