package msrpsdp

import (
	"errors"
	"strings"
	"testing"

	"iwf/session/msrp"
)

func TestNegotiateSetup(t *testing.T) {
	const (
		U = SetupUnspecified
		A = SetupActive
		P = SetupPassive
		X = SetupActPass
		H = SetupHoldConn
	)
	tests := []struct {
		offer, answer  Setup
		offererActive  bool
		wantErrContain string
	}{
		// RFC 4975 section 5.4 model, kept by RFC 6135 section 5 for
		// peers without a=setup: the offerer connects.
		{U, U, true, ""},
		{U, P, true, ""},
		{U, A, false, `offer "active" and answer "active" do not fit`},
		{A, U, true, ""},
		{A, P, true, ""},
		{A, A, false, "do not fit"},
		{P, A, false, ""},
		{P, U, false, `offer "passive" and answer "passive" do not fit`},
		{P, P, false, "do not fit"},
		{X, A, false, ""},
		{X, P, true, ""},
		{X, U, true, ""},
		{X, X, false, `answer role "actpass"`},
		{A, H, false, `answer role "holdconn"`},
		{H, P, false, `offered role "holdconn"`},
	}
	for _, tc := range tests {
		t.Run("offer_"+tc.offer.String()+"_answer_"+tc.answer.String(), func(t *testing.T) {
			offer, answer := iwfLocal(t, false), iwfLocal(t, false)
			offer.Setup, answer.Setup = tc.offer, tc.answer
			off, err := Negotiate(Offerer, offer, answer)
			if tc.wantErrContain != "" {
				checkError(t, err, "a=setup", WarnParameterNotUnderstood, tc.wantErrContain)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ans, err := Negotiate(Answerer, offer, answer)
			if err != nil {
				t.Fatal(err)
			}
			if off.Active != tc.offererActive || ans.Active == off.Active {
				t.Errorf("offerer active %v, answerer active %v; want offerer %v", off.Active, ans.Active, tc.offererActive)
			}
			if off.Role != Offerer || ans.Role != Answerer {
				t.Errorf("roles %v %v", off.Role, ans.Role)
			}
		})
	}
}

func TestNegotiateRefuses(t *testing.T) {
	t.Run("transport differs", func(t *testing.T) {
		_, err := Negotiate(Offerer, iwfLocal(t, false), iwfLocal(t, true))
		checkError(t, err, "m=", WarnIncompatibleTransport, "answer uses TCP/TLS/MSRP")
	})
	t.Run("no role", func(t *testing.T) {
		_, err := Negotiate(0, iwfLocal(t, false), iwfLocal(t, false))
		checkError(t, err, "", WarnMiscellaneous, "neither offerer nor answerer")
	})
}

func TestCEMA(t *testing.T) {
	tests := []struct {
		offer, answer, want bool
	}{
		{true, true, true},
		{true, false, false},
		// RFC 6714: an answerer may not add msrp-cema to an offer
		// without it; if one does, CEMA is still off.
		{false, true, false},
		{false, false, false},
	}
	for _, tc := range tests {
		offer, answer := iwfLocal(t, false), iwfLocal(t, false)
		offer.CEMA, answer.CEMA = tc.offer, tc.answer
		answer.Setup = SetupActive
		n, err := Negotiate(Offerer, offer, answer)
		if err != nil {
			t.Fatal(err)
		}
		if n.CEMA != tc.want {
			t.Errorf("offer %v answer %v: CEMA %v", tc.offer, tc.answer, n.CEMA)
		}
	}
}

func TestConnectAddrAndPaths(t *testing.T) {
	tests := []struct {
		name       string
		localPath  string
		remotePath string
		remoteAddr string
		remotePort int
		cema       bool
		connect    string
		toPath     string
	}{
		{
			name:       "one URI each: the peer's URI, not c= and m=",
			localPath:  "msrp://192.0.2.100:2855/iwf1;tcp",
			remotePath: "msrp://10.0.0.5:7777/ue1;tcp",
			remoteAddr: "203.0.113.9", remotePort: 40000,
			connect: "10.0.0.5:7777",
			toPath:  "msrp://10.0.0.5:7777/ue1;tcp",
		},
		{
			name:       "no port in the URI: the MSRP default",
			localPath:  "msrp://192.0.2.100:2855/iwf1;tcp",
			remotePath: "msrp://ue.example.com/ue1;tcp",
			remoteAddr: "ue.example.com", remotePort: 2855,
			connect: "ue.example.com:2855",
			toPath:  "msrp://ue.example.com/ue1;tcp",
		},
		{
			name:       "peer behind a relay: the relay, leftmost",
			localPath:  "msrps://192.0.2.100:2855/iwf1;tcp",
			remotePath: "msrps://relay.example.com:2855/r1;tcp msrps://ue.example.com:1234/ue1;tcp",
			remoteAddr: "ue.example.com", remotePort: 1234,
			connect: "relay.example.com:2855",
			toPath:  "msrps://relay.example.com:2855/r1;tcp msrps://ue.example.com:1234/ue1;tcp",
		},
		{
			name:       "CEMA: c= and m= of the peer",
			localPath:  "msrp://192.0.2.100:2855/iwf1;tcp",
			remotePath: "msrp://10.0.0.5:7777/ue1;tcp",
			remoteAddr: "203.0.113.9", remotePort: 40000, cema: true,
			connect: "203.0.113.9:40000",
			toPath:  "msrp://10.0.0.5:7777/ue1;tcp",
		},
		{
			name:       "CEMA over IPv6",
			localPath:  "msrp://192.0.2.100:2855/iwf1;tcp",
			remotePath: "msrp://[2001:db8::5]:7777/ue1;tcp",
			remoteAddr: "2001:db8::9", remotePort: 40000, cema: true,
			connect: "[2001:db8::9]:40000",
			toPath:  "msrp://[2001:db8::5]:7777/ue1;tcp",
		},
		{
			name:       "our own relays: nearest first, then the peer's path",
			localPath:  "msrps://far.example.net:2855/b;tcp msrps://near.example.net:2855/a;tcp msrps://192.0.2.100:2855/iwf1;tcp",
			remotePath: "msrps://ue.example.com:1234/ue1;tcp",
			remoteAddr: "ue.example.com", remotePort: 1234, cema: true,
			connect: "near.example.net:2855",
			toPath:  "msrps://near.example.net:2855/a;tcp msrps://far.example.net:2855/b;tcp msrps://ue.example.com:1234/ue1;tcp",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := Negotiated{
				Role:   Offerer,
				Local:  Media{Path: mustPath(t, tc.localPath)},
				Remote: Media{Path: mustPath(t, tc.remotePath), Addr: tc.remoteAddr, Port: tc.remotePort, MaxSize: 4096},
				Active: true,
				CEMA:   tc.cema,
			}
			if got := n.ConnectAddr(); got != tc.connect {
				t.Errorf("ConnectAddr %q, want %q", got, tc.connect)
			}
			if got := msrp.FormatPath(n.ToPath()); got != tc.toPath {
				t.Errorf("ToPath %q, want %q", got, tc.toPath)
			}
			lp, rp := strings.Fields(tc.localPath), strings.Fields(tc.remotePath)
			if n.LocalURI().String() != lp[len(lp)-1] || n.RemoteURI().String() != rp[len(rp)-1] {
				t.Errorf("LocalURI %s RemoteURI %s", n.LocalURI().String(), n.RemoteURI().String())
			}
			if n.SendLimit() != 4096 {
				t.Errorf("SendLimit %d", n.SendLimit())
			}
		})
	}
	t.Run("empty paths", func(t *testing.T) {
		var n Negotiated
		if n.ConnectAddr() != "" || len(n.ToPath()) != 0 || n.LocalURI().Host != "" {
			t.Errorf("zero Negotiated: %q %v", n.ConnectAddr(), n.ToPath())
		}
	})
}

