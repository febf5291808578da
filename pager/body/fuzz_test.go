package body

import (
	"errors"
	"testing"
	"unicode/utf8"

	"iwf/internal/cpim"
)

func seedVectors(f *testing.F) [][]byte {
	var out [][]byte
	for _, name := range []string{"rfc3862-example.cpim", "rfc5438-im.cpim", "latin1-lf-prefix.cpim", "latin1.txt", "utf16-bom.txt", "shift_jis.txt"} {
		out = append(out, readVector(f, name))
	}
	return out
}

// roomy is cpimOptions without the bounds, to read back what Marshal
// wrote: quoting and escaping may make a header part a little longer than
// the input's.
func roomy() cpim.ParseOptions {
	o := cpimOptions()
	o.MaxHeaderBytes, o.MaxHeaders = 1<<20, 1<<20
	return o
}

// FuzzCPIM checks the round trip of message/cpim as Decode reads it: a
// body the tolerant, bounded parse accepts is written by Marshal into one
// that parses to the same message and IMDN headers, and Marshal of that is
// a fixed point.
func FuzzCPIM(f *testing.F) {
	for _, b := range seedVectors(f) {
		f.Add(b)
	}
	f.Add([]byte("From: <a>\r\nDateTime: now\r\nimdn.Message-ID: x y\r\nimdn.Message-ID: m\r\n\r\nContent-Type: text/plain\r\n\r\nhi"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := cpimOptions().Parse(b)
		if err != nil {
			var pe *cpim.ParseError
			var le *cpim.LimitError
			if !errors.As(err, &pe) && !errors.As(err, &le) {
				t.Fatalf("untyped error %v", err)
			}
			if !errors.Is(cpimError(err), ErrMalformed) {
				t.Fatalf("%v does not map to a malformed body", err)
			}
			return
		}
		enc, err := m.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed message: %v", err)
		}
		again, err := roomy().Parse(enc)
		if err != nil {
			t.Fatalf("Parse(Marshal()) = %v for %q", err, enc)
		}
		if !sameMessage(m, again) {
			t.Fatalf("round trip changed %+v into %+v", m, again)
		}
		if enc2, err := again.Marshal(); err != nil || string(enc2) != string(enc) {
			t.Fatalf("Marshal is not a fixed point: %v", err)
		}
		i1, err1 := m.IMDN()
		i2, err2 := again.IMDN()
		if err1 != nil || err2 != nil || !sameIMDN(i1, i2) {
			t.Fatalf("IMDN changed: %+v, %v; %+v, %v", i1, err1, i2, err2)
		}
	})
}

// FuzzDecode checks that any Content-Type and body give either a typed
// error or valid UTF-8 text, and that a CPIM body re-encoded decodes to the
// same text and IMDN headers.
func FuzzDecode(f *testing.F) {
	for _, b := range seedVectors(f) {
		f.Add("message/cpim", b)
		f.Add("text/plain; charset=iso-8859-1", b)
		f.Add("text/plain; charset=utf-16", b)
	}
	f.Add("text/plain", []byte("hello"))
	f.Fuzz(func(t *testing.T, ct string, b []byte) {
		c, err := Decode(ct, b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !utf8.ValidString(c.Text) || c.MediaType != TextPlain {
			t.Fatalf("Decode gave %+v", c)
		}
		if c.CPIM != nil {
			enc, err := c.CPIM.Marshal()
			if err != nil {
				t.Fatalf("Marshal of a decoded wrapper: %v", err)
			}
			again, err := decodeCPIM(enc, roomy())
			if err != nil || again.Text != c.Text || !sameIMDN(again.IMDN, c.IMDN) {
				t.Fatalf("re-encoded CPIM decodes to %+v, %v; want %+v", again, err, c)
			}
		}
	})
}
