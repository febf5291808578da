package cpim

import "testing"

func TestUnescape(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"none", "plain text", "plain text"},
		{"backslash", `a\\b`, `a\b`},
		{"quotes", `\"x\'`, `"x'`},
		{"short forms", `\b\t\n\r`, "\b\t\n\r"},
		{"unicode lower", `\u00e9`, "é"},
		{"unicode upper", `\u00E9`, "é"},
		{"control", `\u0000\u007f`, "\x00\x7f"},
		{"surrogate pair", `\ud83d\ude00`, "😀"},
		{"lone high surrogate", `\ud83dx`, "\ufffdx"},
		{"two low surrogates", `\ude00\ude00`, "\ufffd\ufffd"},
		{"short hex kept", `\u12`, `\u12`},
		{"bad hex kept", `\u12g4`, `\u12g4`},
		{"trailing backslash kept", `a\`, `a\`},
		{"unknown escape kept", `\q\x`, `\q\x`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := unescape(tc.in); got != tc.want {
				t.Errorf("unescape(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestAppendValue(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "hello world", "hello world"},
		{"backslash", `a\b`, `a\\b`},
		{"quotes left alone", `say "hi"`, `say "hi"`},
		{"line break", "x\r\ny", `x\r\ny`},
		{"tab and backspace", "\t\b", `\t\b`},
		{"other controls", "\x01\x1f\x7f", `\u0001\u001f\u007f`},
		{"leading space", " lead", `\u0020lead`},
		{"trailing space", "trail ", `trail\u0020`},
		{"both", "  mid  ", `\u0020 mid \u0020`},
		{"one space", " ", `\u0020`},
		{"non-ASCII untouched", "café 😀", "café 😀"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(appendValue(nil, tc.in))
			if got != tc.want {
				t.Errorf("appendValue(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if back := unescape(trimSpace(got)); back != tc.in {
				t.Errorf("read back as %q", back)
			}
		})
	}
}

func TestReadString(t *testing.T) {
	tests := []struct {
		name, in  string
		val, rest string
		ok        bool
	}{
		{"simple", `"Alice" <sip:a@b>`, "Alice", " <sip:a@b>", true},
		{"escaped quote", `"a\"b" x`, `a"b`, " x", true},
		{"escaped backslash before quote", `"a\\" x`, `a\`, " x", true},
		{"empty", `""`, "", "", true},
		{"unterminated", `"abc`, "", "", false},
		{"escaped closing quote", `"abc\"`, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			val, rest, ok := readString(tc.in)
			if val != tc.val || rest != tc.rest || ok != tc.ok {
				t.Errorf("readString(%q) = %q, %q, %v", tc.in, val, rest, ok)
			}
			if ok {
				if back, _, _ := readString(string(appendString(nil, val))); back != val {
					t.Errorf("appendString round trip: %q", back)
				}
			}
		})
	}
}

func TestSyntaxClasses(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) bool
		in   string
		want bool
	}{
		{"name", validName, "Message-ID", true},
		{"name with dot", validName, "a.b", false},
		{"name with space", validName, "a b", false},
		{"empty name", validName, "", false},
		{"header name", validHeaderName, "imdn.Message-ID", true},
		{"header name two dots", validHeaderName, "a.b.c", false},
		{"header name empty prefix", validHeaderName, ".b", false},
		{"token with dot and UTF-8", validToken, "tok.en-é", true},
		{"token with quote", validToken, `a"b`, false},
		{"token invalid UTF-8", validToken, "\xff", false},
		{"uri sip", validURI, "sip:+15551234567@example.com;user=phone", true},
		{"uri tel", validURI, "tel:+15551234567", true},
		{"uri urn", validURI, "urn:ietf:params:imdn", true},
		{"uri no scheme", validURI, "bob@example.com", false},
		{"uri digit first", validURI, "1sip:x", false},
		{"uri empty rest", validURI, "sip:", false},
		{"uri space", validURI, "sip:a b", false},
		{"uri bracket", validURI, "sip:a>b", false},
		{"lang", validLang, "en-GB", true},
		{"lang trailing hyphen", validLang, "en-", false},
		{"lang underscore", validLang, "en_GB", false},
		{"message id with @", validMessageID, "msg-1@host", true},
		{"message id with space", validMessageID, "a b", false},
		{"message id empty", validMessageID, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.fn(tc.in); got != tc.want {
				t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