func TestMatchType(t *testing.T) {
	tests := []struct {
		pattern, ct string
		want        bool
	}{
		{"*", "text/plain", true},
		{"text/*", "text/plain", true},
		{"text/*", "TEXT/HTML", true},
		{"text/*", "message/cpim", false},
		{"text/plain", "text/plain", true},
		{"Text/Plain", "text/plain;charset=UTF-8", true},
		{"text/plain", "text/html", false},
		{"message/cpim", "message/imdn+xml", false},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+" "+tc.ct, func(t *testing.T) {
			if got := MatchType(tc.pattern, tc.ct); got != tc.want {
				t.Errorf("got %v", got)
			}
		})
	}
}

func TestIntersectTypes(t *testing.T) {
	tests := []struct {
		name, local, offered, want string
	}{
		{"plain overlap, our order", "message/cpim text/plain", "text/plain message/cpim text/html", "message/cpim text/plain"},
		{"offer wildcard takes ours", "message/cpim text/plain", "*", "message/cpim text/plain"},
		{"our wildcard takes theirs", "*", "message/cpim application/im-iscomposing+xml", "message/cpim application/im-iscomposing+xml"},
		{"subtype wildcard narrows", "text/*", "text/plain text/html image/png", "text/plain text/html"},
		{"narrows the other way", "text/plain image/png", "text/*", "text/plain"},
		{"both wildcards", "*", "*", "*"},
		{"case-insensitive, no duplicates", "TEXT/PLAIN text/*", "text/plain", "TEXT/PLAIN"},
		{"nothing in common", "text/plain", "image/jpeg video/*", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(intersectTypes(strings.Fields(tc.local), strings.Fields(tc.offered)), " ")
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAccepts(t *testing.T) {
	tests := []struct {
		name           string
		types, wrapped string
		ct             string
		direct, inCPIM bool
	}{
		{"text directly", "text/plain message/cpim", "", "text/plain", true, true},
		{"imdn only wrapped", "message/cpim", "message/imdn+xml text/plain", "message/imdn+xml", false, true},
		{"wrapped wildcard", "message/cpim", "*", "image/png", false, true},
		{"no cpim, no wrapping", "text/plain", "image/png", "image/png", false, false},
		{"not listed", "message/cpim", "text/plain", "image/png", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := Negotiated{Remote: Media{AcceptTypes: strings.Fields(tc.types), AcceptWrappedTypes: strings.Fields(tc.wrapped)}}
			if got := n.CanSend(tc.ct, false); got != tc.direct {
				t.Errorf("direct %v", got)
			}
			if got := n.CanSend(tc.ct, true); got != tc.inCPIM {
				t.Errorf("wrapped %v", got)
			}
		})
	}
}

func TestWarning(t *testing.T) {
	_, err := Parse([]byte("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" +
		"m=message 2855 TCP/MSRP *\r\na=path:msrp://192.0.2.1:2855/x;tcp\r\na=accept-types:text/plain \"bad\\x\r\n"))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%v", err)
	}
	got := e.Warning("iwf.example.net")
	want := `305 iwf.example.net "msrpsdp: a=accept-types: invalid entry \"\\\"bad\\\\x\""`
	if got != want {
		t.Errorf("Warning\n got %s\nwant %s", got, want)
	}
	if w := (&Error{Reason: "x\r\ny"}).Warning("h"); w != `399 h "msrpsdp: x  y"` {
		t.Errorf("control characters kept: %q", w)
	}
	if SIPStatusOf(errors.New("other")) != 500 {
		t.Error("a foreign error is not a 500")
	}
}

func TestEnumStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{SetupActPass.String(), "actpass"},
		{SetupUnspecified.String(), ""},
		{Setup(42).String(), "invalid"},
		{RecvOnly.String(), "recvonly"},
		{Direction(42).String(), "invalid"},
		{Offerer.String(), "offerer"},
		{Answerer.String(), "answerer"},
		{Role(0).String(), "invalid"},
	} {
		if tc.got != tc.want {
			t.Errorf("%q, want %q", tc.got, tc.want)
		}
	}
}
