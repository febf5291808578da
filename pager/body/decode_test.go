package body

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func readVector(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		ct      string
		body    []byte
		file    string
		text    string
		charset string
		imdn    IMDN
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
			imdn: IMDN{MessageID: "34jk324j", DispositionNotification: []string{"positive-delivery", "display"}, DateTime: "2006-04-04T12:16:49-05:00"}},
		{name: "cpim lf, ns prefix, latin-1", ct: "Message/CPIM", file: "latin1-lf-prefix.cpim", text: "café crème", charset: "iso-8859-1",
			imdn: IMDN{MessageID: "Kq3wz9", DispositionNotification: []string{"positive-delivery"}}},
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
		{name: "cpim default namespace", ct: "message/cpim", body: []byte("NS: <urn:ietf:params:imdn>\r\nMessage-ID: m1\r\n\r\nContent-Type: text/plain\r\n\r\nhi"), text: "hi", imdn: IMDN{MessageID: "m1"}},
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
			if c.Text != tc.text || c.Charset != tc.charset || c.MediaType != TextPlain || !reflect.DeepEqual(c.IMDN, tc.imdn) {
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

func TestParseCPIMLimits(t *testing.T) {
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
			if _, err := ParseCPIM([]byte(tc.body)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v, want malformed", err)
			}
		})
	}
}

func TestCPIMBytes(t *testing.T) {
	c, err := ParseCPIM(readVector(t, "rfc5438-im.cpim"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(c.Bytes()); got != string(readVector(t, "rfc5438-im.cpim")) {
		t.Fatalf("Bytes() = %q", got)
	}
	if c.ContentType() != "text/plain" || len(c.Headers) != 6 || len(c.ContentHeaders) != 2 {
		t.Fatalf("%+v", c)
	}
}
