package cpim

import (
	"errors"
	"mime"
	"strings"
	"testing"
	"time"
)

// parseMediaTypeRef is what mediaType replaced: mime.ParseMediaType,
// letting unreadable parameters through.
func parseMediaTypeRef(s string) (string, bool) {
	mt, _, err := mime.ParseMediaType(s)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return "", false
	}
	if !strings.Contains(mt, "/") {
		return mt, false
	}
	return mt, true
}

var mediaTypeCases = []string{
	"text/plain", "text/plain;charset=UTF-8", "Text/Plain; charset=utf-8", " text/plain ",
	"message/imdn+xml", "message/cpim", "text/plain; charset", "text/plain;", "text/plain; ;",
	"text", "text/", "/plain", "text/plain/x", "text /plain", "text/plain x", "te(xt/plain",
	"text/plain; a=1; a=2", "text/plain; a=1; a=1", `text/plain; a="x;y"`, "text/plain; a*0=x; a*1=y",
	"", ";", " ", "\ttext/plain\r\n", "text/pl\x7fain", "text/pl\x00ain", "téxt/plain", "text/plain\u00a0",
	"\u0085text/plain", "text/plain;charset=\xff", "TEXT/PLAIN;X", "a/b;c=d", "*/*",
}

// TestMediaTypeMatchesMime pins mediaType to mime.ParseMediaType's reading.
func TestMediaTypeMatchesMime(t *testing.T) {
	for _, s := range mediaTypeCases {
		t.Run(s, func(t *testing.T) {
			wantMT, wantOK := parseMediaTypeRef(s)
			mt, ok := mediaType(s)
			if ok != wantOK || (ok && mt != wantMT) {
				t.Fatalf("mediaType(%q) = %q, %v; mime reads %q, %v", s, mt, ok, wantMT, wantOK)
			}
		})
	}
}

// FuzzMediaType checks mediaType against mime.ParseMediaType on any
// input.
func FuzzMediaType(f *testing.F) {
	for _, s := range mediaTypeCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		wantMT, wantOK := parseMediaTypeRef(s)
		mt, ok := mediaType(s)
		if ok != wantOK || (ok && mt != wantMT) {
			t.Fatalf("mediaType(%q) = %q, %v; mime reads %q, %v", s, mt, ok, wantMT, wantOK)
		}
	})
}

// TestValidMediaTypeAllocs pins the common content type's check at no
// allocation: it runs for every message wrapped or parsed.
func TestValidMediaTypeAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() {
		if !validMediaType("text/plain;charset=UTF-8") {
			t.Fatal("refused")
		}
	}); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}

// TestWrapMarshalAllocs pins what wrapping a text costs (every message
// into a session that wants CPIM): the message, its To, its NS, its
// headers and one buffer, which size gets right.
func TestWrapMarshalAllocs(t *testing.T) {
	body := []byte("Hello from SMS, a text of ordinary length for a pager message.")
	at := time.Date(2024, 3, 1, 10, 0, 0, 123456789, time.FixedZone("", 3600))
	wrap := func() *Message {
		m, err := Wrap("tel:+15551234567", "sip:bob@rcs.example.com", "text/plain;charset=UTF-8", body,
			IMDN{MessageID: "Gz0cXvK1hN", DateTime: at, Disposition: PositiveDelivery | NegativeDelivery | Display})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := wrap()
	if n := testing.AllocsPerRun(100, func() {
		if _, err := m.Marshal(); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Errorf("Marshal: %v allocations, want 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = wrap() }); n > 4 {
		t.Errorf("Wrap: %v allocations, want at most 4", n)
	}
}

// TestDispositionString pins the table String reads against the tokens
// joined one by one.
func TestDispositionString(t *testing.T) {
	for d := range Disposition(32) {
		var parts []string
		for bit := PositiveDelivery; bit <= Display; bit <<= 1 {
			if d&bit != 0 {
				parts = append(parts, dispositionName(bit))
			}
		}
		if got, want := d.String(), strings.Join(parts, ", "); got != want {
			t.Errorf("Disposition(%d) = %q, want %q", d, got, want)
		}
	}
}
