package interwork

import (
	"testing"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/iwftest"
	"iwf/smpp/receipt"
)

// rawCoding sends a test's octets as they are under a chosen data_coding.
type rawCoding byte

func (r rawCoding) Encode(s string) ([]byte, error) { return []byte(s), nil }
func (r rawCoding) Decode(b []byte) (string, error) { return string(b), nil }
func (r rawCoding) DataCoding() byte                { return byte(r) }

// rawSubmit is one submit_sm written field by field.
type rawSubmit struct {
	dc, esm, pid byte
	sm           []byte
	udh          pdu.UDH
}

// submitRaw sends s from 46700000001 to to, asking for a receipt, and
// returns its submit_sm_resp.
func submitRaw(t *testing.T, e *iwftest.ESME, to string, s rawSubmit) *pdu.SubmitSMResp {
	t.Helper()
	sm := pdu.NewSubmitSM().(*pdu.SubmitSM)
	src, dst := pdu.NewAddress(), pdu.NewAddress()
	src.SetTon(1)
	src.SetNpi(1)
	_ = src.SetAddress("46700000001")
	dst.SetTon(1)
	dst.SetNpi(1)
	_ = dst.SetAddress(to)
	sm.SourceAddr, sm.DestAddr = src, dst
	if err := sm.Message.SetMessageDataWithEncoding(s.sm, rawCoding(s.dc)); err != nil {
		t.Fatal(err)
	}
	if s.udh != nil {
		sm.Message.SetUDH(s.udh)
	}
	sm.EsmClass, sm.ProtocolID, sm.RegisteredDelivery = s.esm, s.pid, 1
	if s.udh != nil {
		sm.EsmClass |= 0x40
	}
	if err := e.Session.Transceiver().Submit(sm); err != nil {
		t.Fatal(err)
	}
	return e.NextResp(t)
}

// Issue 9 item 7: every data coding group is read, text in the general
// group with a class is relayed, and binary, port-addressed, Type 0 and
// SME acknowledgement messages follow the partner's non_text policy:
// refused with their SMPP status, or acknowledged, dropped and given a
// REJECTD receipt. The RCS side sees only the texts.
func TestNonTextPolicies(t *testing.T) {
	rcs := startRCS(t, 0)
	demo := demoPartner()
	kannel := demoPartner()
	kannel.Name = "kannel"
	kannel.SMS = DefaultSMSConfig()
	kannel.SMS.DefaultAlphabet = AlphabetLatin1
	kannel.SMS.NonText.Binary = NonTextDrop
	kannel.SMS.NonText.Type0 = NonTextReject
	w := startIWF(t, startRedis(t), rcs, "n1", demo, kannel)
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	k := bindESME(t, w.smpp.Addr().String(), "kannel")

	refused := []struct {
		name   string
		s      rawSubmit
		status data.CommandStatusType
	}{
		{name: "8-bit data", s: rawSubmit{dc: 0x04, sm: []byte{0xCA, 0xFE}}, status: 0x104},
		{name: "8-bit data class 1", s: rawSubmit{dc: 0xF5, sm: []byte{0xCA, 0xFE}}, status: 0x104},
		{name: "compressed", s: rawSubmit{dc: 0x20, sm: []byte("x")}, status: 0x104},
		{name: "wap push port", s: rawSubmit{dc: 0x04, sm: []byte{1}, udh: pdu.UDH{pdu.InfoElement{ID: 0x05, Data: []byte{0x0B, 0x84, 0x23, 0xF0}}}}, status: data.ESME_RX_P_APPN},
	}
	for _, tc := range refused {
		if r := submitRaw(t, e, "46700000002", tc.s); r.CommandStatus != tc.status {
			t.Fatalf("%s: submit_sm_resp %v, want %v", tc.name, r.CommandStatus, tc.status)
		}
	}
	if r := submitRaw(t, k, "46700000002", rawSubmit{pid: 0x40, sm: []byte("ping")}); r.CommandStatus != data.ESME_RX_P_APPN {
		t.Fatalf("type 0 under reject: %v", r.CommandStatus)
	}

	dropped := []struct {
		name string
		e    *iwftest.ESME
		s    rawSubmit
	}{
		{name: "type 0", e: e, s: rawSubmit{pid: 0x40, sm: []byte("ping")}},
		{name: "sme ack", e: e, s: rawSubmit{esm: 0x08, sm: []byte("ok")}},
		{name: "8-bit data under drop", e: k, s: rawSubmit{dc: 0x04, sm: []byte{0xCA, 0xFE}}},
	}
	for _, tc := range dropped {
		r := submitRaw(t, tc.e, "46700000002", tc.s)
		if r.CommandStatus != data.ESME_ROK {
			t.Fatalf("%s: submit_sm_resp %v, want ESME_ROK", tc.name, r.CommandStatus)
		}
		if rc := receiptOf(t, tc.e.Next(t)); rc.ID != r.MessageID || rc.State != receipt.Rejected {
			t.Fatalf("%s: receipt %+v, want REJECTD for %s", tc.name, rc, r.MessageID)
		}
	}

	// Texts after them: the first messages the RCS side gets.
	for _, tc := range []struct {
		e    *iwftest.ESME
		s    rawSubmit
		want string
	}{
		{e: e, s: rawSubmit{dc: 0x11, sm: []byte("class 1")}, want: "class 1"},
		{e: e, s: rawSubmit{dc: 0x18, sm: []byte{0, 'u', 0, 'c', 0, 's', 0, '2'}}, want: "ucs2"},
		{e: e, s: rawSubmit{dc: 0xD8, sm: []byte("voicemail")}, want: "voicemail"},
		{e: k, s: rawSubmit{dc: 0x00, sm: []byte("caf\xe9")}, want: "café"},
	} {
		if r := submitRaw(t, tc.e, "46700000002", tc.s); r.CommandStatus != data.ESME_ROK {
			t.Fatalf("%q: submit_sm_resp %v", tc.want, r.CommandStatus)
		}
		if m := rcs.Next(t); m.Text != tc.want {
			t.Fatalf("RCS got %q, want %q", m.Text, tc.want)
		}
	}
}
