package cpim

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var rfc5438Time = time.Date(2008, 4, 4, 12, 16, 49, 0, time.FixedZone("", -5*3600))

func rfcNotification(k Kind, s Status) Notification {
	return Notification{
		MessageID: "34jk324j", DateTime: rfc5438Time,
		RecipientURI: "im:bob@example.com", OriginalRecipientURI: "im:bob@example.com",
		Kind: k, Status: s,
	}
}

func TestParseNotificationVectors(t *testing.T) {
	tests := []struct {
		file string
		want Notification
	}{
		{"rfc5438-delivered.xml", rfcNotification(DeliveryNotification, StatusDelivered)},
		{"rfc5438-failed.xml", rfcNotification(DeliveryNotification, StatusFailed)},
		{"rfc5438-displayed.xml", rfcNotification(DisplayNotification, StatusDisplayed)},
		{"rfc5438-processed.xml", rfcNotification(ProcessingNotification, StatusProcessed)},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			n, err := ParseNotification(vector(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if d := diffNotification(n, tc.want); d != "" {
				t.Fatal(d)
			}
			b, err := n.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseNotification(b)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffNotification(back, n); d != "" {
				t.Error(d)
			}
		})
	}
}

const imdnOpen = `<imdn xmlns="urn:ietf:params:xml:ns:imdn"><message-id>m1</message-id><datetime>2024-03-01T10:00:00Z</datetime>`

func TestParseNotificationAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Notification
	}{
		{"no declaration, recipient only, extensions skipped",
			`<imdn xmlns="urn:ietf:params:xml:ns:imdn" xmlns:x="urn:example:x" x:attr="1"><x:message-id>ignored</x:message-id>` +
				`<message-id> m1 </message-id><datetime>2024-03-01t10:00:00z</datetime><recipient-uri>tel:+1555</recipient-uri>` +
				`<delivery-notification><status><x:reason>queued</x:reason><delivered/></status><x:extra/></delivery-notification><x:after/></imdn>`,
			Notification{MessageID: "m1", DateTime: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC), RecipientURI: "tel:+1555", Kind: DeliveryNotification, Status: StatusDelivered}},
		{"prefixed namespace, US-ASCII, comments, subject kept as is",
			`<?xml version="1.0" encoding="US-ASCII"?><!-- c --><i:imdn xmlns:i="urn:ietf:params:xml:ns:imdn"><i:message-id>m1</i:message-id>` +
				`<i:datetime>2024-03-01T10:00:00Z</i:datetime><i:subject> Hi &amp; bye </i:subject>` +
				`<i:display-notification><i:status><i:forbidden/></i:status></i:display-notification></i:imdn><!-- end -->` + "\n",
			Notification{MessageID: "m1", DateTime: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC), Subject: " Hi & bye ", Kind: DisplayNotification, Status: StatusForbidden}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseNotification([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if d := diffNotification(n, tc.want); d != "" {
				t.Error(d)
			}
		})
	}
}

