package msrpsdp

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"iwf/session/msrp"
)

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".sdp"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustPath(t testing.TB, s string) []msrp.URI {
	t.Helper()
	p, err := msrp.ParsePath(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseVectors(t *testing.T) {
	const fp256 = "4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF"
	tests := []struct {
		name     string
		origin   Origin
		media    Media
		path     string
		index    int
		mlines   int
		otherOff string // media of the first rejected m= line, if any
	}{
		{
			name:   "rfc4975_s4_offer",
			origin: Origin{Username: "alice", SessionID: 2890844526, Version: 2890844527, AddrType: "IP4", Addr: "alicepc.example.com"},
			media: Media{AddrType: "IP4", Addr: "alicepc.example.com", Port: 7654,
				AcceptTypes: []string{"text/plain"}},
			path:   "msrp://alicepc.example.com:7654/jshA7weztas;tcp",
			mlines: 1,
		},
		{
			name:   "rfc4975_s4_answer",
			origin: Origin{Username: "bob", SessionID: 2890844612, Version: 2890844616, AddrType: "IP4", Addr: "bob.example.com"},
			media: Media{AddrType: "IP4", Addr: "bob.example.com", Port: 8888,
				AcceptTypes: []string{"text/plain"}},
			path:   "msrp://bob.example.com:8888/9di4eae923wzd;tcp",
			mlines: 1,
		},
		{
			name:   "rfc4975_s8_offer_tls_wrapped",
			origin: Origin{Username: "alice", SessionID: 2890844526, Version: 2890844527, AddrType: "IP4", Addr: "alice.example.com"},
			media: Media{Secure: true, AddrType: "IP4", Addr: "alice.example.com", Port: 7394,
				AcceptTypes:        []string{"message/cpim", "text/plain", "text/html"},
				AcceptWrappedTypes: []string{"text/plain", "image/*"},
				MaxSize:            131072},
			path:   "msrps://alice.example.com:7394/2s93i93idj;tcp",
			mlines: 1,
		},
		{
			name:   "rfc4976_relay_offer",
			origin: Origin{Username: "alice", SessionID: 2890844526, Version: 2890844527, AddrType: "IP4", Addr: "alice.example.com"},
			media: Media{Secure: true, AddrType: "IP4", Addr: "alice.example.com", Port: 1234,
				AcceptTypes: []string{"message/cpim", "text/plain", "text/html"}},
			path:   "msrps://relay.example.com:2855/asfd34;tcp msrps://alice.example.com:1234/9s9si2;tcp",
			mlines: 1,
		},
		{
			name:   "rfc6135_offer_actpass",
			origin: Origin{Username: "alice", SessionID: 2890844526, Version: 2890844527, AddrType: "IP4", Addr: "192.0.2.10"},
			media: Media{AddrType: "IP4", Addr: "192.0.2.10", Port: 7394,
				AcceptTypes: []string{"message/cpim", "text/plain"}, Setup: SetupActPass},
			path:   "msrp://192.0.2.10:7394/2s93i93idj;tcp",
			mlines: 1,
		},
		{
			name:   "rfc6135_answer_active",
			origin: Origin{Username: "bob", SessionID: 2890844612, Version: 2890844616, AddrType: "IP4", Addr: "192.0.2.20"},
			media: Media{AddrType: "IP4", Addr: "192.0.2.20", Port: 9,
				AcceptTypes: []string{"message/cpim", "text/plain"}, Setup: SetupActive},
			path:   "msrp://192.0.2.20:8493/si438dsaodes;tcp",
			mlines: 1,
		},
		{
			name:   "rfc6714_offer_cema",
			origin: Origin{Username: "alice", SessionID: 2890844526, Version: 2890844527, AddrType: "IP4", Addr: "203.0.113.5"},
			media: Media{AddrType: "IP4", Addr: "203.0.113.5", Port: 40000,
				AcceptTypes: []string{"message/cpim", "text/plain"}, Setup: SetupActPass, CEMA: true},
			path:   "msrp://10.1.1.5:7394/2s93i93idj;tcp",
			mlines: 1,
		},
		{
			name:   "rcs_chat_offer_ipv6_active",
			origin: Origin{Username: "-", SessionID: 1234562, Version: 0, AddrType: "IP6", Addr: "2001:db8::1:4c16:9c0f"},
			media: Media{AddrType: "IP6", Addr: "2001:db8::1:4c16:9c0f", Port: 8880,
				AcceptTypes:        []string{"message/cpim", "application/im-iscomposing+xml"},
				AcceptWrappedTypes: []string{"text/plain", "message/imdn+xml"},
				Setup:              SetupActive, CEMA: true, Direction: SendRecv},
			path:   "msrp://[2001:db8::1:4c16:9c0f]:8880/FmnP2wq;tcp",
			mlines: 1,
		},
		{
			name:   "rcs_chat_offer_tls_actpass",
			origin: Origin{Username: "-", SessionID: 3829571234, Version: 3829571234, AddrType: "IP4", Addr: "100.64.12.34"},
			media: Media{Secure: true, AddrType: "IP4", Addr: "100.64.12.34", Port: 51234,
				AcceptTypes: []string{"message/cpim", "application/im-iscomposing+xml"},
				AcceptWrappedTypes: []string{"text/plain", "message/imdn+xml",
					"application/vnd.gsma.rcs-ft-http+xml", "application/vnd.gsma.rcspushlocation+xml"},
				MaxSize: 1048576, Setup: SetupActPass, CEMA: true, Direction: SendRecv,
				Fingerprints: []Fingerprint{{Hash: "SHA-256", Value: fp256}}},
			path:   "msrps://100.64.12.34:51234/a1b2c3d4e5;tcp",
			mlines: 1,
		},
		{
			name:   "rcs_ft_offer_file_selector",
			origin: Origin{Username: "-", SessionID: 3829571299, Version: 3829571299, AddrType: "IP4", Addr: "100.64.12.34"},
			media: Media{AddrType: "IP4", Addr: "100.64.12.34", Port: 51236,
				AcceptTypes:        []string{"message/cpim"},
				AcceptWrappedTypes: []string{"image/jpeg", "message/imdn+xml"},
				Setup:              SetupActPass, CEMA: true, Direction: SendOnly},
			path:   "msrp://100.64.12.34:51236/ft77aa01;tcp",
			mlines: 1,
		},
		{
			name:   "audio_and_message_offer",
			origin: Origin{Username: "carol", SessionID: 28908764872, Version: 28908764872, AddrType: "IP4", Addr: "198.51.100.7"},
			media: Media{AddrType: "IP4", Addr: "198.51.100.7", Port: 7777,
				AcceptTypes: []string{"text/plain", "message/cpim"}},
			path:     "msrp://198.51.100.7:7777/xyz123;tcp",
			index:    1,
			mlines:   2,
			otherOff: "audio",
		},
		{
			name:   "message_port0_then_message",
			origin: Origin{Username: "carol", SessionID: 28908764872, Version: 28908764873, AddrType: "IP4", Addr: "198.51.100.7"},
			media: Media{AddrType: "IP4", Addr: "198.51.100.7", Port: 7778,
				AcceptTypes: []string{"text/*"}, Direction: RecvOnly},
			path:     "msrp://198.51.100.7:7778/second;tcp",
			index:    1,
			mlines:   2,
			otherOff: "message",
		},
		{
			name:   "session_level_attributes",
			origin: Origin{Username: "-", SessionID: 42, Version: 42, AddrType: "IP4", Addr: "192.0.2.30"},
			media: Media{Secure: true, AddrType: "IP4", Addr: "192.0.2.31", Port: 2855,
				AcceptTypes: []string{"*"}, Setup: SetupPassive, Direction: Inactive,
				Fingerprints: []Fingerprint{{Hash: "sha-1", Value: "4a:ad:b9:b1:3f:82:18:3b:54:02:12:df:3e:5d:49:6b:19:e5:7c:ab"}}},
			path:   "msrps://192.0.2.31:2855/s3ss10n;tcp",
			mlines: 1,
		},
		{
			name:   "lf_no_final_newline",
			origin: Origin{Username: "-", SessionID: 5, Version: 5, AddrType: "IP4", Addr: "192.0.2.60"},
			media: Media{AddrType: "IP4", Addr: "192.0.2.60", Port: 2855,
				AcceptTypes: []string{"text/plain"}},
			path:   "msrp://192.0.2.60:2855/lfonly;tcp",
			mlines: 1,
		},
		{
			name:   "holdconn_offer",
			origin: Origin{Username: "-", SessionID: 8, Version: 8, AddrType: "IP4", Addr: "192.0.2.41"},
			media: Media{AddrType: "IP4", Addr: "192.0.2.41", Port: 2855,
				AcceptTypes: []string{"text/plain"}, Setup: SetupHoldConn},
			path:   "msrp://192.0.2.41:2855/held;tcp",
			mlines: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse(readVector(t, tc.name))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := tc.media
			want.Path = mustPath(t, tc.path)
			if !d.Media.Equal(want) {
				t.Errorf("media\n got %+v\nwant %+v", d.Media, want)
			}
			if d.Origin != tc.origin {
				t.Errorf("origin %+v, want %+v", d.Origin, tc.origin)
			}
			if d.MediaIndex != tc.index || len(d.MLines) != tc.mlines {
				t.Errorf("media index %d of %d m= lines, want %d of %d", d.MediaIndex, len(d.MLines), tc.index, tc.mlines)
			}
			if tc.otherOff != "" && d.MLines[0].Media != tc.otherOff {
				t.Errorf("first m= line %+v, want %s", d.MLines[0], tc.otherOff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		field string
		warn  int
		want  string // in the message
	}{
		{"bad_proto", "m=", WarnIncompatibleTransport, `"TCP/BFCP"`},
		{"bad_proto_lowercase", "", WarnParameterNotUnderstood, "malformed"},
		{"missing_path", "a=path", WarnParameterNotUnderstood, "missing"},
		{"bad_uri", "a=path", WarnParameterNotUnderstood, "invalid port"},
		{"scheme_mismatch", "a=path", WarnIncompatibleTransport, "TCP/TLS/MSRP"},
		{"missing_accept_types", "a=accept-types", WarnIncompatibleFormat, "missing"},
		{"bad_accept_type", "a=accept-types", WarnIncompatibleFormat, `"plain"`},
		{"bad_format", "m=", WarnIncompatibleFormat, `"text/plain"`},
		{"no_message", "m=", WarnMediaNotAvailable, "no m=message"},
		{"no_connection", "c=", WarnIncompatibleAddress, "no connection address"},
		{"bad_max_size", "a=max-size", WarnParameterNotUnderstood, `"lots"`},
		{"bad_setup", "a=setup", WarnParameterNotUnderstood, `"sideways"`},
		{"no_session_id", "a=path", WarnParameterNotUnderstood, "no session-id"},
		{"malformed", "", WarnParameterNotUnderstood, "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(readVector(t, tc.name))
			checkError(t, err, tc.field, tc.warn, tc.want)
		})
	}
}

func checkError(t *testing.T, err error, field string, warn int, want string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, ErrNotAcceptable) {
		t.Errorf("%v does not match ErrNotAcceptable", err)
	}
	if SIPStatusOf(err) != 488 {
		t.Errorf("SIP status %d, want 488", SIPStatusOf(err))
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%T is not *Error", err)
	}
	if e.Field != field || e.Warn != warn {
		t.Errorf("field %q warn %d, want %q %d (%v)", e.Field, e.Warn, field, warn, err)
	}
	if !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "msrpsdp: ") {
		t.Errorf("message %q does not contain %q", err, want)
	}
}

// TestParseTolerance covers what peers send that is odd but harmless, and
// bounds.
func TestParseTolerance(t *testing.T) {
	const head = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=message 2855 TCP/MSRP *\r\n"
	tests := []struct {
		name  string
		attrs string
		check func(t *testing.T, m Media)
	}{
		{
			name:  "attribute names in capitals, values padded",
			attrs: "a=PATH: msrp://192.0.2.1:2855/x1;tcp \r\na=Accept-Types:  text/plain   message/cpim\r\na=SETUP:ActPass\r\na=MSRP-CEMA\r\n",
			check: func(t *testing.T, m Media) {
				if len(m.Path) != 1 || len(m.AcceptTypes) != 2 || m.Setup != SetupActPass || !m.CEMA {
					t.Errorf("got %+v", m)
				}
			},
		},
		{
			name:  "first of repeated attributes counts",
			attrs: "a=path:msrp://192.0.2.1:2855/first;tcp\r\na=path:msrp://192.0.2.1:2855/second;tcp\r\na=accept-types:text/plain\r\na=setup:active\r\na=setup:passive\r\na=max-size:10\r\na=max-size:20\r\n",
			check: func(t *testing.T, m Media) {
				if m.Path[0].SessionID != "first" || m.Setup != SetupActive || m.MaxSize != 10 {
					t.Errorf("got %+v", m)
				}
			},
		},
		{
			name:  "unknown attributes ignored",
			attrs: "a=path:msrp://192.0.2.1:2855/x1;tcp\r\na=accept-types:text/plain\r\na=chatroom:nickname\r\na=connection:new\r\na=file-selector:name:\"a b\" size:12\r\na=x-whatever\r\n",
			check: func(t *testing.T, m Media) {
				if m.Path[0].SessionID != "x1" {
					t.Errorf("got %+v", m)
				}
			},
		},
		{
			name:  "accept-types with parameters",
			attrs: "a=path:msrp://192.0.2.1:2855/x1;tcp\r\na=accept-types:text/plain;charset=UTF-8\r\n",
			check: func(t *testing.T, m Media) {
				if !m.Accepts("text/plain") || m.Accepts("text/html") {
					t.Errorf("got %+v", m)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(head + tc.attrs))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, d.Media)
		})
	}

	t.Run("over the size limit", func(t *testing.T) {
		body := head + "a=path:msrp://192.0.2.1:2855/x1;tcp\r\na=accept-types:text/plain\r\n" +
			strings.Repeat("a=x-padding:0123456789\r\n", MaxDescriptionSize/20)
		_, err := Parse([]byte(body))
		checkError(t, err, "", WarnMiscellaneous, "over the limit")
	})
	t.Run("zero max-size", func(t *testing.T) {
		_, err := Parse([]byte(head + "a=path:msrp://192.0.2.1:2855/x1;tcp\r\na=accept-types:text/plain\r\na=max-size:0\r\n"))
		checkError(t, err, "a=max-size", WarnParameterNotUnderstood, `"0"`)
	})
	t.Run("port range", func(t *testing.T) {
		body := strings.Replace(head, "2855 TCP", "2855/2 TCP", 1) + "a=path:msrp://192.0.2.1:2855/x1;tcp\r\na=accept-types:text/plain\r\n"
		_, err := Parse([]byte(body))
		checkError(t, err, "m=", WarnParameterNotUnderstood, "port range")
	})
	t.Run("bad fingerprint", func(t *testing.T) {
		body := strings.Replace(head, "TCP/MSRP", "TCP/TLS/MSRP", 1) +
			"a=path:msrps://192.0.2.1:2855/x1;tcp\r\na=accept-types:text/plain\r\na=fingerprint:sha-1 4A:AD:B\r\n"
		_, err := Parse([]byte(body))
		checkError(t, err, "a=fingerprint", WarnParameterNotUnderstood, "4A:AD:B")
	})
	t.Run("path over a non-tcp transport", func(t *testing.T) {
		_, err := Parse([]byte(head + "a=path:msrp://192.0.2.1:2855/x1;ws\r\na=accept-types:text/plain\r\n"))
		checkError(t, err, "a=path", WarnIncompatibleTransport, `"ws"`)
	})
}
