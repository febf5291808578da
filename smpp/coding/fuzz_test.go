package coding

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// fuzzRoundTrip checks both directions for coding c:
//   - b as encoded octets: Decode, Encode, Decode again gives the same text
//     (Encode of decoded text never fails: every decodable text fits);
//   - b as UTF-8 text: when Encode accepts it, Decode gives it back exactly.
func fuzzRoundTrip(t *testing.T, c Coding, b []byte) {
	if text, err := Decode(c, b); err == nil {
		enc, err := Encode(c, text)
		if err != nil {
			t.Fatalf("Encode(Decode(% x) = %q): %v", b, text, err)
		}
		again, err := Decode(c, enc)
		if err != nil || again != text {
			t.Fatalf("Decode(Encode(%q)) = %q, %v", text, again, err)
		}
	}
	enc, err := Encode(c, string(b))
	if err != nil {
		if c == Binary || (utf8.Valid(b) && c == UCS2) {
			t.Fatalf("Encode(%v, %q) failed: %v", c, b, err)
		}
		return
	}
	if n, err := Length(c, string(b)); err != nil || (c != UCS2 && n != len(enc)) || (c == UCS2 && 2*n != len(enc)) {
		t.Fatalf("Length(%v, %q) = %d, %v for %d encoded octets", c, b, n, err, len(enc))
	}
	text, err := Decode(c, enc)
	if err != nil || text != string(b) {
		t.Fatalf("Decode(Encode(%q)) = %q, %v", b, text, err)
	}
}

// seed adds every vector of coding c (text and octets) to f.
func seed(f *testing.F, kinds ...string) {
	for _, v := range loadVectors(f) {
		for _, k := range kinds {
			if v.kind == k {
				f.Add([]byte(v.text))
				f.Add(v.octet)
			}
		}
	}
}

func FuzzGSM7(f *testing.F) {
	seed(f, "gsm7")
	f.Add([]byte{0x1B, 0x1B, 0x1B})
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip(t, GSM7, b) })
}

func FuzzIA5(f *testing.F) {
	seed(f, "ia5")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip(t, IA5, b) })
}

func FuzzLatin1(f *testing.F) {
	seed(f, "latin1")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip(t, Latin1, b) })
}

func FuzzUCS2(f *testing.F) {
	seed(f, "ucs2")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip(t, UCS2, b) })
}

func FuzzBinary(f *testing.F) {
	seed(f, "binary")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip(t, Binary, b) })
}

// FuzzGSM7Packed checks packing: septets survive Pack/Unpack with their
// count, and unpacking without a count is stable: Unpack, Pack, Unpack
// again gives the same septets (TS 23.038 6.1.2.3.1 CR padding).
func FuzzGSM7Packed(f *testing.F) {
	for _, v := range loadVectors(f) {
		if v.kind == "gsm7packed" || v.kind == "gsm7packed1" {
			f.Add(v.octet, uint8(v.kind[len(v.kind)-1]-'0')%7)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, fill uint8) {
		fl := int(fill % 7)
		septets := make([]byte, len(b))
		for i, o := range b {
			septets[i] = o & 0x7F
		}
		packed, err := Pack(septets, fl)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Unpack(packed, fl, len(septets))
		if err != nil || !bytes.Equal(back, septets) {
			t.Fatalf("Unpack(Pack(% x), %d) = % x, %v", septets, fl, back, err)
		}
		first, err := Unpack(b, fl, -1)
		if err != nil {
			t.Fatal(err)
		}
		repacked, err := Pack(first, fl)
		if err != nil {
			t.Fatal(err)
		}
		second, err := Unpack(repacked, fl, -1)
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("Unpack(Pack(Unpack(% x))) = % x, %v; want % x", b, second, err, first)
		}
	})
}
