package cpim

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const minimal = "From: <sip:a@example.com>\r\n\r\nContent-Type: text/plain\r\n\r\nhi"

func TestParseRFC3862Example(t *testing.T) {
	raw := vector(t, "rfc3862-example.cpim")
	want := &Message{
		From:     Address{Name: "MR SANDERS", URI: "im:piglet@100akerwood.com"},
		To:       []Address{{Name: "Depressed Donkey", URI: "im:eeyore@100akerwood.com"}},
		DateTime: time.Date(2000, 12, 13, 13, 40, 0, 0, time.FixedZone("", -8*3600)),
		Subject: []Subject{
			{Text: "the weather will be fine today"},
			{Lang: "fr", Text: "beau temps prevu pour aujourd'hui"},
		},
		NS:      []Namespace{{Prefix: "MyFeatures", URI: "mid:MessageFeatures@id.foo.com"}},
		Require: []string{"MyFeatures.VitalMessageOption"},
		Headers: []Header{
			{Name: "MyFeatures.VitalMessageOption", Value: "Confirmation-requested"},
			{Name: "MyFeatures.WackyMessageOption", Value: "Use-silly-font"},
		},
		ContentType:    "text/xml; charset=utf-8",
		ContentHeaders: []Field{{Name: "Content-ID", Value: "<1234567890@foo.com>"}},
		Body:           []byte("<body>\r\nHere is the text of my message.\r\n</body>\r\n"),
	}
	for _, tc := range []struct {
		name string
		in   []byte
		body string
	}{
		{"crlf", raw, string(want.Body)},
		{"bare lf", lf(raw), "<body>\nHere is the text of my message.\n</body>\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseStrict(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			w := *want
			w.Body = []byte(tc.body)
			if d := diffMessage(m, &w); d != "" {
				t.Fatal(d)
			}
			if v, ok := m.Get("mid:MessageFeatures@id.foo.com", "wackymessageoption"); !ok || v != "Use-silly-font" {
				t.Errorf("Get through the NS prefix = %q, %v", v, ok)
			}
			if got := m.Unsupported(func(string, string) bool { return false }); len(got) != 1 || got[0] != "MyFeatures.VitalMessageOption" {
				t.Errorf("Unsupported = %q", got)
			}
			understood := func(ns, name string) bool {
				return ns == "mid:MessageFeatures@id.foo.com" && name == "VitalMessageOption"
			}
			if got := m.Unsupported(understood); got != nil {
				t.Errorf("Unsupported with the feature understood = %q", got)
			}
			if m.ContentHeader("content-id") != "<1234567890@foo.com>" || m.MediaType() != "text/xml" {
				t.Errorf("content accessors: %q %q", m.ContentHeader("content-id"), m.MediaType())
			}
		})
	}
}

