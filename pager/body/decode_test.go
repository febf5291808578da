package body

import (
	"bytes"
	"errors"
	"flag"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"iwf/internal/cpim"
	"iwf/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func readVector(tb testing.TB, name string) []byte {
	tb.Helper()
	return testutil.ReadFile(tb, filepath.Join("testdata", name))
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", "golden", name), got, *update)
}

// sameIMDN reports whether a and b hold the same IMDN headers, DateTime
// as the same instant with the same UTC offset.
func sameIMDN(a, b cpim.IMDN) bool {
	_, oa := a.DateTime.Zone()
	_, ob := b.DateTime.Zone()
	if !a.DateTime.Equal(b.DateTime) || oa != ob {
		return false
	}
	a.DateTime, b.DateTime = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		ct      string
		body    []byte
		file    string
		text    string
		charset string
		imdn    cpim.IMDN
		status  int // expected SIPStatus of the error, 0 for success
	}{
		{name: "utf-8 default", ct: "text/plain", body: []byte("héllo 👋"), text: "héllo 👋"},
		{name: "utf-8 quoted and upper case", ct: `Text/Plain; charset="UTF-8"`, body: []byte("ok"), text: "ok", charset: "utf-8"},
		{name: "us-ascii", ct: "text/plain;charset=us-ascii", body: []byte("plain"), text: "plain", charset: "us-ascii"},
		{name: "latin-1", ct: "text/plain; charset=ISO-8859-1", file: "latin1.txt", text: "café crème £1", charset: "iso-8859-1"},
		{name: "windows-1252 euro", ct: "text/plain; charset=windows-1252", body: []byte("\x80 5"), text: "€ 5", charset: "windows-1252"},
		{name: "utf-16 with bom", ct: "text/plain; charset=UTF-16", file: "utf16-bom.txt", text: "Hi 😀", charset: "utf-16"},
		{name: "shift_jis", ct: "text/plain; charset=Shift_JIS", file: "shift_jis.txt", text: "こんにちは", charset: "shift_jis"},
		{name: "rfc 5438 im", ct: "message/cpim", file: "rfc5438-im.cpim", text: "Hello World\r\n",
			imdn: cpim.IMDN{MessageID: "34jk324j", Disposition: cpim.PositiveDelivery | cpim.Display, DateTime: time.Date(2006, 4, 4, 12, 16, 49, 0, time.FixedZone("", -5*3600))}},
		{name: "cpim lf, ns prefix, latin-1", ct: "Message/CPIM", file: "latin1-lf-prefix.cpim", text: "café crème", charset: "iso-8859-1",
			imdn: cpim.IMDN{MessageID: "Kq3wz9", Disposition: cpim.PositiveDelivery}},
		{name: "rfc 3862 example is text/xml", ct: "message/cpim", file: "rfc3862-example.cpim", status: 415},
		{name: "unknown charset", ct: "text/plain; charset=x-klingon", body: []byte("a"), status: 415},
		{name: "invalid utf-8", ct: "text/plain", body: []byte("ab\xffc"), status: 400},
		{name: "html", ct: "text/html", body: []byte("<p>"), status: 415},
		{name: "imdn report alone", ct: "message/imdn+xml", body: []byte("<imdn/>"), status: 415},
		{name: "malformed content type", ct: "text/", body: []byte("a"), status: 400},
		{name: "empty content type", ct: "", body: []byte("a"), status: 400},
		{name: "cpim base64", ct: "message/cpim", body: []byte("From: <a>\r\n\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGk="), status: 415},
		{name: "cpim without content type", ct: "message/cpim", body: []byte("From: <a>\r\n\r\nContent-ID: <x>\r\n\r\nhi"), status: 400},
		{name: "cpim bad inner content type", ct: "message/cpim", body: []byte("From: <a>\r\n\r\nContent-Type: text/\r\n\r\nhi"), status: 400},
		{name: "cpim inner unknown charset", ct: "message/cpim", body: []byte("From: <a>\r\n\r\nContent-Type: text/plain; charset=x-none\r\n\r\nhi"), status: 415},
		{name: "cpim no blank line", ct: "message/cpim", body: []byte("From: <a>\r\nContent-Type: text/plain\r\n"), status: 400},
		{name: "cpim only message headers", ct: "message/cpim", body: []byte("From: <a>\r\n\r\n"), status: 400},
		{name: "cpim garbage line", ct: "message/cpim", body: []byte("hello world\r\n\r\n"), status: 400},
		{name: "cpim control character", ct: "message/cpim", body: []byte("From: <a\x01>\r\n\r\nContent-Type: text/plain\r\n\r\nhi"), status: 400},
		{name: "cpim default namespace", ct: "message/cpim", body: []byte("NS: <urn:ietf:params:imdn>\r\nMessage-ID: m1\r\n\r\nContent-Type: text/plain\r\n\r\nhi"), text: "hi", imdn: cpim.IMDN{MessageID: "m1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if tc.file != "" {
				body = readVector(t, tc.file)
			}
			c, err := Decode(tc.ct, body)
			if tc.status != 0 {
				var sc interface{ SIPStatus() int }
				if !errors.As(err, &sc) || sc.SIPStatus() != tc.status {
					t.Fatalf("error %v, want status %d", err, tc.status)
				}
				if !strings.HasPrefix(err.Error(), "body: ") {
					t.Fatalf("error %q lacks the package prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Text != tc.text || c.Charset != tc.charset || c.MediaType != TextPlain || !sameIMDN(c.IMDN, tc.imdn) {
				t.Fatalf("got %q charset %q imdn %+v; want %q %q %+v", c.Text, c.Charset, c.IMDN, tc.text, tc.charset, tc.imdn)
			}
			if (c.CPIM != nil) != strings.Contains(strings.ToLower(tc.ct), "cpim") {
				t.Fatalf("CPIM wrapper %v for %s", c.CPIM, tc.ct)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	_, err := Decode("text/plain", []byte("abc\xe2\x82"))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Offset != 3 || !errors.Is(err, ErrMalformed) {
		t.Fatalf("%v", err)
	}
	_, err = Decode("application/json", nil)
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.What != "media type" || ue.Value != "application/json" || !errors.Is(err, ErrUnsupported) {
		t.Fatalf("%v", err)
	}
	if err.Error() != `body: unsupported media type "application/json"` {
		t.Fatal(err)
	}
}

// TestDecodeCPIMBounds: a message/cpim header part over the bounds, or
// one that is not a header part, is malformed (400).
func TestDecodeCPIMBounds(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"too many headers", strings.Repeat("X-A: 1\r\n", 65) + "\r\nContent-Type: text/plain\r\n\r\n"},
		{"long line", "X-A: " + strings.Repeat("a", 5000) + "\r\n\r\nContent-Type: text/plain\r\n\r\n"},
		{"no line end", "From: <a>"},
		{"empty name", ": v\r\n\r\n\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(CPIMType, []byte(tc.body))
			var pe *ParseError
			if !errors.Is(err, ErrMalformed) || !errors.As(err, &pe) || pe.SIPStatus() != 400 {
				t.Fatalf("error %v, want malformed", err)
			}
		})
	}
	t.Run("just within", func(t *testing.T) {
		in := strings.Repeat("X-A: 1\r\n", 63) + "\r\nContent-Type: text/plain\r\n\r\nhi"
		if _, err := Decode(CPIMType, []byte(in)); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDecodeCPIMTolerant: envelope headers a pager client may break do not
// cost the message, as long as the content and the IMDN headers read.
func TestDecodeCPIMTolerant(t *testing.T) {
	in := "From: Alice\r\n" +
		"To: +447700900123\r\n" +
		"DateTime: Tue, 1 May 2024 10:00:00 GMT\r\n" +
		"Subject: caf\xe9\r\n" +
		"imdn.Message-ID: m 1\r\n" +
		"imdn.Message-ID: m2\r\n" +
		"imdn.Disposition-Notification: Negative-Delivery\r\n" +
		"\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		"hi"
	c, err := Decode(CPIMType, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if c.Text != "hi" || !sameIMDN(c.IMDN, cpim.IMDN{MessageID: "m2", Disposition: cpim.NegativeDelivery}) {
		t.Fatalf("%q %+v", c.Text, c.IMDN)
	}
	if !c.CPIM.From.IsZero() || len(c.CPIM.To) != 0 || c.CPIM.Subject[0].Text != "caf\uFFFD" {
		t.Fatalf("%+v", c.CPIM)
	}
}

// TestCPIMMarshal: the wrapper Decode keeps writes in the codec's form
// (core headers first, registered names, CRLF) and reads back the same.
func TestCPIMMarshal(t *testing.T) {
	c, err := Decode(CPIMType, readVector(t, "rfc5438-im.cpim"))
	if err != nil {
		t.Fatal(err)
	}
	m := c.CPIM
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "rfc5438-im.cpim", b)
	again, err := Decode(CPIMType, b)
	if err != nil || !sameMessage(m, again.CPIM) || again.Text != c.Text || !sameIMDN(again.IMDN, c.IMDN) {
		t.Fatalf("%+v, %v; want %+v", again.CPIM, err, m)
	}
	// From, To, NS, imdn.Message-ID, DateTime, imdn.Disposition-Notification;
	// Content-type, Content-length.
	headers := len(m.To) + len(m.NS) + len(m.Headers)
	if !m.From.IsZero() {
		headers++
	}
	if !m.DateTime.IsZero() {
		headers++
	}
	if m.MediaType() != TextPlain || headers != 6 || len(m.ContentHeaders)+1 != 2 {
		t.Fatalf("%+v", m)
	}
}

// sameMessage reports whether a and b are the same message/cpim document.
func sameMessage(a, b *cpim.Message) bool {
	ca, cb := *a, *b
	_, oa := ca.DateTime.Zone()
	_, ob := cb.DateTime.Zone()
	if !ca.DateTime.Equal(cb.DateTime) || oa != ob || !bytes.Equal(ca.Body, cb.Body) {
		return false
	}
	ca.DateTime, cb.DateTime = time.Time{}, time.Time{}
	ca.Body, cb.Body = nil, nil
	return reflect.DeepEqual(ca, cb)
}

// An IMDN in CPIM (RFC 5438 section 7.2.1.1), which RCS clients send as
// a MESSAGE about a standalone message, is read as a notification, not
// refused 415 as content other than text.
func TestDecodeNotification(t *testing.T) {
	c, err := Decode("message/cpim", readVector(t, "rfc5438-delivery-notification.cpim"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Notification == nil || c.MediaType != cpim.NotificationType || c.Text != "" {
		t.Fatalf("content %+v", c)
	}
	if n := c.Notification; n.MessageID != "34jk324j" || n.Kind != cpim.DeliveryNotification || n.Status != cpim.StatusDelivered {
		t.Fatalf("notification %+v", n)
	}
	if c.IMDN.MessageID != "d834jied93rf" {
		t.Fatalf("imdn.Message-ID %q", c.IMDN.MessageID)
	}
	bad := []byte("From: <im:bob@example.com>\r\n\r\nContent-Type: message/imdn+xml\r\n\r\n<imdn/>")
	if _, err := Decode("message/cpim", bad); err == nil {
		t.Fatal("a broken imdn decoded")
	} else if pe := (*ParseError)(nil); !errors.As(err, &pe) {
		t.Fatalf("broken imdn: %v, want a *ParseError", err)
	}
}