func TestParseNotificationErrors(t *testing.T) {
	deliveredEnd := `<delivery-notification><status><delivered/></status></delivery-notification></imdn>`
	tests := []struct {
		name   string
		in     string
		notOne bool // wraps ErrNotNotification
		says   string
	}{
		{"empty", "", true, "no root element"},
		{"not XML", "hello", true, "text before the root element"},
		{"broken XML", imdnOpen + "<delivery-notification>", false, "malformed XML"},
		{"other root", `<presence xmlns="urn:ietf:params:xml:ns:pidf"/>`, true, "root element <presence>"},
		{"no namespace", `<imdn><message-id>m1</message-id></imdn>`, true, `namespace ""`},
		{"DOCTYPE", `<!DOCTYPE imdn [<!ENTITY a "b">]>` + imdnOpen + deliveredEnd, false, "DOCTYPE"},
		{"other encoding", `<?xml version="1.0" encoding="ISO-8859-1"?>` + imdnOpen + deliveredEnd, false, "ISO-8859-1"},
		{"missing message-id", `<imdn xmlns="urn:ietf:params:xml:ns:imdn"><datetime>2024-03-01T10:00:00Z</datetime>` + deliveredEnd, false, "<message-id>: missing"},
		{"empty message-id", `<imdn xmlns="urn:ietf:params:xml:ns:imdn"><message-id> </message-id><datetime>2024-03-01T10:00:00Z</datetime>` + deliveredEnd, false, "<message-id>: empty"},
		{"repeated message-id", imdnOpen + `<message-id>m2</message-id>` + deliveredEnd, false, "<message-id>: repeated"},
		{"missing datetime", `<imdn xmlns="urn:ietf:params:xml:ns:imdn"><message-id>m1</message-id>` + deliveredEnd, false, "<datetime>: missing"},
		{"bad datetime", `<imdn xmlns="urn:ietf:params:xml:ns:imdn"><message-id>m1</message-id><datetime>today</datetime>` + deliveredEnd, false, "RFC 3339"},
		{"repeated subject", imdnOpen + `<subject>a</subject><subject>b</subject>` + deliveredEnd, false, "<subject>: repeated"},
		{"unknown imdn element", imdnOpen + `<colour>red</colour>` + deliveredEnd, false, "<colour>: unknown element"},
		{"no notification", imdnOpen + `</imdn>`, false, "no delivery-, display- or processing-notification"},
		{"two notifications", imdnOpen + `<display-notification><status><displayed/></status></display-notification>` + deliveredEnd, false, "more than one notification"},
		{"two delivery notifications", imdnOpen + `<delivery-notification><status><failed/></status></delivery-notification>` + deliveredEnd, false, "more than one notification"},
		{"no status", imdnOpen + `<delivery-notification></delivery-notification></imdn>`, false, "<status>: 0 in <delivery-notification>"},
		{"empty status", imdnOpen + `<delivery-notification><status/></delivery-notification></imdn>`, false, "<status>: empty"},
		{"two status values", imdnOpen + `<delivery-notification><status><delivered/><failed/></status></delivery-notification></imdn>`, false, "more than one value"},
		{"status of another kind", imdnOpen + `<delivery-notification><status><displayed/></status></delivery-notification></imdn>`, false, "<displayed> is not a status of <delivery-notification>"},
		{"unknown status", imdnOpen + `<processing-notification><status><lost/></status></processing-notification></imdn>`, false, "<lost> is not a status"},
		{"unknown element in notification", imdnOpen + `<delivery-notification><status><delivered/></status><why/></delivery-notification></imdn>`, false, "<why>: unknown element"},
		{"text after", imdnOpen + deliveredEnd + "junk", false, "text after the root element"},
		{"second root", imdnOpen + deliveredEnd + "<imdn/>", false, "content after the root element"},
		{"invalid UTF-8", imdnOpen + "<subject>\xff</subject>" + deliveredEnd, false, "malformed XML"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseNotification([]byte(tc.in))
			ne := wantError[*NotificationError](t, err, tc.says, "cpim: imdn")
			if errors.Is(err, ErrNotNotification) != tc.notOne {
				t.Errorf("errors.Is(ErrNotNotification) = %v", !tc.notOne)
			}
			if ne.MSRPStatus() != 400 || ne.SIPStatus() != 400 {
				t.Error("status")
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		_, err := ParseNotification([]byte(imdnOpen + strings.Repeat(" ", MaxNotificationBytes) + `</imdn>`))
		wantError[*LimitError](t, err, "notification bytes")
	})
}

func TestNotificationMarshal(t *testing.T) {
	n := rfcNotification(DeliveryNotification, StatusDelivered)
	n.Subject = "a < b & \"c\"\n"
	b, err := n.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<imdn xmlns="urn:ietf:params:xml:ns:imdn"><message-id>34jk324j</message-id><datetime>2008-04-04T12:16:49-05:00</datetime>` +
		`<recipient-uri>im:bob@example.com</recipient-uri><original-recipient-uri>im:bob@example.com</original-recipient-uri>` +
		`<subject>a &lt; b &amp; &#34;c&#34;&#xA;</subject>` +
		`<delivery-notification><status><delivered></delivered></status></delivery-notification></imdn>`
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	back, err := ParseNotification(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffNotification(back, n); d != "" {
		t.Error(d)
	}
}

func TestNotificationValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Notification)
		field string
	}{
		{"no message-id", func(n *Notification) { n.MessageID = "" }, "message-id"},
		{"padded message-id", func(n *Notification) { n.MessageID = " m1" }, "message-id"},
		{"control in uri", func(n *Notification) { n.RecipientURI = "sip:a\x01" }, "recipient-uri"},
		{"no datetime", func(n *Notification) { n.DateTime = time.Time{} }, "datetime"},
		{"year -1", func(n *Notification) { n.DateTime = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }, "datetime"},
		{"subject not XML", func(n *Notification) { n.Subject = "\x00" }, "subject"},
		{"no kind", func(n *Notification) { n.Kind = 0 }, "status"},
		{"status of another kind", func(n *Notification) { n.Status = StatusDisplayed }, "status"},
		{"no status", func(n *Notification) { n.Status = 0 }, "status"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := rfcNotification(DeliveryNotification, StatusDelivered)
			tc.edit(&n)
			_, err := n.Marshal()
			if fe := wantError[*FieldError](t, err); fe.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", fe.Field, tc.field, err)
			}
		})
	}
}

func TestKindAllows(t *testing.T) {
	allowed := map[Kind][]Status{
		DeliveryNotification:   {StatusDelivered, StatusFailed, StatusForbidden, StatusError},
		DisplayNotification:    {StatusDisplayed, StatusForbidden, StatusError},
		ProcessingNotification: {StatusProcessed, StatusStored, StatusForbidden, StatusError},
	}
	for k := Kind(0); k <= ProcessingNotification+1; k++ {
		for s := Status(0); s <= StatusStored+1; s++ {
			want := false
			for _, a := range allowed[k] {
				want = want || a == s
			}
			if got := k.Allows(s); got != want {
				t.Errorf("%v.Allows(%v) = %v", k, s, got)
			}
		}
	}
	if Kind(9).String() != "Kind(9)" || Status(9).String() != "Status(9)" {
		t.Error("String of unknown values")
	}
}