func TestParseLenient(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(*testing.T, *Message)
	}{
		{"bare lf", "From: <sip:a@b.c>\n\nContent-Type: text/plain\n\nhi", func(t *testing.T, m *Message) {
			if m.From.URI != "sip:a@b.c" || string(m.Body) != "hi" {
				t.Errorf("%+v", m)
			}
		}},
		{"no space after colon, spaces around value", "From:<sip:a@b.c>   \r\nSubject:   x  \r\n\r\nContent-Type:text/plain\r\n\r\n", func(t *testing.T, m *Message) {
			if m.From.URI != "sip:a@b.c" || m.Subject[0].Text != "x" || m.ContentType != "text/plain" {
				t.Errorf("%+v", m)
			}
		}},
		{"core names in any case", crlfText("from: <sip:a@b.c>", "TO: <sip:b@b.c>", "CC: <sip:c@b.c>", "datetime: 2024-01-02t03:04:05z", "ns: <urn:x:y>", "") + "content-type: text/plain\r\n\r\n", func(t *testing.T, m *Message) {
			if m.From.IsZero() || len(m.To) != 1 || len(m.CC) != 1 || m.DateTime.IsZero() || len(m.NS) != 1 {
				t.Errorf("%+v", m)
			}
			if !m.DateTime.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Errorf("DateTime %v", m.DateTime)
			}
		}},
		{"unquoted name, quoted name, bare uri", crlfText(`From: MR SANDERS <im:piglet@x.com>`, `To: "Eeyore \"the\" Donkey" <im:e@x.com>`, `To: sip:bob@x.com`, "") + "Content-Type: text/plain\r\n\r\n", func(t *testing.T, m *Message) {
			want := []Address{{Name: `Eeyore "the" Donkey`, URI: "im:e@x.com"}, {URI: "sip:bob@x.com"}}
			if m.From.Name != "MR SANDERS" || len(m.To) != 2 || m.To[0] != want[0] || m.To[1] != want[1] {
				t.Errorf("%+v", m)
			}
		}},
		{"escapes in a value, a stray backslash kept", crlfText(`Subject: a\tb\u00e9\\ \q`, "") + "Content-Type: text/plain\r\n\r\n", func(t *testing.T, m *Message) {
			if got := m.Subject[0].Text; got != "a\tbé\\ \\q" {
				t.Errorf("Subject %q", got)
			}
		}},
		{"parameters", crlfText(`X.Y:;a=tok.en;b="quoted \"v\"";c=12 the value`, "NS: X <urn:x>", "") + "Content-Type: text/plain\r\n\r\n", func(t *testing.T, m *Message) {
			h := m.Headers[0]
			want := []Param{{"a", "tok.en"}, {"b", `quoted "v"`}, {"c", "12"}}
			if len(h.Params) != 3 || h.Params[0] != want[0] || h.Params[1] != want[1] || h.Params[2] != want[2] || h.Value != "the value" {
				t.Errorf("%+v", h)
			}
		}},
		{"value that starts with a semicolon", crlfText("X: ;not a param", "") + "Content-Type: text/plain\r\n\r\n", func(t *testing.T, m *Message) {
			if h := m.Headers[0]; h.Params != nil || h.Value != ";not a param" {
				t.Errorf("%+v", h)
			}
		}},
		{"no message headers", "\r\nContent-Type: text/plain\r\n\r\nhi", func(t *testing.T, m *Message) {
			if !m.From.IsZero() || string(m.Body) != "hi" {
				t.Errorf("%+v", m)
			}
		}},
		{"input ends after the content headers", "From: <sip:a@b.c>\r\n\r\nContent-Type: text/plain", func(t *testing.T, m *Message) {
			if m.ContentType != "text/plain" || m.Body != nil {
				t.Errorf("%+v", m)
			}
		}},
		{"folded content header", "\r\nContent-Type: text/plain;\r\n\tcharset=utf-8\r\nContent-ID:\r\n <x@y>\r\n\r\n", func(t *testing.T, m *Message) {
			if m.ContentType != "text/plain;\tcharset=utf-8" || m.ContentHeader("Content-ID") != "<x@y>" {
				t.Errorf("%q %+v", m.ContentType, m.ContentHeaders)
			}
		}},
		{"broken media type parameter", "\r\nContent-Type: text/plain; charset\r\n\r\n", func(t *testing.T, m *Message) {
			if m.MediaType() != "text/plain" {
				t.Errorf("MediaType %q", m.MediaType())
			}
		}},
		{"offset kept and zone independent of this machine", crlfText("DateTime: 2024-05-06T07:08:09.5+05:30", "") + "Content-Type: text/plain\r\n\r\n", func(t *testing.T, m *Message) {
			if _, off := m.DateTime.Zone(); off != 5*3600+1800 || m.DateTime.Nanosecond() != 5e8 {
				t.Errorf("DateTime %v", m.DateTime)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseStrict([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, m)
		})
	}
}

