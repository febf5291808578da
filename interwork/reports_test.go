package interwork

import (
	"testing"
	"time"

	"iwf/internal/cpim"
	"iwf/smpp/receipt"
)

func TestReportMapping(t *testing.T) {
	tests := []struct {
		o     Outcome
		state receipt.State
		imdn  cpim.Status
		msrp  int
		sip   int
	}{
		{Delivered, receipt.Delivered, cpim.StatusDelivered, 200, 200},
		{Undeliverable, receipt.Undeliverable, cpim.StatusFailed, 400, 404},
		{Expired, receipt.Expired, cpim.StatusFailed, 408, 408},
		{Rejected, receipt.Rejected, cpim.StatusForbidden, 403, 403},
		{Unknown, receipt.Unknown, cpim.StatusError, 500, 500},
	}
	for _, tt := range tests {
		t.Run(tt.o.String(), func(t *testing.T) {
			if tt.o.ReceiptState() != tt.state || tt.o.IMDNStatus() != tt.imdn || tt.o.MSRPStatus() != tt.msrp || tt.o.SIPStatus() != tt.sip {
				t.Fatalf("%v maps to %v %v %d %d", tt.o, tt.o.ReceiptState(), tt.o.IMDNStatus(), tt.o.MSRPStatus(), tt.o.SIPStatus())
			}
			// Every side's name for the outcome reads back as the outcome.
			if got, ok := OutcomeOfReceipt(tt.state); !ok || got != tt.o {
				t.Errorf("receipt %v reads as %v", tt.state, got)
			}
			if got := OutcomeOfMSRP(tt.msrp); got != tt.o {
				t.Errorf("MSRP %d reads as %v", tt.msrp, got)
			}
			if got := OutcomeOfSIP(tt.sip); got != tt.o {
				t.Errorf("SIP %d reads as %v", tt.sip, got)
			}
			if tt.o != Expired && tt.o != Undeliverable {
				if got := OutcomeOfIMDN(tt.imdn); got != tt.o {
					t.Errorf("IMDN %v reads as %v", tt.imdn, got)
				}
			}
		})
	}
	for _, s := range []receipt.State{receipt.Enroute, receipt.Accepted} {
		if _, ok := OutcomeOfReceipt(s); ok {
			t.Errorf("%v is not final", s)
		}
	}
	for code, want := range map[int]Outcome{202: Delivered, 0: Expired, 480: Expired, 486: Undeliverable, 603: Rejected, 503: Unknown} {
		if got := OutcomeOfSIP(code); got != want {
			t.Errorf("SIP %d reads as %v, want %v", code, got, want)
		}
	}
}

func TestConvKeyRoundTrip(t *testing.T) {
	for _, k := range []convKey{
		testKey("demo", "+4611", "+4622"),
		testKey("a|b", "sip:x|y@h", "tel:+1;phone-context=x%"),
	} {
		got, err := parseConvKey(k.String())
		if err != nil || got.String() != k.String() || got.Partner != k.Partner || got.SMS.id != k.SMS.id || got.RCS.id != k.RCS.id {
			t.Fatalf("%q -> %+v, %v", k.String(), got, err)
		}
	}
	if _, err := parseConvKey("a|b"); err == nil {
		t.Fatal("two-part key accepted")
	}
}

func TestRoute(t *testing.T) {
	e := &Engine{}
	set := &partnerSet{}
	for _, p := range []Partner{
		{Name: "all", Numbers: []string{"+"}},
		{Name: "uk", Numbers: []string{"+44"}},
		{Name: "london", Numbers: []string{"+4420"}, Domains: []string{"ims.example"}},
	} {
		set.order = append(set.order, &partner{Partner: p})
	}
	e.partners.Store(set)
	for addr, want := range map[string]string{
		"+4420123": "london", "+4479": "uk", "+4670": "all", "sip:bob@IMS.example": "london", "sip:bob@other": "",
	} {
		p, ok := e.route(readParty(addr))
		got := ""
		if ok {
			got = p.Name
		}
		if got != want {
			t.Errorf("%s routes to %q, want %q", addr, got, want)
		}
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(2, func() time.Time { return now })
	var allowed int
	for range 3 {
		if l.allow() {
			allowed++
		}
	}
	if allowed != 2 {
		t.Fatalf("a 2/s bucket allowed %d of three at once, want 2", allowed)
	}
	now = now.Add(500 * time.Millisecond)
	if !l.allow() || l.allow() {
		t.Fatal("half a second refills one")
	}
}

// The outcomes only the SMS side hears of: Unconfirmed is a final
// UNKNOWN with err:005, Accepted the intermediate ENROUTE.
func TestReportMappingTowardSMS(t *testing.T) {
	if Unconfirmed.ReceiptState() != receipt.Unknown || Unconfirmed.ReceiptError() != 5 || !Unconfirmed.Final() {
		t.Fatalf("unconfirmed maps to %v err %d", Unconfirmed.ReceiptState(), Unconfirmed.ReceiptError())
	}
	if Accepted.ReceiptState() != receipt.Enroute || Accepted.Final() {
		t.Fatalf("accepted maps to %v", Accepted.ReceiptState())
	}
	for _, o := range []Outcome{Delivered, Undeliverable, Expired, Rejected, Unknown} {
		if o.ReceiptError() != int(o)-1 {
			t.Errorf("%v has err:%03d", o, o.ReceiptError())
		}
	}
}
