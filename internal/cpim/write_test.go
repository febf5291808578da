package cpim

import (
	"strings"
	"testing"
	"time"
)

func TestMarshalGolden(t *testing.T) {
	pst := time.FixedZone("", -8*3600)
	tests := []struct {
		name string
		m    *Message
	}{
		{"full.cpim", &Message{
			From:     Address{Name: "Alice \"Al\" Smith", URI: "sip:alice@example.com"},
			To:       []Address{{URI: "tel:+15551234567"}, {Name: "Bob", URI: "sip:bob@example.com"}},
			CC:       []Address{{Name: "Zoë", URI: "sip:zoe@example.com"}},
			DateTime: time.Date(2024, 3, 1, 10, 0, 0, 120e6, pst),
			Subject:  []Subject{{Text: "line one\nline two \\ done "}, {Lang: "fr", Text: "bonjour"}},
			NS:       []Namespace{{Prefix: "imdn", URI: IMDNNamespace}, {Prefix: "foo", URI: "urn:example:foo"}},
			Require:  []string{"foo.Bar", "imdn.Message-ID"},
			Headers: []Header{
				{Name: "imdn.Message-ID", Value: "34jk324j"},
				{Name: "foo.Bar", Params: []Param{{"x", "a b"}, {"y", "token"}, {"z", ""}}, Value: ";semicolon first"},
			},
			ContentType:    "text/plain; charset=utf-8",
			ContentHeaders: []Field{{Name: "Content-ID", Value: "<1@x>"}},
			Body:           []byte("Hello\r\nWorld"),
		}},
		{"utc-offset.cpim", &Message{
			DateTime:    time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC),
			ContentType: "text/plain",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, b)
			back, err := ParseStrict(b)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffMessage(back, tc.m); d != "" {
				t.Error(d)
			}
		})
	}
}

// TestMarshalVectors parses each vector, writes it and parses it again:
// the message must not change, and the output must be stable.
func TestMarshalVectors(t *testing.T) {
	for _, name := range []string{"rfc3862-example.cpim", "rfc5438-im.cpim", "rfc5438-delivery-notification.cpim"} {
		t.Run(name, func(t *testing.T) {
			m1, err := ParseStrict(vector(t, name))
			if err != nil {
				t.Fatal(err)
			}
			b1, err := m1.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			m2, err := ParseStrict(b1)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffMessage(m1, m2); d != "" {
				t.Fatal(d)
			}
			b2, _ := m2.Marshal()
			if string(b1) != string(b2) {
				t.Errorf("output not stable:\n%s\n%s", b1, b2)
			}
			golden(t, "normalized-"+name, b1)
		})
	}
}

func TestMarshalInjection(t *testing.T) {
	m := &Message{
		From:        Address{URI: "sip:a@example.com"},
		Subject:     []Subject{{Text: "hi\r\nFrom: <sip:evil@example.com>\r\n\r\nContent-Type: text/html"}},
		Headers:     []Header{{Name: "X", Params: []Param{{"p", "\r\n"}}, Value: "\n"}},
		ContentType: "text/plain",
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\r\n"); n != 6 {
		t.Errorf("%d line ends, want 6:\n%s", n, b)
	}
	back, err := ParseStrict(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffMessage(back, m); d != "" {
		t.Error(d)
	}
}

func TestMarshalValidate(t *testing.T) {
	ok := func() *Message {
		return &Message{From: Address{URI: "sip:a@b.c"}, To: []Address{{URI: "sip:b@b.c"}}, ContentType: "text/plain"}
	}
	tests := []struct {
		name  string
		edit  func(*Message)
		field string
	}{
		{"no content type", func(m *Message) { m.ContentType = "" }, "Content-Type"},
		{"bad content type", func(m *Message) { m.ContentType = "plain" }, "Content-Type"},
		{"content type with line break", func(m *Message) { m.ContentType = "text/plain\r\nX: y" }, "Content-Type"},
		{"bad From uri", func(m *Message) { m.From.URI = "alice" }, "From"},
		{"From name not UTF-8", func(m *Message) { m.From.Name = "\xff" }, "From"},
		{"bad second To", func(m *Message) { m.To = append(m.To, Address{URI: "x y:z"}) }, "To[1]"},
		{"bad cc", func(m *Message) { m.CC = []Address{{}} }, "cc[0]"},
		{"year 10000", func(m *Message) { m.DateTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "DateTime"},
		{"bad lang", func(m *Message) { m.Subject = []Subject{{Lang: "fr_FR", Text: "x"}} }, "Subject[0]"},
		{"subject not UTF-8", func(m *Message) { m.Subject = []Subject{{Text: "\xff"}} }, "Subject[0]"},
		{"bad NS prefix", func(m *Message) { m.NS = []Namespace{{Prefix: "a b", URI: "urn:x:y"}} }, "NS[0]"},
		{"bad NS uri", func(m *Message) { m.NS = []Namespace{{Prefix: "a", URI: "x"}} }, "NS[0]"},
		{"bad Require", func(m *Message) { m.Require = []string{"a..b"} }, "Require[0]"},
		{"bad header name", func(m *Message) { m.Headers = []Header{{Name: "a b"}} }, `header "a b"`},
		{"core header in Headers", func(m *Message) { m.Headers = []Header{{Name: "from", Value: "<sip:x@y>"}} }, "from"},
		{"bad param name", func(m *Message) { m.Headers = []Header{{Name: "X", Params: []Param{{Name: "a=b"}}}} }, "X"},
		{"value not UTF-8", func(m *Message) { m.Headers = []Header{{Name: "X", Value: "\xff"}} }, "X"},
		{"second Content-Type", func(m *Message) { m.ContentHeaders = []Field{{Name: "content-type", Value: "text/html"}} }, `content header "content-type"`},
		{"bad content header name", func(m *Message) { m.ContentHeaders = []Field{{Name: "A:B", Value: "x"}} }, `content header "A:B"`},
		{"content header injection", func(m *Message) { m.ContentHeaders = []Field{{Name: "Content-ID", Value: "<x>\r\nX: y"}} }, "Content-ID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := ok()
			tc.edit(m)
			prefix := []byte("keep")
			b, err := m.AppendTo(prefix)
			fe := wantError[*FieldError](t, err)
			if fe.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", fe.Field, tc.field, err)
			}
			if string(b) != "keep" {
				t.Errorf("AppendTo changed its buffer on error: %q", b)
			}
		})
	}
}