// TestParseTolerant feeds envelopes the strict parser refuses: the tolerant
// one leaves out what it cannot read, keeps the rest, and writes what it
// keeps so that it reads back the same.
func TestParseTolerant(t *testing.T) {
	const content = "\r\nContent-Type: text/plain\r\n\r\nhi"
	tests := []struct {
		name  string
		in    string
		check func(*testing.T, *Message)
	}{
		{"addresses without a scheme", crlfText("From: <a>", "To: <b>", "To: <sip:b@c.d>", "cc: nobody") + content, func(t *testing.T, m *Message) {
			if !m.From.IsZero() || len(m.To) != 1 || m.To[0].URI != "sip:b@c.d" || len(m.CC) != 0 || string(m.Body) != "hi" {
				t.Errorf("%+v", m)
			}
		}},
		{"the first well-formed From and DateTime count", crlfText("From: <a>", "From: <sip:a@b.c>", "From: <sip:x@y.z>", "DateTime: yesterday", "DateTime: 2024-01-02T03:04:05Z", "DateTime: 2025-01-02T03:04:05Z") + content, func(t *testing.T, m *Message) {
			if m.From.URI != "sip:a@b.c" || !m.DateTime.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Errorf("%+v", m)
			}
		}},
		{"broken NS, Require and parameters", crlfText("NS: my prefix <urn:x:y>", "NS: foo", "Require: a b", "Subject:;foo=bar hi", "From:;x=y <sip:a@b.c>", "X:;bar v", "Y: kept") + content, func(t *testing.T, m *Message) {
			if len(m.NS) != 0 || len(m.Require) != 0 || len(m.Subject) != 0 || !m.From.IsZero() || len(m.Headers) != 1 || m.Headers[0].Value != "kept" {
				t.Errorf("%+v", m)
			}
		}},
		{"bytes that are not UTF-8", crlfText("Subject: caf\xe9", "From: \"Caf\xe9\" <sip:a@b.c>", "X.Y:;p=\xff v") + "\r\nContent-Type: text/plain; charset=\xe9\r\nContent-ID: <\xff>\r\n\r\n", func(t *testing.T, m *Message) {
			if m.Subject[0].Text != "caf\uFFFD" || m.From.Name != "Caf\uFFFD" || m.Headers[0].Params[0].Value != "\uFFFD" ||
				m.ContentType != "text/plain; charset=\uFFFD" || m.ContentHeader("Content-ID") != "<\uFFFD>" {
				t.Errorf("%+v", m)
			}
		}},
		{"IMDN headers that IMDN refuses", crlfText("NS: imdn <urn:ietf:params:imdn>", "imdn.Message-ID: a b", "imdn.Message-ID: m1", "imdn.Message-ID: m2",
			"imdn.Original-To: nobody", "imdn.IMDN-Route: <x>", "imdn.Disposition-Notification: display", "foo.Message-ID: other") + content, func(t *testing.T, m *Message) {
			i, err := m.IMDN()
			if err != nil || i.MessageID != "m1" || i.Disposition != Display || !i.OriginalTo.IsZero() || len(i.Route) != 0 {
				t.Errorf("IMDN %+v, %v", i, err)
			}
			if len(m.Headers) != 3 {
				t.Errorf("headers %+v", m.Headers)
			}
		}},
	}
	tolerant := ParseOptions{Tolerant: true}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if m, err := ParseStrict([]byte(tc.in)); err == nil {
				if _, err := m.IMDN(); err == nil {
					t.Fatal("the strict parser reads it: nothing to tolerate")
				}
			}
			m, err := tolerant.Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, m)
			b, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseStrict(b)
			if err != nil {
				t.Fatalf("%v\n%q", err, b)
			}
			if d := diffMessage(m, back); d != "" {
				t.Error(d)
			}
		})
	}
	// What is wrong with the lines themselves or with the content is still
	// wrong.
	for _, in := range []string{
		"From <urn-x>\r\n" + content,
		"a.b.c: x\r\n" + content,
		"Subject: a\x01b\r\n" + content,
		"From: <sip:a@b.c>\r\n <sip:d@e.f>\r\n" + content,
		"\xff: x\r\n" + content,
		"From: <a>\r\n\r\nContent-ID: <x>\r\n\r\nbody",
		"\r\nContent-Type: text/plain\r\ncontent-type: text/html\r\n\r\n",
		"\r\nContent-Type: text\r\n\r\n",
		"From: <a>\r\n",
	} {
		if _, err := tolerant.Parse([]byte(in)); err == nil {
			t.Errorf("tolerant parse of %q passed", in)
		} else {
			wantError[*ParseError](t, err, "cpim: ")
		}
	}
}

