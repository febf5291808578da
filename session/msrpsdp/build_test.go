package msrpsdp

import (
	"bytes"
	"errors"
	"flag"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"iwf/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// iwfOrigin is a fixed origin so the golden files are stable.
var iwfOrigin = Origin{Username: "-", SessionID: 3141592653, Version: 1, Addr: "192.0.2.100"}

// iwfLocal is the IWF's side as the tests configure it: passive against
// actpass, CEMA supported, CPIM-wrapped text and IMDN.
func iwfLocal(t testing.TB, secure bool) Media {
	m := Media{
		Secure:             secure,
		Addr:               "192.0.2.100",
		Port:               2855,
		AcceptTypes:        []string{"message/cpim", "text/plain", "message/imdn+xml"},
		AcceptWrappedTypes: []string{"text/plain", "message/imdn+xml"},
		MaxSize:            65536,
		Setup:              SetupPassive,
		CEMA:               true,
	}
	if secure {
		m.Path = mustPath(t, "msrps://192.0.2.100:2855/iwf0001;tcp")
		m.Fingerprints = []Fingerprint{{Hash: "sha-256", Value: "0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0:0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0"}}
	} else {
		m.Path = mustPath(t, "msrp://192.0.2.100:2855/iwf0001;tcp")
	}
	return m
}

func TestBuildOfferGolden(t *testing.T) {
	tests := []struct {
		name   string
		secure bool
		setup  Setup
	}{
		{"offer_tcp_actpass", false, SetupActPass},
		{"offer_tls_actpass", true, SetupActPass},
		{"offer_tcp_active", false, SetupActive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := iwfLocal(t, tc.secure)
			m.Setup = tc.setup
			m.Direction = SendRecv
			b, err := BuildOffer(iwfOrigin, m)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, b)
			d, err := Parse(b)
			if err != nil {
				t.Fatalf("our offer does not parse: %v", err)
			}
			if !d.Media.Equal(m) {
				t.Errorf("offer parses back as %+v, want %+v", d.Media, m)
			}
		})
	}
}

func TestBuildOfferRefusesInvalidMedia(t *testing.T) {
	tests := []struct {
		name   string
		change func(m *Media)
		field  string
		warn   int
	}{
		{"no path", func(m *Media) { m.Path = nil }, "a=path", WarnParameterNotUnderstood},
		{"scheme against transport", func(m *Media) { m.Secure = true }, "a=path", WarnIncompatibleTransport},
		{"no accept-types", func(m *Media) { m.AcceptTypes = nil }, "a=accept-types", WarnIncompatibleFormat},
		{"port 0", func(m *Media) { m.Port = 0 }, "m=", WarnParameterNotUnderstood},
		{"no address", func(m *Media) { m.Addr = "" }, "c=", WarnIncompatibleAddress},
		{"address with a space", func(m *Media) { m.Addr = "a b" }, "c=", WarnIncompatibleAddress},
		{"empty host in path", func(m *Media) { m.Path[0].Host = "" }, "a=path", WarnParameterNotUnderstood},
		{"negative max-size", func(m *Media) { m.MaxSize = -1 }, "a=max-size", WarnParameterNotUnderstood},
		{"bad wrapped type", func(m *Media) { m.AcceptWrappedTypes = []string{"text"} }, "a=accept-wrapped-types", WarnIncompatibleFormat},
		{"bad setup", func(m *Media) { m.Setup = 9 }, "a=setup", WarnParameterNotUnderstood},
		{"bad fingerprint", func(m *Media) { m.Fingerprints = []Fingerprint{{Hash: "sha-1", Value: "zz"}} }, "a=fingerprint", WarnParameterNotUnderstood},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := iwfLocal(t, false)
			tc.change(&m)
			b, err := BuildOffer(iwfOrigin, m)
			if b != nil {
				t.Errorf("built %q", b)
			}
			checkLocalError(t, err, tc.field, tc.warn)
		})
	}
	t.Run("origin with whitespace", func(t *testing.T) {
		o := iwfOrigin
		o.Username = "a b"
		_, err := BuildOffer(o, iwfLocal(t, false))
		checkLocalError(t, err, "o=", WarnMiscellaneous)
	})
	t.Run("answer with a broken local path", func(t *testing.T) {
		offer, err := Parse(readVector(t, "rfc4975_s4_offer"))
		if err != nil {
			t.Fatal(err)
		}
		m := iwfLocal(t, false)
		m.Path = nil
		_, _, err = BuildAnswer(iwfOrigin, offer, m)
		checkLocalError(t, err, "a=path", WarnParameterNotUnderstood)
	})
}

