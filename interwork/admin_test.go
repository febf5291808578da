package interwork

import (
	"testing"

	"github.com/linxGnu/gosmpp/data"
)

// A suspended partner's submits get the temporary ESME_RX_T_APPN and
// nothing is queued; once resumed the next one is accepted and delivered.
func TestSuspendRefusesResumeAccepts(t *testing.T) {
	rcs := startRCS(t, 0)
	w := startIWF(t, startRedis(t), rcs, "n1", demoPartner())
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	if !w.eng.Suspend("demo") || !w.eng.Suspended("demo") {
		t.Fatal("demo not suspended")
	}
	if w.eng.Suspend("nobody") {
		t.Fatal("an unknown partner suspended")
	}
	e.Submit(t, "46700000001", "46700000002", "while suspended")
	if r := e.NextResp(t); r.CommandStatus != data.ESME_RX_T_APPN {
		t.Fatalf("submit_sm_resp %v while suspended, want ESME_RX_T_APPN", r.CommandStatus)
	}
	if !w.eng.Resume("demo") || w.eng.Resume("demo") {
		t.Fatal("Resume: want true once, then false")
	}
	e.Submit(t, "46700000001", "46700000002", "resumed")
	if r := e.NextResp(t); r.CommandStatus != data.ESME_ROK {
		t.Fatalf("submit_sm_resp %v after resume", r.CommandStatus)
	}
	if m := rcs.Next(t); m.Text != "resumed" {
		t.Fatalf("RCS side got %q", m.Text)
	}
}

// SetPartners: an unchanged partner keeps its state, a changed one its
// figures, an added one routes at once, a removed one is refused.
func TestSetPartners(t *testing.T) {
	rcs := startRCS(t, 0)
	w := startIWF(t, startRedis(t), rcs, "n1", demoPartner())
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	e.Submit(t, "46700000001", "46700000002", "before")
	if r := e.NextResp(t); r.CommandStatus != data.ESME_ROK {
		t.Fatalf("submit_sm_resp %v", r.CommandStatus)
	}
	rcs.Next(t)
	demo := w.eng.partnerNamed("demo")
	uk := Partner{Name: "uk", Numbers: []string{"+44"}, DeliverVia: ViaSIP, Policy: Defaults()}
	if err := w.eng.SetPartners([]Partner{demoPartner(), uk}); err != nil {
		t.Fatal(err)
	}
	if w.eng.partnerNamed("demo") != demo {
		t.Fatal("an unchanged partner got a new version")
	}
	if p, ok := w.eng.route(readParty("+4420123")); !ok || p.Name != "uk" {
		t.Fatalf("+4420123 routes to %v", p)
	}
	changed := demoPartner()
	changed.Numbers = []string{"+46"}
	if err := w.eng.SetPartners([]Partner{changed, uk}); err != nil {
		t.Fatal(err)
	}
	now := w.eng.partnerNamed("demo")
	if now == demo || now.Numbers[0] != "+46" {
		t.Fatalf("changed partner: %+v", now.Partner)
	}
	if n := now.counters.snapshot()[string(counterIn(ingressSMPP))]; n != 1 {
		t.Fatalf("changed partner's in_smpp %d, want the 1 counted before", n)
	}
	// A bad set changes nothing.
	if err := w.eng.SetPartners([]Partner{uk, uk}); err == nil {
		t.Fatal("a partner twice accepted")
	}
	if w.eng.partnerNamed("demo") != now {
		t.Fatal("a refused set replaced the partners")
	}
	if err := w.eng.SetPartners([]Partner{uk}); err != nil {
		t.Fatal(err)
	}
	e.Submit(t, "46700000001", "46700000002", "after removal")
	if r := e.NextResp(t); r.CommandStatus != data.ESME_RINVSYSID {
		t.Fatalf("submit_sm_resp %v for a removed partner, want ESME_RINVSYSID", r.CommandStatus)
	}
	if _, ok := w.eng.route(readParty("+46700000001")); ok {
		t.Fatal("a removed partner still routes")
	}
}
