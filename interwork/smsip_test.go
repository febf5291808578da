package interwork

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"iwf/internal/address"
	"iwf/internal/testutil"
	"iwf/pager"
	"iwf/sms/rp"
	"iwf/sms/tpdu"
)

// fakeRP is an SMS over IP handset behind the pager side: each RP-DATA
// sent to it is recorded and answered, from another goroutine as a
// MESSAGE would come, with the RP-ACK or the RP-ERROR cause answer gives
// for the nth RP-DATA (0: RP-ACK).
type fakeRP struct {
	fakePager
	eng    *Engine
	rps    chan *rp.Data
	n      atomic.Int32
	answer func(n int) rp.Cause
	// silent, when set and true for n, leaves the nth RP-DATA unanswered:
	// the test answers it.
	silent func(n int) bool
}

func (f *fakeRP) SendRP(_ context.Context, m pager.RPOutgoing) (pager.Result, error) {
	msg, err := rp.Decode(m.RP)
	if err != nil {
		return pager.Result{}, err
	}
	d := msg.(*rp.Data)
	f.rps <- d
	n := int(f.n.Add(1))
	if f.silent != nil && f.silent(n) {
		return pager.Result{Outcome: pager.Delivered, Status: 202}, nil
	}
	cause := f.answer(n)
	var ans rp.Message = &rp.Ack{Direction: rp.MO, Ref: d.Ref}
	if cause != 0 {
		ans = &rp.ErrorMsg{Direction: rp.MO, Ref: d.Ref, Cause: cause}
	}
	go func() {
		_ = f.eng.Accept(context.Background(), &pager.Message{Partner: "p", From: m.To, SMS: &pager.SMSOverIP{RP: ans, Ref: d.Ref}})
	}()
	return pager.Result{Outcome: pager.Delivered, Status: 202}, nil
}

func (f *fakeRP) next(t *testing.T) *rp.Data {
	t.Helper()
	select {
	case d := <-f.rps:
		return d
	case <-time.After(30 * time.Second):
		t.Fatal("no RP-DATA sent")
		return nil
	}
}

// startSMSIP runs an engine with partner p flagged sms_over_ip.
func startSMSIP(t *testing.T, pol Policy, answer func(int) rp.Cause) (*unit, *fakeRP) {
	t.Helper()
	return startSMSIPWith(t, nil, Partner{Policy: pol}, answer)
}

// startSMSIPWith is startSMSIP on the clock now (nil: the wall clock)
// with p's policy and sms settings.
func startSMSIPWith(t *testing.T, now func() time.Time, p Partner, answer func(int) rp.Cause) (*unit, *fakeRP) {
	t.Helper()
	p.Name, p.Numbers, p.DeliverVia, p.SMSOverIP, p.SCAddress = "p", []string{"+"}, ViaSIP, true, "+447700900999"
	u := startUnitPartners(t, now, []Partner{p})
	f := &fakeRP{fakePager: *u.pager, eng: u.eng, rps: make(chan *rp.Data, 16), answer: answer}
	u.eng.cfg.Pager = f
	return u, f
}

