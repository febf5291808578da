package sipsession

import (
	"os"
	"path/filepath"
	"testing"

	"iwf/session/msrp"
	"iwf/session/msrpsdp"
)

// FuzzOfferAnswer drives what the UAS does with an INVITE body: any body
// is refused with 400/415/488 or answered, and an answer must round-trip:
// it parses with our own parser, and negotiating it as the offerer gives
// the same outcome from the other side (complementary roles, same CEMA).
func FuzzOfferAnswer(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.sdp")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("application/sdp", b)
	}
	f.Add("text/plain", []byte("hi"))
	f.Add("application/sdp", []byte(""))
	local := msrpsdp.Media{
		Addr: "127.0.0.1", Port: 2855,
		Path:        []msrp.URI{{Host: "127.0.0.1", Port: 2855, SessionID: "iwf1", Transport: "tcp"}},
		AcceptTypes: []string{"message/cpim", "text/plain"}, AcceptWrappedTypes: []string{"text/plain"},
		Setup: msrpsdp.SetupPassive,
	}
	origin, err := msrpsdp.NewOrigin("127.0.0.1")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		offer, status, err := checkBody(ct, body)
		if status != 0 {
			if err == nil || (status != 400 && status != 415 && status != 488) {
				t.Fatalf("status %d err %v", status, err)
			}
			return
		}
		m := local
		m.Secure = offer.Media.Secure
		if m.Secure {
			m.Path = []msrp.URI{{Secure: true, Host: "127.0.0.1", Port: 2855, SessionID: "iwf1", Transport: "tcp"}}
		}
		ans, neg, err := msrpsdp.BuildAnswer(origin, offer, m)
		if err != nil {
			if msrpsdp.SIPStatusOf(err) != 488 {
				t.Fatalf("answer refused with %d: %v", msrpsdp.SIPStatusOf(err), err)
			}
			return
		}
		back, err := msrpsdp.Parse(ans)
		if err != nil {
			t.Fatalf("our answer does not parse: %v\n%s", err, ans)
		}
		other, err := msrpsdp.Negotiate(msrpsdp.Offerer, offer.Media, back.Media)
		if err != nil {
			t.Fatalf("the offerer refuses our answer: %v\n%s", err, ans)
		}
		if other.Active == neg.Active || other.CEMA != neg.CEMA {
			t.Fatalf("roles: offerer active %v, we active %v; cema %v/%v", other.Active, neg.Active, other.CEMA, neg.CEMA)
		}
	})
}

func TestCheckBodyVectors(t *testing.T) {
	tests := []struct {
		name, ct, file string
		body           string
		status         int
	}{
		{name: "rcs offer", ct: "application/sdp", file: "rcs_offer.sdp"},
		{name: "rfc 4975 offer", ct: "application/sdp", file: "rfc4975_offer.sdp"},
		{name: "tls cema offer", ct: "Application/SDP; charset=utf-8", file: "tls_cema_offer.sdp"},
		{name: "empty", ct: "application/sdp", status: 400},
		{name: "wrong type", ct: "text/plain", body: "v=0", status: 415},
		{name: "missing type", body: "v=0", status: 415},
		{name: "garbage sdp", ct: "application/sdp", body: "hello", status: 488},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			if tc.file != "" {
				b, err := os.ReadFile(filepath.Join("testdata", tc.file))
				if err != nil {
					t.Fatal(err)
				}
				body = b
			}
			_, status, err := checkBody(tc.ct, body)
			if status != tc.status || (status == 0) != (err == nil) {
				t.Fatalf("status %d err %v, want %d", status, err, tc.status)
			}
		})
	}
}
