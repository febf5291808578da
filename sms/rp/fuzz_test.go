package rp

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeRP checks that Decode never panics, that every error is a
// *FieldError with a sentinel, and that what decodes encodes to octets
// that decode to the same message and encode to the same octets.
func FuzzDecodeRP(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.RP)
	}
	f.Add([]byte{0x05, 0x01, 0x02, 0x2A, 0x22, 0x41, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !(errors.Is(err, ErrTruncated) || errors.Is(err, ErrMalformed)) {
				t.Fatalf("Decode(% X): untyped error %v", b, err)
			}
			return
		}
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode(Decode(% X) = %#v): %v", b, m, err)
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(% X))) = %v", b, err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("Decode(Encode(m)) = %#v\nm = %#v", again, m)
		}
		if enc2, err := Encode(again); err != nil || !bytes.Equal(enc2, enc) {
			t.Fatalf("encoding unstable: % X then % X, %v", enc, enc2, err)
		}
	})
}