func mustParse(t *testing.T, s string) address.Address {
	t.Helper()
	a, err := address.Parse(s, address.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A text toward an IMS user whose handset answers RP-ERROR: a temporary
// cause (22, memory capacity exceeded) is tried again and delivered on
// the RP-ACK that follows; a permanent one (1, unassigned number) fails
// the message at once.
func TestSMSIPDeliverRPError(t *testing.T) {
	for _, tc := range []struct {
		name      string
		first     rp.Cause
		sends     int32
		delivered bool
	}{
		{"temporary cause retried", rp.CauseMemoryCapacityExceeded, 2, true},
		{"permanent cause fails", rp.CauseUnassignedNumber, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := Policy{RetryDelay: time.Millisecond, RetryMaxDelay: time.Millisecond}
			u, f := startSMSIP(t, pol, func(n int) rp.Cause {
				if n == 1 {
					return tc.first
				}
				return 0
			})
			ctx := testutil.Context(t)
			p := u.eng.partnerNamed("p")
			key := convKey{"p", partyOf(mustParse(t, "tel:+46700000001")), partyOf(mustParse(t, "tel:+46700000002"))}
			q := &queued{ID: "m1", Dir: toSMS, Ingress: ingressMSRP, Text: "hello", At: time.Now().UnixNano()}
			if _, err := u.eng.enqueue(ctx, p, key, "m1", q); err != nil {
				t.Fatal(err)
			}
			d := f.next(t)
			dl, err := tpdu.Decode(d.UserData, tpdu.MT)
			if err != nil {
				t.Fatal(err)
			}
			if text, _ := dl.(*tpdu.Deliver).UserData.Text(dl.(*tpdu.Deliver).DCS); text != "hello" || d.Originator.String() != "+447700900999" {
				t.Fatalf("RP-DATA from %v with %q", d.Originator, text)
			}
			counter := "failed"
			if tc.delivered {
				counter = "out_sip"
			}
			testutil.Eventually(t, func() bool { return p.counters.snapshot()[counter] == 1 }, "no %s counted", counter)
			if got := f.n.Load(); got != tc.sends {
				t.Fatalf("%d RP-DATA sent, want %d", got, tc.sends)
			}
		})
	}
}

// RP-SMMA (TS 24.011 7.3.2): a handset that refused an SMS-DELIVER with
// RP-ERROR 22 (memory capacity exceeded) says it has room again, and the
// message waiting on its retry delay (an hour here) is tried at once,
// whether the RP-SMMA comes once the retry wait began or before the
// RP-ERROR was even read.
func TestSMSIPMemoryAvailableRetriesNow(t *testing.T) {
	for _, tc := range []struct {
		name       string
		smmaBefore bool
	}{
		{"smma while the retry waits", false},
		{"smma before the rp-error is read", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := Policy{RetryDelay: time.Hour, RetryMaxDelay: time.Hour}
			u, f := startSMSIP(t, pol, func(n int) rp.Cause {
				if n == 1 {
					return rp.CauseMemoryCapacityExceeded
				}
				return 0
			})
			f.silent = func(n int) bool { return tc.smmaBefore && n == 1 }
			ctx := testutil.Context(t)
			p := u.eng.partnerNamed("p")
			handset := mustParse(t, "tel:+46700000001")
			key := convKey{"p", partyOf(handset), partyOf(mustParse(t, "tel:+46700000002"))}
			q := &queued{ID: "m1", Dir: toSMS, Ingress: ingressMSRP, Text: "hello", At: time.Now().UnixNano()}
			if _, err := u.eng.enqueue(ctx, p, key, "m1", q); err != nil {
				t.Fatal(err)
			}
			d := f.next(t)
			smma := func() {
				t.Helper()
				if err := u.eng.Accept(ctx, &pager.Message{Partner: "p", From: handset, SMS: &pager.SMSOverIP{RP: &rp.SMMA{Ref: 77}, Ref: 77}}); err != nil {
					t.Fatalf("RP-SMMA refused: %v", err)
				}
			}
			if tc.smmaBefore {
				smma()
				rpErr := &rp.ErrorMsg{Direction: rp.MO, Ref: d.Ref, Cause: rp.CauseMemoryCapacityExceeded}
				if err := u.eng.Accept(ctx, &pager.Message{Partner: "p", From: handset, SMS: &pager.SMSOverIP{RP: rpErr, Ref: d.Ref}}); err != nil {
					t.Fatal(err)
				}
			} else {
				// The conversation waits for the handset's memory once
				// it is in the user's schedule.
				testutil.Eventually(t, func() bool {
					u.st.mu.Lock()
					defer u.st.mu.Unlock()
					return len(u.st.sched[memWaitKey("p", key.SMS.id)]) == 1
				}, "the conversation never waited for memory")
				smma()
			}
			f.next(t)
			testutil.Eventually(t, func() bool { return p.counters.snapshot()["out_sip"] == 1 }, "not delivered after the RP-SMMA")
		})
	}
}

// An SMS-SUBMIT with TP-SRR set gets, once the RCS side took the text, an
// SMS-STATUS-REPORT in RP-DATA toward its sender: its TP-MR, its TP-DA as
// TP-RA, and TP-ST 0 (received).
func TestSMSIPSubmitStatusReport(t *testing.T) {
	u, f := startSMSIP(t, Policy{Promotion: PromoteAlways}, func(int) rp.Cause { return 0 })
	da := tpdu.Address{TON: tpdu.TONInternational, NPI: tpdu.NPIISDN, Digits: "46700000002"}
	units := []byte{0x68, 0x69} // "hi" in GSM 7-bit, one septet an octet
	sub := &tpdu.Submit{StatusReportRequest: true, MessageRef: 7, Destination: da, UserData: tpdu.UserData{Units: units}}
	m := &pager.Message{
		Partner: "p", From: mustParse(t, "sip:+46700000001@ims.test;user=phone"), To: mustParse(t, "tel:+46700000002"),
		SMS: &pager.SMSOverIP{RP: &rp.Data{Direction: rp.MO, Ref: 3}, Submit: sub, Ref: 3}, ReceivedAt: time.Now(),
	}
	if err := u.eng.Accept(testutil.Context(t), m); err != nil {
		t.Fatal(err)
	}
	call := u.nextCall(t)
	if got := call.nextSent(t); got == nil {
		t.Fatal("nothing sent")
	}
	d := f.next(t)
	p, err := tpdu.Decode(d.UserData, tpdu.MT)
	if err != nil {
		t.Fatal(err)
	}
	sr, ok := p.(*tpdu.StatusReport)
	if !ok || sr.MessageRef != 7 || sr.Recipient != da || sr.Status != tpdu.StatusReceived {
		t.Fatalf("%#v, want SMS-STATUS-REPORT for TP-MR 7 to %v, TP-ST 0", p, da)
	}
	// The report is no incoming message: in_smsip counts the submit
	// alone, smsip_reports the report.
	counters := u.eng.partnerNamed("p").counters
	testutil.Eventually(t, func() bool { return counters.snapshot()["smsip_reports"] == 1 }, "no status report counted")
	if n := counters.snapshot()["in_smsip"]; n != 1 {
		t.Fatalf("in_smsip %d, want 1 (the submit, not its report)", n)
	}
}

