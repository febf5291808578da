package cpim

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestIMDNFromRFC5438(t *testing.T) {
	m, err := ParseStrict(vector(t, "rfc5438-im.cpim"))
	if err != nil {
		t.Fatal(err)
	}
	i, err := m.IMDN()
	if err != nil {
		t.Fatal(err)
	}
	want := IMDN{
		MessageID:   "34jk324j",
		DateTime:    time.Date(2006, 4, 4, 12, 16, 49, 0, time.FixedZone("", -5*3600)),
		Disposition: PositiveDelivery | NegativeDelivery,
	}
	if !sameTime(i.DateTime, want.DateTime) {
		t.Errorf("DateTime %v", i.DateTime)
	}
	i.DateTime = want.DateTime
	if !reflect.DeepEqual(i, want) {
		t.Errorf("IMDN() = %+v, want %+v", i, want)
	}
	if string(m.Body) != "Hello World\r\n" || m.ContentHeader("Content-Length") != "12" {
		t.Errorf("content %q %q", m.Body, m.ContentHeader("Content-Length"))
	}
}

func TestIMDNHeaders(t *testing.T) {
	head := "\r\nContent-Type: text/plain\r\n\r\n"
	tests := []struct {
		name  string
		lines []string
		want  IMDN
		field string // non-empty: a *FieldError on this header
	}{
		{"prefix from NS", []string{"NS: foo <urn:ietf:params:imdn>", "foo.Message-ID: m1", "foo.Disposition-Notification: display"},
			IMDN{MessageID: "m1", Disposition: Display}, ""},
		{"undeclared imdn prefix", []string{"imdn.Message-ID: m1"}, IMDN{MessageID: "m1"}, ""},
		{"imdn bound elsewhere", []string{"NS: imdn <urn:example:other>", "imdn.Message-ID: m1"}, IMDN{}, ""},
		{"names in any case", []string{"NS: imdn <URN:IETF:PARAMS:IMDN>", "IMDN.message-id: m1", "imdn.DISPOSITION-NOTIFICATION: Positive-Delivery;x=y, bogus"},
			IMDN{MessageID: "m1", Disposition: PositiveDelivery}, ""},
		{"several disposition headers add up", []string{"imdn.Disposition-Notification: processing", "imdn.Disposition-Notification: negative-delivery"},
			IMDN{Disposition: Processing | NegativeDelivery}, ""},
		{"routes", []string{
			"imdn.Original-To: \"Bob\" <sip:bob@example.com>",
			"imdn.IMDN-Record-Route: <sip:as1@example.com>", "imdn.IMDN-Record-Route: <sip:as2@example.com>",
			"imdn.IMDN-Route: <sip:r@example.com>",
		}, IMDN{
			OriginalTo:  Address{Name: "Bob", URI: "sip:bob@example.com"},
			RecordRoute: []Address{{URI: "sip:as1@example.com"}, {URI: "sip:as2@example.com"}},
			Route:       []Address{{URI: "sip:r@example.com"}},
		}, ""},
		{"unprefixed Message-ID is not IMDN", []string{"Message-ID: m1"}, IMDN{}, ""},
		{"IMDN as the default namespace", []string{"NS: <urn:ietf:params:imdn>", "Message-ID: m1"}, IMDN{MessageID: "m1"}, ""},
		{"repeated Message-ID", []string{"imdn.Message-ID: m1", "imdn.Message-ID: m2"}, IMDN{}, "imdn.Message-ID"},
		{"Message-ID with space", []string{`imdn.Message-ID: a\u0020b`}, IMDN{}, "imdn.Message-ID"},
		{"bad Original-To", []string{"imdn.Original-To: <nope>"}, IMDN{}, "imdn.Original-To"},
		{"bad Record-Route", []string{"imdn.IMDN-Record-Route: x"}, IMDN{}, "imdn.IMDN-Record-Route"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseStrict([]byte(crlfText(tc.lines...) + head))
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.IMDN()
			if tc.field != "" {
				if fe := wantError[*FieldError](t, err); fe.Field != tc.field {
					t.Errorf("field %q, want %q", fe.Field, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("IMDN() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDisposition(t *testing.T) {
	tests := []struct {
		d    Disposition
		text string
	}{
		{0, ""},
		{PositiveDelivery, "positive-delivery"},
		{PositiveDelivery | NegativeDelivery, "positive-delivery, negative-delivery"},
		{Display | Processing | PositiveDelivery | NegativeDelivery, "positive-delivery, negative-delivery, processing, display"},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			if got := tc.d.String(); got != tc.text {
				t.Errorf("String() = %q", got)
			}
			if got := ParseDisposition(tc.text); got != tc.d {
				t.Errorf("ParseDisposition = %v", got)
			}
		})
	}
}

func TestWants(t *testing.T) {
	tests := []struct {
		name string
		d    Disposition
		k    Kind
		s    Status
		want bool
	}{
		{"delivered asked", PositiveDelivery, DeliveryNotification, StatusDelivered, true},
		{"delivered not asked", NegativeDelivery, DeliveryNotification, StatusDelivered, false},
		{"failed asked", NegativeDelivery, DeliveryNotification, StatusFailed, true},
		{"failed not asked", PositiveDelivery, DeliveryNotification, StatusFailed, false},
		{"forbidden is negative", NegativeDelivery, DeliveryNotification, StatusForbidden, true},
		{"displayed", Display, DisplayNotification, StatusDisplayed, true},
		{"display not asked", PositiveDelivery, DisplayNotification, StatusDisplayed, false},
		{"processing", Processing, ProcessingNotification, StatusStored, true},
		{"unknown kind", 0xff, 0, StatusDelivered, false},
		{"status of another kind", 0xff, DeliveryNotification, StatusDisplayed, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (IMDN{Disposition: tc.d}).Wants(tc.k, tc.s); got != tc.want {
				t.Errorf("Wants = %v", got)
			}
		})
	}
}

func TestSetIMDN(t *testing.T) {
	at := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		start   Message
		set     IMDN
		ns      []Namespace
		headers []Header
		err     string // the field of the expected *FieldError
	}{
		{"declares the namespace", Message{}, IMDN{MessageID: "m1", DateTime: at, Disposition: PositiveDelivery | Display},
			[]Namespace{{"imdn", IMDNNamespace}},
			[]Header{{Name: "imdn.Message-ID", Value: "m1"}, {Name: "imdn.Disposition-Notification", Value: "positive-delivery, display"}}, ""},
		{"replaces under the declared prefix", Message{
			NS:      []Namespace{{"foo", IMDNNamespace}},
			Headers: []Header{{Name: "foo.Message-ID", Value: "old"}, {Name: "X", Value: "kept"}, {Name: "foo.Other", Value: "kept"}},
		}, IMDN{MessageID: "new", OriginalTo: Address{URI: "sip:o@x.y"}, RecordRoute: []Address{{URI: "sip:rr@x.y"}}, Route: []Address{{URI: "sip:r@x.y"}}},
			[]Namespace{{"foo", IMDNNamespace}},
			[]Header{{Name: "X", Value: "kept"}, {Name: "foo.Other", Value: "kept"}, {Name: "foo.Message-ID", Value: "new"},
				{Name: "foo.Original-To", Value: "<sip:o@x.y>"}, {Name: "foo.IMDN-Record-Route", Value: "<sip:rr@x.y>"}, {Name: "foo.IMDN-Route", Value: "<sip:r@x.y>"}}, ""},
		{"message DateTime is enough", Message{DateTime: at}, IMDN{MessageID: "m1", Disposition: Display},
			[]Namespace{{"imdn", IMDNNamespace}}, []Header{{Name: "imdn.Message-ID", Value: "m1"}, {Name: "imdn.Disposition-Notification", Value: "display"}}, ""},
		{"prefix taken", Message{NS: []Namespace{{"imdn", "urn:example:x"}}}, IMDN{MessageID: "m1"}, nil, nil, "NS"},
		{"disposition without id", Message{}, IMDN{DateTime: at, Disposition: Display}, nil, nil, "imdn.Message-ID"},
		{"disposition without DateTime", Message{}, IMDN{MessageID: "m1", Disposition: Display}, nil, nil, "DateTime"},
		{"bad id", Message{}, IMDN{MessageID: "a b"}, nil, nil, "imdn.Message-ID"},
		{"bad route", Message{}, IMDN{MessageID: "m1", Route: []Address{{URI: "x"}}}, nil, nil, "imdn.IMDN-Route[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.start
			err := m.SetIMDN(tc.set)
			if tc.err != "" {
				if fe := wantError[*FieldError](t, err); fe.Field != tc.err {
					t.Errorf("field %q, want %q", fe.Field, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m.NS, tc.ns) || !reflect.DeepEqual(m.Headers, tc.headers) {
				t.Errorf("NS %+v\nHeaders %+v", m.NS, m.Headers)
			}
			got, err := m.IMDN()
			if err != nil {
				t.Fatal(err)
			}
			want := tc.set
			if want.DateTime.IsZero() {
				want.DateTime = tc.start.DateTime
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("read back %+v, want %+v", got, want)
			}
		})
	}
}

func TestWrap(t *testing.T) {
	at := time.Date(2024, 3, 1, 10, 0, 0, 0, time.FixedZone("", 3600))
	t.Run("golden", func(t *testing.T) {
		m, err := Wrap("sip:+4915112345678@sms.example.net", `"Bob" <sip:bob@rcs.example.com>`, "text/plain;charset=UTF-8",
			[]byte("Hello from SMS"), IMDN{MessageID: "Gz0cXvK1hN", DateTime: at, Disposition: PositiveDelivery | NegativeDelivery})
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "wrap.cpim", b)
	})
	t.Run("without IMDN", func(t *testing.T) {
		m, err := Wrap("sip:a@x.y", "sip:b@x.y", "text/plain", nil, IMDN{})
		if err != nil {
			t.Fatal(err)
		}
		if len(m.NS) != 0 || len(m.Headers) != 0 || !m.DateTime.IsZero() {
			t.Errorf("%+v", m)
		}
	})
	for _, tc := range []struct {
		name, from, to, ct string
		i                  IMDN
		field              string
	}{
		{"bad from", "alice", "sip:b@x.y", "text/plain", IMDN{}, "From"},
		{"bad to", "sip:a@x.y", "<>", "text/plain", IMDN{}, "To"},
		{"bad content type", "sip:a@x.y", "sip:b@x.y", "", IMDN{}, "Content-Type"},
		{"bad imdn", "sip:a@x.y", "sip:b@x.y", "text/plain", IMDN{Disposition: Display}, "imdn.Message-ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Wrap(tc.from, tc.to, tc.ct, nil, tc.i)
			if fe := wantError[*FieldError](t, err); fe.Field != tc.field {
				t.Errorf("field %q, want %q", fe.Field, tc.field)
			}
		})
	}
}

func TestNewMessageID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewMessageID()
		if !validToken(id) || len(id) < 26 || seen[id] {
			t.Fatalf("NewMessageID() = %q", id)
		}
		seen[id] = true
	}
}

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Address
		ok   bool
	}{
		{`"Alice" <sip:a@x.y>`, Address{"Alice", "sip:a@x.y"}, true},
		{`Alice Smith <sip:a@x.y>`, Address{"Alice Smith", "sip:a@x.y"}, true},
		{`<tel:+1555>`, Address{URI: "tel:+1555"}, true},
		{`tel:+1555`, Address{URI: "tel:+1555"}, true},
		{`"Alice" `, Address{}, false},
		{``, Address{}, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			a, err := ParseAddress(tc.in)
			if (err == nil) != tc.ok || a != tc.want {
				t.Errorf("ParseAddress = %+v, %v", a, err)
			}
			var fe *FieldError
			if err != nil && !errors.As(err, &fe) {
				t.Errorf("error type %T", err)
			}
		})
	}
}
