package smpp

import (
	"testing"

	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/testutil"
	"iwf/smpp/smpptest"
)

// Unbind sends unbind to the SMSC and keeps the bind down; Rebind binds
// again and submits flow.
func TestClientUnbindRebind(t *testing.T) {
	testutil.CheckLeaks(t)
	smsc := startSMSC(t)
	c := startClient(t, clientConfig(smsc.Addr()), nil, nil)
	waitSMSC(t, smsc, func(s smpptest.State) bool { return s.Bound == 1 })
	c.Unbind(testutil.Context(t))
	waitSMSC(t, smsc, func(s smpptest.State) bool { return s.Unbinds == 1 && s.Bound == 0 })
	testutil.Eventually(t, func() bool { return c.Status()[0].State == StateUnbound }, "the bind to show unbound")
	if !c.Held() {
		t.Fatal("not held after Unbind")
	}
	if got := smsc.BindCount(); got != 1 {
		t.Fatalf("%d binds while held, want 1", got)
	}
	if !c.Rebind() || c.Rebind() {
		t.Fatal("Rebind: want true once, then false")
	}
	waitSMSC(t, smsc, func(s smpptest.State) bool { return s.Bound == 1 && s.Binds == 2 })
	if _, err := c.Submit(testutil.Context(t), testMessage("after rebind")); err != nil {
		t.Fatal(err)
	}
}

// SetPartners keeps the binds of an unchanged partner, unbinds a changed
// one's (its old password binds no more), and keeps a removed partner's
// bind until UnbindPartner while refusing it new binds.
func TestServerSetPartners(t *testing.T) {
	testutil.CheckLeaks(t)
	a := ServerPartner{Name: "a", SystemID: "a", Password: "pa"}
	b := ServerPartner{Name: "b", SystemID: "b", Password: "pb"}
	gone := ServerPartner{Name: "gone", SystemID: "gone", Password: "pg"}
	s := startServer(t, serverConfig(a, b, gone), nil)
	ca, cb, cg := dialRaw(t, s.Addr().String()), dialRaw(t, s.Addr().String()), dialRaw(t, s.Addr().String())
	ca.bind("a", "pa", 1)
	cb.bind("b", "pb", 1)
	cg.bind("gone", "pg", 1)

	b2 := b
	b2.Password = "new"
	changes, err := s.SetPartners([]ServerPartner{a, b2, {Name: "c", SystemID: "c", Password: "pc"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[0] != (ServerPartnerChange{Name: "b", Changed: true}) || changes[1] != (ServerPartnerChange{Name: "gone", Removed: true}) {
		t.Fatalf("changes %+v", changes)
	}
	// b's bind is unbound by the server; a's stays (answers an
	// enquire_link on the same connection).
	if h, _, err := cb.next(); err != nil || h.Command != CmdUnbind {
		t.Fatalf("changed partner's ESME got %+v %v, want unbind", h, err)
	}
	ca.sendPDU(pdu.NewEnquireLink(), 2)
	ca.expect(CmdEnquireLinkResp, StatusOK, 2)
	// The old password is refused, the new one and the added partner bind.
	old := dialRaw(t, s.Addr().String())
	old.sendPDU(bindRequest("b", "pb"), 1)
	old.expect(CmdBindTransceiverResp, StatusInvPaswd, 1)
	dialRaw(t, s.Addr().String()).bind("b", "new", 1)
	dialRaw(t, s.Addr().String()).bind("c", "pc", 1)
	// The removed partner binds no more, but its bind still delivers.
	again := dialRaw(t, s.Addr().String())
	again.sendPDU(bindRequest("gone", "pg"), 1)
	again.expect(CmdBindTransceiverResp, StatusInvPaswd, 1)
	if !s.HasReceiver("gone") {
		t.Fatal("the removed partner's bind no longer receives")
	}
	if n := s.UnbindPartner("gone"); n != 1 {
		t.Fatalf("UnbindPartner unbound %d", n)
	}
	h, _, err := cg.next()
	if err != nil || h.Command != CmdUnbind {
		t.Fatalf("removed partner's ESME got %+v %v, want unbind", h, err)
	}
	// A bad set changes nothing.
	if _, err := s.SetPartners([]ServerPartner{a, a}); err == nil {
		t.Fatal("a partner twice accepted")
	}
	dialRaw(t, s.Addr().String()).bind("c", "pc", 1)
}

func bindRequest(systemID, password string) pdu.PDU {
	req := pdu.NewBindRequest(pdu.Transceiver)
	req.SystemID, req.Password = systemID, password
	return req
}