func TestNotificationMessage(t *testing.T) {
	orig, err := ParseStrict(vector(t, "rfc5438-im.cpim"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2008, 4, 4, 12, 16, 50, 0, time.FixedZone("", -5*3600))

	t.Run("delivered, golden", func(t *testing.T) {
		n, err := NewNotification(orig, DeliveryNotification, StatusDelivered)
		if err != nil {
			t.Fatal(err)
		}
		if d := diffNotification(n, Notification{MessageID: "34jk324j", DateTime: orig.DateTime,
			RecipientURI: "im:bob@example.com", OriginalRecipientURI: "im:bob@example.com",
			Kind: DeliveryNotification, Status: StatusDelivered}); d != "" {
			t.Fatal(d)
		}
		m, err := NotificationMessage(orig, n, "d834jied93rf", now)
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "delivery-notification.cpim", b)

		back, err := ParseStrict(b)
		if err != nil {
			t.Fatal(err)
		}
		if back.From != orig.To[0] || back.To[0] != orig.From || !back.IsNotification() ||
			back.ContentHeader("content-disposition") != "notification" {
			t.Errorf("envelope %+v", back)
		}
		i, _ := back.IMDN()
		if i.MessageID != "d834jied93rf" || i.Disposition != 0 || !sameTime(back.DateTime, now) {
			t.Errorf("IMDN %+v", i)
		}
		got, err := back.Notification()
		if err != nil {
			t.Fatal(err)
		}
		if d := diffNotification(got, n); d != "" {
			t.Error(d)
		}
	})

	t.Run("through intermediaries", func(t *testing.T) {
		m := *orig
		m.Headers = append(append([]Header(nil), orig.Headers...),
			Header{Name: "imdn.Original-To", Value: "<im:bob@old.example.com>"},
			Header{Name: "imdn.IMDN-Record-Route", Value: "<sip:as1@example.com>"},
			Header{Name: "imdn.IMDN-Record-Route", Value: "<sip:as2@example.com>"})
		n, err := NewNotification(&m, DisplayNotification, StatusDisplayed)
		if err != nil {
			t.Fatal(err)
		}
		if n.OriginalRecipientURI != "im:bob@old.example.com" || n.RecipientURI != "im:bob@example.com" {
			t.Errorf("%+v", n)
		}
		out, err := NotificationMessage(&m, n, "x1", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		i, _ := out.IMDN()
		if out.To[0].URI != "sip:as1@example.com" || len(i.Route) != 2 || i.Route[1].URI != "sip:as2@example.com" || !out.DateTime.IsZero() {
			t.Errorf("%+v / %+v", out, i)
		}
	})

	t.Run("errors", func(t *testing.T) {
		noID := &Message{From: orig.From, To: orig.To, DateTime: orig.DateTime, ContentType: "text/plain"}
		if _, err := NewNotification(noID, DeliveryNotification, StatusDelivered); !errors.Is(err, ErrNoMessageID) {
			t.Errorf("no Message-ID: %v", err)
		}
		noDate := &Message{Headers: []Header{{Name: "imdn.Message-ID", Value: "m"}}, ContentType: "text/plain"}
		if _, err := NewNotification(noDate, DeliveryNotification, StatusDelivered); err == nil {
			t.Error("no DateTime: no error")
		}
		if _, err := NewNotification(orig, DisplayNotification, StatusDelivered); err == nil {
			t.Error("status of another kind: no error")
		}
		n, _ := NewNotification(orig, DeliveryNotification, StatusFailed)
		if _, err := NotificationMessage(orig, n, "", now); err == nil {
			t.Error("no message id: no error")
		}
		noSender := *orig
		noSender.From = Address{}
		if _, err := NotificationMessage(&noSender, n, "x", now); err == nil {
			t.Error("no sender: no error")
		}
		noRecipient := *orig
		noRecipient.To = nil
		n.RecipientURI = ""
		if _, err := NotificationMessage(&noRecipient, n, "x", now); err == nil {
			t.Error("no recipient: no error")
		}
		if _, err := orig.Notification(); !errors.Is(err, ErrNotNotification) {
			t.Errorf("text/plain read as a notification: %v", err)
		}
	})
}

func TestMessageNotificationVector(t *testing.T) {
	m, err := ParseStrict(vector(t, "rfc5438-delivery-notification.cpim"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := m.Notification()
	if err != nil {
		t.Fatal(err)
	}
	if d := diffNotification(n, rfcNotification(DeliveryNotification, StatusDelivered)); d != "" {
		t.Error(d)
	}
	if i, _ := m.IMDN(); i.MessageID != "d834jied93rf" {
		t.Errorf("IMDN %+v", i)
	}
}
