package interwork

import (
	"strings"
	"testing"

	"iwf/internal/testutil"
	"iwf/smpp"
)

// smsAddr is the SMPP address of an E.164 key, for tests that build
// messages.
func smsAddr(key string) smpp.Address {
	a, err := smpp.AddressOf(key)
	if err != nil {
		panic(err)
	}
	return a
}

// A submit's addresses are read with the partner's numbering plan: TON 0
// digits and a 00 prefix are the same E.164 party as TON 1 (once filed
// as "tel:46700000001", a party no reply could reach), and an address
// that cannot be read is refused with its SMPP status before anything is
// stored.
func TestSubmitNumbering(t *testing.T) {
	tests := []struct {
		name     string
		src, dst smpp.Address
		status   uint32
	}{
		{"unknown TON, international digits", smpp.Address{TON: 0, NPI: 1, Addr: "46700000001"}, smpp.Address{TON: 0, NPI: 1, Addr: "0046700000002"}, smpp.StatusOK},
		{"bad source", smpp.Address{TON: 1, NPI: 1, Addr: "46ABC"}, smsAddr("+46700000002"), smpp.StatusInvSrcAdr},
		{"alphanumeric too long", smpp.Address{TON: 5, NPI: 0, Addr: "A very long sender"}, smsAddr("+46700000002"), smpp.StatusInvSrcAdr},
		{"empty destination", smsAddr("+46700000001"), smpp.Address{TON: 1, NPI: 1}, smpp.StatusInvDstAdr},
		{"national destination without a country code", smsAddr("+46700000001"), smpp.Address{TON: 2, NPI: 1, Addr: "0700000002"}, smpp.StatusInvDstAdr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := startUnit(t, unitPolicy())
			m := &smpp.Message{Source: tc.src, Dest: tc.dst, ShortMessage: []byte("x")}
			_, err := u.eng.HandleSubmit(testutil.Context(t), "p", m)
			if got := smpp.StatusOf(err); got != tc.status {
				t.Fatalf("HandleSubmit = %v (%s), want %s", err, smpp.StatusName(got), smpp.StatusName(tc.status))
			}
			if tc.status != smpp.StatusOK {
				if n := u.queueLen(t); n != 0 {
					t.Fatalf("queued %d", n)
				}
				return
			}
			// The conversation is the E.164 one: CPIM names the sender so.
			sent := u.nextCall(t).nextSent(t)
			if !strings.Contains(string(sent.Body), "<tel:+46700000001>") || !strings.Contains(string(sent.Body), "<tel:+46700000002>") {
				t.Fatalf("sent %s", sent.Body)
			}
		})
	}
}

// An RCS identity with no SMPP form is refused, never sent as an
// alphanumeric "sip:..." or "tel:...".
func TestDeliverSMSRefusesUnaddressable(t *testing.T) {
	u := startUnit(t, unitPolicy())
	for _, rcs := range []string{"sip:alice@example.com", "tel:5550100;phone-context=example.com"} {
		c := &conv{e: u.eng, partner: u.eng.partnerNamed("p"), k: convKey{Partner: "p", SMS: readParty("+46700000001"), RCS: readParty(rcs)}}
		o, _, err := c.deliverSMS(testutil.Context(t), &queued{Text: "x"})
		if o != Rejected || err == nil {
			t.Fatalf("%s: outcome %v, %v; want Rejected", rcs, o, err)
		}
	}
	if n := u.sms.sends(); n != 0 {
		t.Fatalf("%d sent", n)
	}
}