// checkLocalError: a fault in our own media is a 500, not a 488.
func checkLocalError(t *testing.T, err error, field string, warn int) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%v (%T) is not *Error", err, err)
	}
	if !e.Local || errors.Is(err, ErrNotAcceptable) || SIPStatusOf(err) != 500 {
		t.Errorf("%v: local=%v, matches ErrNotAcceptable=%v, status %d; want a local 500",
			err, e.Local, errors.Is(err, ErrNotAcceptable), SIPStatusOf(err))
	}
	if e.Field != field || e.Warn != warn {
		t.Errorf("field %q warn %d, want %q %d (%v)", e.Field, e.Warn, field, warn, err)
	}
	if !strings.HasPrefix(err.Error(), "msrpsdp: local media: ") {
		t.Errorf("message %q", err)
	}
}

func TestOriginNext(t *testing.T) {
	o, err := NewOrigin("192.0.2.100")
	if err != nil {
		t.Fatal(err)
	}
	if o.SessionID == 0 || o.SessionID >= 1<<62 || o.Version != 1 || o.Username != "-" {
		t.Fatalf("NewOrigin: %+v", o)
	}
	n := o.Next()
	if n.SessionID != o.SessionID || n.Version != o.Version+1 {
		t.Errorf("Next: %+v from %+v", n, o)
	}
	b, err := BuildOffer(n, iwfLocal(t, false))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.Origin.SessionID != o.SessionID || d.Origin.Version != 2 {
		t.Errorf("re-offer origin %+v", d.Origin)
	}
}