func TestParseErrors(t *testing.T) {
	const content = "\r\nContent-Type: text/plain\r\n\r\n"
	tests := []struct {
		name   string
		in     string
		header string
		offset int
		says   string
	}{
		{"empty", "", "", 0, "empty message"},
		{"no blank line", "From: <sip:a@b.c>\r\n", "", 19, "input ends before the blank line"},
		{"no colon", "From <urn-x>\r\n" + content, "", 0, "no colon"},
		{"bad name", "Fr om: x\r\n" + content, "", 0, "malformed header name"},
		{"two dots", "a.b.c: x\r\n" + content, "", 0, "malformed header name"},
		{"folded message header", "From: <sip:a@b.c>\r\n <sip:d@e.f>\r\n" + content, "", 19, "never folded"},
		{"control character", "Subject: a\x01b\r\n" + content, "Subject", 10, "control character 0x01"},
		{"bare CR", "X: 1\r\nSubject: a\rb\r\n" + content, "Subject", 16, "control character 0x0d"},
		{"invalid UTF-8", "Subject: \xff\r\n" + content, "Subject", 9, "invalid UTF-8"},
		{"repeated From", "From: <sip:a@b.c>\r\nFrom: <sip:d@e.f>\r\n" + content, "From", 19, "repeated"},
		{"repeated DateTime", "DateTime: 2000-12-13T13:40:00-08:00\r\nDateTime: 2000-12-13T13:40:00-08:00\r\n" + content, "DateTime", 37, "repeated"},
		{"bad DateTime", "DateTime: yesterday\r\n" + content, "DateTime", 0, "RFC 3339"},
		{"bad uri", "From: <not a uri>\r\n" + content, "From", 0, "malformed <uri>"},
		{"no scheme", "To: <bob@example.com>\r\n" + content, "To", 0, "malformed <uri>"},
		{"unterminated name", `From: "Alice <sip:a@b.c>` + "\r\n" + content, "From", 0, "unterminated"},
		{"nothing after the name", `From: "Alice" sip:a@b.c` + "\r\n" + content, "From", 0, "no <uri>"},
		{"parameters on From", "From:;x=y <sip:a@b.c>\r\n" + content, "From", 0, "parameters not allowed"},
		{"other Subject parameter", "Subject:;foo=bar hi\r\n" + content, "Subject", 0, "only one lang"},
		{"lang twice", "Subject:;lang=fr;lang=de hi\r\n" + content, "Subject", 0, "only one lang"},
		{"parameter without value", "X:;bar hi\r\n" + content, "X", 6, "without a value"},
		{"empty parameter value", "X:;bar= hi\r\n" + content, "X", 7, "without a value"},
		{"unterminated parameter", `X:;bar="x hi` + "\r\n" + content, "X", 7, "unterminated"},
		{"junk after parameter", `X:;bar=x"y hi` + "\r\n" + content, "X", 8, "after parameter"},
		{"bad NS prefix", "NS: my prefix <urn:x:y>\r\n" + content, "NS", 0, "malformed prefix"},
		{"NS without uri", "NS: foo\r\n" + content, "NS", 0, "no <uri>"},
		{"bad Require", "Require: a b\r\n" + content, "Require", 0, "malformed header name"},
		{"no content headers", "From: <sip:a@b.c>\r\n\r\n", "Content-Type", 21, "missing"},
		{"no Content-Type", "From: <sip:a@b.c>\r\n\r\nContent-ID: <x>\r\n\r\nbody", "Content-Type", 21, "missing"},
		{"repeated Content-Type", "\r\nContent-Type: text/plain\r\ncontent-type: text/html\r\n\r\n", "Content-Type", 28, "repeated"},
		{"bad media type", "\r\nContent-Type: text\r\n\r\n", "Content-Type", 2, "malformed media type"},
		{"continuation first", "\r\n x: y\r\n\r\n", "", 2, "continuation"},
		{"bad byte in a folded line", "\r\nContent-Type: text/plain;\r\n a\x01\r\n\r\n", "", 31, "control character"},
		{"bad byte in a bad name", "Fr om\x01: x\r\n" + content, "", 5, "control character"},
		{"content header without colon", "\r\nContent-Type text/plain\r\n\r\n", "", 2, "malformed content header"},
		{"control in content header", "\r\nContent-Type: text/plain\x00\r\n\r\n", "Content-Type", 26, "control character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseStrict([]byte(tc.in))
			if m != nil {
				t.Errorf("got a message with the error: %+v", m)
			}
			pe := wantError[*ParseError](t, err, tc.says, "cpim: ")
			if pe.Header != tc.header || pe.Offset != tc.offset {
				t.Errorf("header %q at %d, want %q at %d (%v)", pe.Header, pe.Offset, tc.header, tc.offset, err)
			}
			if pe.MSRPStatus() != 400 || pe.SIPStatus() != 400 {
				t.Errorf("status %d/%d", pe.MSRPStatus(), pe.SIPStatus())
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	many := strings.Repeat("X: y\r\n", 10)
	tests := []struct {
		name   string
		limits ParseOptions
		in     string
		what   string
	}{
		{"header bytes by default", ParseOptions{}, "Subject: " + strings.Repeat("a", DefaultMaxHeaderBytes) + "\r\n\r\nContent-Type: text/plain\r\n\r\n", "header bytes"},
		{"header bytes without a line end", ParseOptions{}, strings.Repeat("a", DefaultMaxHeaderBytes+1), "header bytes"},
		{"content headers count against header bytes", ParseOptions{MaxHeaderBytes: 40}, "\r\nContent-Type: text/plain\r\nContent-ID: <" + strings.Repeat("x", 20) + ">\r\n\r\n", "header bytes"},
		{"header count by default", ParseOptions{}, strings.Repeat("X: y\r\n", DefaultMaxHeaders+1) + "\r\nContent-Type: text/plain\r\n\r\n", "header count"},
		{"content headers count too", ParseOptions{MaxHeaders: 10}, many + "\r\nContent-Type: text/plain\r\n\r\n", "header count"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.limits.Parse([]byte(tc.in))
			le := wantError[*LimitError](t, err, tc.what)
			if le.MSRPStatus() != 413 || le.SIPStatus() != 413 {
				t.Errorf("status %d/%d", le.MSRPStatus(), le.SIPStatus())
			}
		})
	}
	t.Run("just within", func(t *testing.T) {
		in := many + "\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("body ", 10000)
		if _, err := (ParseOptions{MaxHeaders: 11, MaxHeaderBytes: len(many) + 30}).Parse([]byte(in)); err != nil {
			t.Fatal(err)
		}
		if _, err := (ParseOptions{MaxHeaders: 11, MaxHeaderBytes: len(many) + 29}).Parse([]byte(in)); err == nil {
			t.Fatal("one byte over the bound passed")
		}
	})
}

func TestParseBodyAliasesInput(t *testing.T) {
	in := []byte(minimal)
	m, err := ParseStrict(in)
	if err != nil {
		t.Fatal(err)
	}
	in[len(in)-1] = 'o'
	if string(m.Body) != "ho" {
		t.Errorf("Body %q does not alias the input", m.Body)
	}
	var pe *ParseError
	if _, err := ParseStrict([]byte("junk")); !errors.As(err, &pe) {
		t.Errorf("junk: %v", err)
	}
}
