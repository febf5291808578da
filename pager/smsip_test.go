package pager

import (
	"encoding/hex"
	"errors"
	"testing"

	"iwf/sms/rp"
)

// RP messages from an sms_over_ip trunk whose fault is answered at the
// relay layer carry the RP-Cause of TS 24.011 annex E; the ones without
// a reference are refused with a SIP status.
func TestDecodeSMSCauses(t *testing.T) {
	tr := compile(Trunk{Partner: "ims", SMSOverIP: true, SCAddress: "+447700900999"}.WithDefaults())
	for _, tc := range []struct {
		name  string
		hex   string
		cause rp.Cause
		to    string
		sip   int
	}{
		{"submit", "002A0007914477000990991201070C91447700091032000005E8329BFD06", 0, "tel:+447700900123", 0},
		// TP-DA alphanumeric (TON 5): no one to route to.
		{"alphanumeric destination", "002A000791447700099099100107" + "07D0" + "E8329B0D" + "000005E8329BFD06", rp.CauseUnassignedNumber, "", 0},
		// TP-UDL 5 septets and one octet of TP-UD: truncated.
		{"truncated tpdu", "002A0007914477000990990E01070C91447700091032000005E8", rp.CauseInvalidMandatoryInformation, "", 0},
		// TP-MTI 10 from the handset: SMS-COMMAND, not carried.
		{"sms-command", "002A000791447700099099080207000000000000", rp.CauseMessageTypeNonExistent, "", 0},
		// RP-MTI 7 is reserved (TS 24.011 table 8.3).
		{"reserved rp type", "072A", rp.CauseMessageTypeNonExistent, "", 0},
		// RP-DATA n->ms from a handset.
		{"rp-data the wrong way", "012A079144770009909900020000", rp.CauseMessageNotCompatibleWithState, "", 0},
		{"one octet", "00", 0, "", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := hex.DecodeString(tc.hex)
			if err != nil {
				t.Fatal(err)
			}
			s, to, err := decodeSMS(b, tr)
			if tc.sip != 0 {
				var re *requestError
				if !errors.As(err, &re) || re.status != tc.sip {
					t.Fatalf("err %v, want a %d", err, tc.sip)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Cause != tc.cause || s.Ref != 0x2A {
				t.Fatalf("cause %v ref %d, want %v ref 42", s.Cause, s.Ref, tc.cause)
			}
			if tc.cause == 0 && (to.String() != tc.to || s.Submit == nil) {
				t.Fatalf("to %v submit %v", to, s.Submit)
			}
		})
	}
}

func TestTrunkSCAddress(t *testing.T) {
	for _, tc := range []struct {
		name string
		tr   Trunk
		bad  bool
	}{
		{"flag and address", Trunk{SMSOverIP: true, SCAddress: "+447700900999"}, false},
		{"flag without address", Trunk{SMSOverIP: true}, true},
		{"address without +", Trunk{SMSOverIP: true, SCAddress: "447700900999"}, true},
		{"address without flag", Trunk{SCAddress: "+447700900999"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := tc.tr
			tr.NextHop, tr.AllowedSources = "sip:127.0.0.1", []string{"127.0.0.1"}
			err := tr.Validate()
			var fe *FieldError
			if tc.bad != (err != nil) || (tc.bad && (!errors.As(err, &fe) || fe.Path != "sc_address")) {
				t.Fatalf("Validate() = %v, bad %v", err, tc.bad)
			}
		})
	}
}

// The MESSAGEs of ours carrying RP messages name the service centre in
// P-Asserted-Identity as in From (TS 24.341 table B.6-1, TS 34.229-1
// A.7.1): the handset sends its RP-SMMA there (TS 24.341 5.3.2.5).
func TestRPHeaders(t *testing.T) {
	sc := "sip:+447700900999@iwf.example.net;user=phone"
	for _, tc := range []struct {
		name, inReplyTo string
		want            map[string]string
	}{
		{"rp-data", "", map[string]string{
			"Accept-Contact": FeatureSMSIP, "Request-Disposition": "no-fork", "P-Asserted-Identity": "<" + sc + ">",
		}},
		{"rp-ack", "call-1@ims", map[string]string{
			"Accept-Contact": FeatureSMSIP, "Request-Disposition": "no-fork", "P-Asserted-Identity": "<" + sc + ">",
			"In-Reply-To": "call-1@ims",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]string{}
			for _, h := range rpHeaders(sc, tc.inReplyTo) {
				got[h.Name()] = h.Value()
			}
			if len(got) != len(tc.want) {
				t.Fatalf("headers %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("%s: %q, want %q", k, got[k], v)
				}
			}
		})
	}
}