func TestBuildAnswer(t *testing.T) {
	tests := []struct {
		name     string
		secure   bool
		policy   Setup // our answer to actpass
		types    string
		wrapped  string
		setup    Setup
		dir      Direction
		active   bool
		cema     bool
		connect  string
		rejected []string // m= lines answered with port 0
	}{
		{name: "rfc4975_s4_offer", types: "text/plain", setup: SetupPassive,
			connect: "alicepc.example.com:7654"},
		{name: "rfc4975_s8_offer_tls_wrapped", secure: true, types: "message/cpim text/plain",
			wrapped: "text/plain", setup: SetupPassive, connect: "alice.example.com:7394"},
		{name: "rfc4976_relay_offer", secure: true, types: "message/cpim text/plain",
			wrapped: "text/plain message/imdn+xml", setup: SetupPassive, connect: "relay.example.com:2855"},
		{name: "rfc6135_offer_actpass", types: "message/cpim text/plain", wrapped: "text/plain message/imdn+xml",
			setup: SetupPassive, connect: "192.0.2.10:7394"},
		{name: "rfc6135_offer_actpass", policy: SetupActive, types: "message/cpim text/plain",
			wrapped: "text/plain message/imdn+xml", setup: SetupActive, active: true, connect: "192.0.2.10:7394"},
		{name: "rfc6714_offer_cema", policy: SetupActive, types: "message/cpim text/plain",
			wrapped: "text/plain message/imdn+xml", setup: SetupActive, active: true, cema: true,
			connect: "203.0.113.5:40000"},
		{name: "rcs_chat_offer_ipv6_active", types: "message/cpim", wrapped: "text/plain message/imdn+xml",
			setup: SetupPassive, dir: SendRecv, cema: true, connect: "[2001:db8::1:4c16:9c0f]:8880"},
		{name: "rcs_chat_offer_tls_actpass", secure: true, types: "message/cpim",
			wrapped: "text/plain message/imdn+xml", setup: SetupPassive, dir: SendRecv, cema: true,
			connect: "100.64.12.34:51234"},
		{name: "rcs_ft_offer_file_selector", types: "message/cpim", wrapped: "message/imdn+xml",
			setup: SetupPassive, dir: RecvOnly, cema: true, connect: "100.64.12.34:51236"},
		{name: "audio_and_message_offer", types: "message/cpim text/plain", wrapped: "text/plain message/imdn+xml",
			setup: SetupPassive, connect: "198.51.100.7:7777", rejected: []string{"m=audio 0 RTP/AVP 0 8"}},
		{name: "message_port0_then_message", types: "text/plain", setup: SetupPassive, dir: SendOnly,
			connect: "198.51.100.7:7778", rejected: []string{"m=message 0 TCP/MSRP *"}},
		{name: "session_level_attributes", secure: true, types: "message/cpim text/plain message/imdn+xml",
			wrapped: "text/plain message/imdn+xml", setup: SetupActive, dir: Inactive, active: true,
			connect: "192.0.2.31:2855"},
	}
	for _, tc := range tests {
		t.Run(tc.name+"_"+tc.policy.String(), func(t *testing.T) {
			offer, err := Parse(readVector(t, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			local := iwfLocal(t, tc.secure)
			local.Setup = tc.policy
			b, neg, err := BuildAnswer(iwfOrigin, offer, local)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".answer"+suffix(tc.policy), b)

			ans, err := Parse(b)
			if err != nil {
				t.Fatalf("our answer does not parse: %v\n%s", err, b)
			}
			m := ans.Media
			if got := strings.Join(m.AcceptTypes, " "); got != tc.types {
				t.Errorf("accept-types %q, want %q", got, tc.types)
			}
			if got := strings.Join(m.AcceptWrappedTypes, " "); got != tc.wrapped {
				t.Errorf("accept-wrapped-types %q, want %q", got, tc.wrapped)
			}
			if m.Setup != tc.setup || m.Direction != tc.dir || m.CEMA != tc.cema || m.MaxSize != local.MaxSize {
				t.Errorf("setup %v direction %v cema %v max-size %d, want %v %v %v %d",
					m.Setup, m.Direction, m.CEMA, m.MaxSize, tc.setup, tc.dir, tc.cema, local.MaxSize)
			}
			if tc.secure != (len(m.Fingerprints) == 1) {
				t.Errorf("fingerprints %v on secure=%v", m.Fingerprints, tc.secure)
			}
			if ans.MediaIndex != offer.MediaIndex || len(ans.MLines) != len(offer.MLines) {
				t.Errorf("answer has m=message at %d of %d, offer at %d of %d",
					ans.MediaIndex, len(ans.MLines), offer.MediaIndex, len(offer.MLines))
			}
			for _, r := range tc.rejected {
				if !bytes.Contains(b, []byte(r+"\r\n")) {
					t.Errorf("answer lacks %q:\n%s", r, b)
				}
			}
			if neg.Role != Answerer || neg.Active != tc.active || neg.CEMA != tc.cema {
				t.Errorf("negotiated %+v", neg)
			}
			if got := neg.ConnectAddr(); got != tc.connect {
				t.Errorf("ConnectAddr %q, want %q", got, tc.connect)
			}
			// The offerer, reading our answer, must come to the mirror
			// image of our view.
			peer, err := Negotiate(Offerer, offer.Media, ans.Media)
			if err != nil {
				t.Fatalf("offerer side: %v", err)
			}
			if peer.Active == neg.Active || peer.CEMA != neg.CEMA {
				t.Errorf("offerer active=%v cema=%v, answerer active=%v cema=%v", peer.Active, peer.CEMA, neg.Active, neg.CEMA)
			}
			// Its To-Path is its own relays, then our path (RFC 4976).
			tp, relays := peer.ToPath(), len(offer.Media.Path)-1
			if len(tp) != relays+len(local.Path) || !slices.EqualFunc(tp[relays:], local.Path, uriIdentical) ||
				(relays > 0 && !uriIdentical(tp[0], offer.Media.Path[relays-1])) {
				t.Errorf("offerer To-Path %v, want its %d relays then our path %v", tp, relays, local.Path)
			}
		})
	}
}

func suffix(s Setup) string {
	if s == SetupUnspecified {
		return ""
	}
	return "_" + s.String()
}

func TestBuildAnswerRefuses(t *testing.T) {
	tests := []struct {
		name   string
		vector string
		secure bool
		field  string
		warn   int
		want   string
	}{
		{"no common type", "nocommon_offer", false, "a=accept-types", WarnIncompatibleFormat, "no common type"},
		{"holdconn", "holdconn_offer", false, "a=setup", WarnParameterNotUnderstood, "holdconn"},
		{"TLS offer to a TCP answerer", "rfc4975_s8_offer_tls_wrapped", false, "m=", WarnIncompatibleTransport, "TCP/TLS/MSRP"},
		{"TCP offer to a TLS answerer", "rfc4975_s4_offer", true, "m=", WarnIncompatibleTransport, "TCP/MSRP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			offer, err := Parse(readVector(t, tc.vector))
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := BuildAnswer(iwfOrigin, offer, iwfLocal(t, tc.secure))
			if b != nil {
				t.Errorf("answered %q", b)
			}
			checkError(t, err, tc.field, tc.warn, tc.want)
		})
	}
}

// TestBuildAnswerHandMadeOffer covers a Description not made by Parse: no
// m= lines recorded, so the answer has just the MSRP one.
func TestBuildAnswerHandMadeOffer(t *testing.T) {
	offer := Description{Media: iwfLocal(t, false)}
	offer.Media.Path = mustPath(t, "msrp://192.0.2.7:2855/peer1;tcp")
	offer.Media.Setup = SetupActPass
	b, neg, err := BuildAnswer(iwfOrigin, offer, iwfLocal(t, false))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(b, []byte("m=")) != 1 || neg.Active {
		t.Errorf("answer %q, negotiated %+v", b, neg)
	}
}

// golden compares got with testdata/golden/name.sdp, or rewrites it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", "golden", name+".sdp"), got, *update)
}