// submitSegment hands the engine, as an SMS over IP handset's MESSAGE,
// segment seq of 2 of a message under 8-bit reference ref, asking for a
// status report under TP-MR mr.
func submitSMSIPSegment(t *testing.T, u *unit, ref, seq, mr byte, text string) {
	t.Helper()
	ud, err := tpdu.NewUserData(append([]byte{5, 0, 3, ref, 2, seq}, text...), true)
	if err != nil {
		t.Fatal(err)
	}
	da := tpdu.Address{TON: tpdu.TONInternational, NPI: tpdu.NPIISDN, Digits: "46700000002"}
	sub := &tpdu.Submit{StatusReportRequest: true, MessageRef: mr, Destination: da, UserData: ud}
	m := &pager.Message{
		Partner: "p", From: mustParse(t, "sip:+46700000001@ims.test;user=phone"), To: mustParse(t, "tel:+46700000002"),
		SMS: &pager.SMSOverIP{RP: &rp.Data{Direction: rp.MO, Ref: mr}, Submit: sub, Ref: mr}, ReceivedAt: time.Now(),
	}
	if err := u.eng.Accept(testutil.Context(t), m); err != nil {
		t.Fatal(err)
	}
}

// nextStatusReport awaits the next RP-DATA toward the handset and reads
// the SMS-STATUS-REPORT it carries.
func (f *fakeRP) nextStatusReport(t *testing.T) *tpdu.StatusReport {
	t.Helper()
	d := f.next(t)
	p, err := tpdu.Decode(d.UserData, tpdu.MT)
	if err != nil {
		t.Fatal(err)
	}
	sr, ok := p.(*tpdu.StatusReport)
	if !ok {
		t.Fatalf("%#v, want an SMS-STATUS-REPORT", p)
	}
	return sr
}

// A concatenated SMS over IP message whose second segment never comes
// still answers the TP-SRR of the first, which got its RP-ACK: under
// `incomplete: fail` an SMS-STATUS-REPORT with TP-ST 0x46 (the outcome
// expired, the report table) comes at the reassembly timeout; under
// `incomplete: deliver` the partial text reaches the RCS side as SMS over
// IP (in_smsip, not in_smpp) and the report tells its delivery.
func TestSMSIPReassemblyTimeoutReports(t *testing.T) {
	for _, tc := range []struct {
		name       string
		incomplete string
		delivered  bool
		want       tpdu.Status
	}{
		{"fail", IncompleteFail, false, tpdu.StatusValidityPeriodExpired},
		{"partial delivery", IncompleteDeliver, true, tpdu.StatusReceived},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			p := Partner{Policy: Policy{Promotion: PromoteAlways}}
			p.SMS = SMSConfig{Incomplete: tc.incomplete, ReassemblyTimeout: time.Minute}
			u, f := startSMSIPWith(t, clk.Now, p, func(int) rp.Cause { return 0 })
			submitSMSIPSegment(t, u, 9, 1, 5, "first half")
			clk.advance(time.Hour)
			if tc.delivered {
				if got := u.nextCall(t).nextSent(t); !strings.Contains(string(got.Body), "first half") {
					t.Fatalf("the RCS side got %q, want the first half", got.Body)
				}
			}
			sr := f.nextStatusReport(t)
			if sr.MessageRef != 5 || sr.Status != tc.want {
				t.Fatalf("report for TP-MR %d with TP-ST %#x, want TP-MR 5, TP-ST %#x", sr.MessageRef, sr.Status, tc.want)
			}
			c := u.eng.partnerNamed("p").counters.snapshot()
			if c["in_smpp"] != 0 || (tc.delivered && c["in_smsip"] != 1) {
				t.Fatalf("counters %v: the partial message counted as SMPP", c)
			}
		})
	}
}

// Refusals of an SMS-SUBMIT answer with the RP-Cause of TS 24.011 annex E.
func TestRPCauseOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want rp.Cause
	}{
		{errUnavailable, rp.CauseCongestion},
		{errQueueFull, rp.CauseCongestion},
		{errTooLong, rp.CauseShortMessageTransferRejected},
		{errBadText, rp.CauseInvalidMandatoryInformation},
		{errDraining, rp.CauseTemporaryFailure},
		{errNoSMSIP, rp.CauseRequestedFacilityNotSubscribed},
	} {
		if got := rpCauseOf(tc.err); got != tc.want {
			t.Errorf("rpCauseOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
