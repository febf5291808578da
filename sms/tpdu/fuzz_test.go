package tpdu

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// decoders are the ways a TPDU is read, one per place it travels.
var decoders = []struct {
	name   string
	decode func([]byte) (PDU, error)
}{
	{"rp-data mo", func(b []byte) (PDU, error) { return Decode(b, MO) }},
	{"rp-data mt", func(b []byte) (PDU, error) { return Decode(b, MT) }},
	{"submit-report ack", func(b []byte) (PDU, error) { return DecodeReport(b, MT, false) }},
	{"submit-report error", func(b []byte) (PDU, error) { return DecodeReport(b, MT, true) }},
	{"deliver-report ack", func(b []byte) (PDU, error) { return DecodeReport(b, MO, false) }},
	{"deliver-report error", func(b []byte) (PDU, error) { return DecodeReport(b, MO, true) }},
}

// FuzzDecodeTPDU reads the input every way a TPDU is read and checks that
// decoding never panics, that errors are *FieldError with a sentinel, and
// that a decoded TPDU encodes, decodes to the same value and encodes to
// the same octets again: decode(encode(decode(x))) is stable.
func FuzzDecodeTPDU(f *testing.F) {
	for _, v := range loadVectors(f) {
		if v.TPDU != nil {
			f.Add(v.TPDU)
		}
	}
	f.Add([]byte{0x41, 0xC3, 0x04, 0x42, 0x10, 0x20, 0x30, 0x40, 0x50, 0x00, 0x03, 0x00, 0x40, 0x10})
	f.Add([]byte{0x22, 0x01, 0x02, 0x91, 0x21, 0x42, 0x10, 0x20, 0x30, 0x40, 0x50, 0x00, 0x42, 0x10, 0x20, 0x30, 0x40, 0x60, 0x00, 0x46, 0x07, 0x00, 0x08, 0x02, 0x00, 0x41})
	f.Add([]byte{0x09, 0x00, 0x03, 0x80, 0x21, 0xF3, 0x41, 0xF4, 0x02, 0x3C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xDE, 0xAD})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, d := range decoders {
			p, err := d.decode(b)
			if err != nil {
				var fe *FieldError
				if !errors.As(err, &fe) || !(errors.Is(err, ErrTruncated) || errors.Is(err, ErrMalformed) || errors.Is(err, ErrUnsupported)) {
					t.Fatalf("%s: decode(% X): untyped error %v", d.name, b, err)
				}
				continue
			}
			enc, err := Encode(p)
			if err != nil {
				t.Fatalf("%s: Encode(decode(% X) = %#v): %v", d.name, b, p, err)
			}
			again, err := d.decode(enc)
			if err != nil {
				t.Fatalf("%s: decode(Encode(decode(% X))) = % X: %v", d.name, b, enc, err)
			}
			if !reflect.DeepEqual(again, p) {
				t.Fatalf("%s: decode(encode(p)) = %#v\np = %#v", d.name, again, p)
			}
			if enc2, err := Encode(again); err != nil || !bytes.Equal(enc2, enc) {
				t.Fatalf("%s: encoding unstable: % X then % X, %v", d.name, enc, enc2, err)
			}
		}
	})
}
