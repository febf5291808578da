package body

import (
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

func seedVectors(f *testing.F) [][]byte {
	var out [][]byte
	for _, name := range []string{"rfc3862-example.cpim", "rfc5438-im.cpim", "latin1-lf-prefix.cpim", "latin1.txt", "utf16-bom.txt", "shift_jis.txt"} {
		out = append(out, readVector(f, name))
	}
	return out
}

// FuzzParseCPIM checks the round trip: a body ParseCPIM accepts is written
// by Bytes into one that parses to the same headers and content, and
// Bytes of that is a fixed point.
func FuzzParseCPIM(f *testing.F) {
	for _, b := range seedVectors(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCPIM(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		enc := c.Bytes()
		again, err := ParseCPIM(enc)
		if err != nil {
			t.Fatalf("ParseCPIM(Bytes()) = %v for %q", err, enc)
		}
		if !reflect.DeepEqual(c.Headers, again.Headers) || !reflect.DeepEqual(c.ContentHeaders, again.ContentHeaders) || string(c.Body) != string(again.Body) {
			t.Fatalf("round trip changed %+v into %+v", c, again)
		}
		if string(again.Bytes()) != string(enc) {
			t.Fatalf("Bytes is not a fixed point")
		}
		if !reflect.DeepEqual(c.IMDN(), again.IMDN()) {
			t.Fatalf("IMDN changed")
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
			again, err := Decode(ct, c.CPIM.Bytes())
			if err != nil || again.Text != c.Text || !reflect.DeepEqual(again.IMDN, c.IMDN) {
				t.Fatalf("re-encoded CPIM decodes to %+v, %v; want %+v", again, err, c)
			}
		}
	})
}
