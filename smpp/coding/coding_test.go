package coding

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestTablesInverse(t *testing.T) {
	for s := byte(0); s < 0x80; s++ {
		if s == escape {
			continue
		}
		r := basicRune(s)
		got, ok := basicSeptet(r)
		if !ok || got != s {
			t.Errorf("basicSeptet(basicRune(0x%02x)=%q) = 0x%02x, %v", s, r, got, ok)
		}
		if _, ok := extensionSeptet(r); ok {
			t.Errorf("%q is in both tables", r)
		}
		if e, ok := extensionRune(s); ok {
			if got, ok := extensionSeptet(e); !ok || got != s {
				t.Errorf("extensionSeptet(extensionRune(0x%02x)=%q) = 0x%02x, %v", s, e, got, ok)
			}
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		c      Coding
		text   string
		rune   rune
		offset int
		want   error
	}{
		{name: "gsm7 c-cedilla small", c: GSM7, text: "garçon", rune: 'ç', offset: 3, want: ErrUnencodable},
		{name: "gsm7 emoji", c: GSM7, text: "hi 😀", rune: '😀', offset: 3, want: ErrUnencodable},
		{name: "gsm7 backtick", c: GSM7, text: "a`", rune: '`', offset: 1, want: ErrUnencodable},
		{name: "latin1 euro", c: Latin1, text: "5€", rune: '€', offset: 1, want: ErrUnencodable},
		{name: "ia5 e-acute", c: IA5, text: "café", rune: 'é', offset: 3, want: ErrUnencodable},
		{name: "gsm7 bad utf8", c: GSM7, text: "ab\xffc", want: ErrInvalidUTF8},
		{name: "ucs2 bad utf8", c: UCS2, text: "\xed\xa0\x80", want: ErrInvalidUTF8},
		{name: "latin1 bad utf8", c: Latin1, text: "\xc3", want: ErrInvalidUTF8},
		{name: "unsupported", c: Coding(0x05), text: "x", want: ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encode(tc.c, tc.text)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Encode(%v, %q) error = %v, want %v", tc.c, tc.text, err, tc.want)
			}
			if tc.want != ErrUnencodable {
				return
			}
			var re *RuneError
			if !errors.As(err, &re) || re.Rune != tc.rune || re.Offset != tc.offset || re.Coding != tc.c {
				t.Fatalf("error = %#v, want rune %q at %d", err, tc.rune, tc.offset)
			}
			if !strings.Contains(err.Error(), "coding: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		c      Coding
		in     []byte
		offset int
	}{
		{name: "gsm7 high octet", c: GSM7, in: []byte{0x41, 0x80}, offset: 1},
		{name: "gsm7 high after escape", c: GSM7, in: []byte{0x1B, 0xE5}, offset: 1},
		{name: "ia5 high octet", c: IA5, in: []byte{'a', 'b', 0xC3}, offset: 2},
		{name: "ucs2 odd length", c: UCS2, in: []byte{0x00, 0x41, 0x00}, offset: 2},
		{name: "ucs2 lone low surrogate", c: UCS2, in: []byte{0x00, 0x41, 0xDC, 0x00}, offset: 2},
		{name: "ucs2 high surrogate at end", c: UCS2, in: []byte{0xD8, 0x3D}, offset: 0},
		{name: "ucs2 high then letter", c: UCS2, in: []byte{0xD8, 0x3D, 0x00, 0x41}, offset: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.c, tc.in)
			var oe *OctetError
			if !errors.As(err, &oe) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode(%v, % x) error = %v, want an OctetError", tc.c, tc.in, err)
			}
			if oe.Offset != tc.offset {
				t.Fatalf("offset = %d, want %d (%v)", oe.Offset, tc.offset, err)
			}
		})
	}
	if _, err := Decode(Coding(0x06), []byte("x")); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Decode(cyrillic) error = %v, want ErrUnsupported", err)
	}
}

// TS 23.038 6.2.1.1 tells receivers what to show for escape sequences the
// extension table does not define.
func TestDecodeGSM7Escapes(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{name: "undefined extension shows default char", in: []byte{0x1B, 0x41, 0x42}, want: "AB"},
		{name: "double escape shows space", in: []byte{'a', 0x1B, 0x1B, 'b'}, want: "a b"},
		{name: "trailing escape shows space", in: []byte{'a', 0x1B}, want: "a "},
		{name: "escape to euro", in: []byte{0x1B, 0x65}, want: "€"},
		{name: "page break", in: []byte{0x1B, 0x0A}, want: "\f"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(GSM7, tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("Decode(% x) = %q, %v, want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestLength(t *testing.T) {
	tests := []struct {
		name string
		c    Coding
		text string
		want int
		err  bool
	}{
		{name: "gsm7 plain", c: GSM7, text: "hello", want: 5},
		{name: "gsm7 extension counts two", c: GSM7, text: "5€ {x}", want: 9},
		{name: "gsm7 greek", c: GSM7, text: "ΔΦΓ", want: 3},
		{name: "gsm7 misfit", c: GSM7, text: "ç", err: true},
		{name: "ucs2 bmp", c: UCS2, text: "héllo€", want: 6},
		{name: "ucs2 astral counts two", c: UCS2, text: "a😀", want: 3},
		{name: "latin1", c: Latin1, text: "ÿé", want: 2},
		{name: "latin1 misfit", c: Latin1, text: "€", err: true},
		{name: "ia5", c: IA5, text: "{}", want: 2},
		{name: "binary octets", c: Binary, text: "\xff\x00é", want: 4},
		{name: "bad utf8", c: UCS2, text: "\xff", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Length(tc.c, tc.text)
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("Length(%v, %q) = %d, %v; want %d, error %v", tc.c, tc.text, got, err, tc.want, tc.err)
			}
			if err != nil {
				return
			}
			enc, err := Encode(tc.c, tc.text)
			if err != nil {
				t.Fatal(err)
			}
			units := len(enc)
			if tc.c == UCS2 {
				units /= 2
			}
			if units != got {
				t.Fatalf("Length = %d but Encode gives %d units", got, units)
			}
		})
	}
}

func TestChoose(t *testing.T) {
	tests := []struct {
		name, text string
		want       Coding
	}{
		{name: "ascii", text: "See you at 5", want: GSM7},
		{name: "extension chars", text: "cost: 5€ [approx] {ok} ~ | \\ ^", want: GSM7},
		{name: "greek capitals", text: "ΔΦΓΛΩΠΨΣΘΞ", want: GSM7},
		{name: "empty", text: "", want: GSM7},
		{name: "c-cedilla small", text: "ça va", want: UCS2},
		{name: "greek small", text: "αβγ", want: UCS2},
		{name: "emoji", text: "ok 👍", want: UCS2},
		{name: "backtick", text: "`", want: UCS2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Choose(tc.text); got != tc.want {
				t.Fatalf("Choose(%q) = %v, want %v", tc.text, got, tc.want)
			}
		})
	}
}

func TestFromDataCoding(t *testing.T) {
	tests := []struct {
		dc   byte
		want Coding
		err  bool
	}{
		{0x00, GSM7, false}, {0x01, IA5, false}, {0x02, Binary, false}, {0x03, Latin1, false},
		{0x04, Binary, false}, {0x08, UCS2, false}, {0xF0, GSM7, false}, {0xF3, GSM7, false},
		{0xF4, Binary, false}, {0xF7, Binary, false}, {0x05, 0, true}, {0x06, 0, true}, {0x0E, 0, true},
		{0x10, GSM7, false}, {0x13, GSM7, false}, {0x14, Binary, false}, {0x18, UCS2, false}, {0xD1, GSM7, false}, {0xE8, UCS2, false}, {0x24, 0, true},
	}
	for _, tc := range tests {
		t.Run(Coding(tc.dc).String(), func(t *testing.T) {
			got, err := FromDataCoding(tc.dc)
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("FromDataCoding(0x%02x) = %v, %v; want %v, error %v", tc.dc, got, err, tc.want, tc.err)
			}
		})
	}
}

// TestPackPadding checks the CR rules of TS 23.038 6.1.2.3.1 and the
// explicit-count form.
func TestPackPadding(t *testing.T) {
	tests := []struct {
		name     string
		septets  string
		fill     int
		packed   string
		inferred string
	}{
		{name: "seven septets get a CR pad", septets: "1234567", packed: "31d98c56b3dd1a", inferred: "1234567"},
		{name: "eight septets fill the octets", septets: "12345678", packed: "31d98c56b3dd70", inferred: "12345678"},
		{name: "wanted CR on a boundary gets a second CR", septets: "1234567\r", packed: "31d98c56b3dd1a0d", inferred: "1234567\r\r"},
		{name: "fill 1 eight septets pad", septets: "abcdefgh", fill: 1, packed: "c2e231b96c3ea31b", inferred: "abcdefgh"},
		{name: "eight septets ending in @ get a CR", septets: "1234567\x00", packed: "31d98c56b3dd000d", inferred: "1234567\x00\r"},
		{name: "fifteen septets ending in @ are CR padded", septets: "12345678901234\x00", packed: "31d98c56b3dd7039584c36a3011a", inferred: "12345678901234\x00"},
		{name: "@ off a boundary stays", septets: "123\x00", packed: "31d90c00", inferred: "123\x00"},
		{name: "CR off a boundary stays", septets: "123\r", packed: "31d9ac01", inferred: "123\r"},
		{name: "fill 1 wanted CR on a boundary", septets: "abcdefgh\r", fill: 1, packed: "c2e231b96c3ea31b0d", inferred: "abcdefgh\r\r"},
		{name: "empty", septets: "", packed: "", inferred: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			packed, err := Pack([]byte(tc.septets), tc.fill)
			if err != nil {
				t.Fatal(err)
			}
			if got := hexOf(packed); got != tc.packed {
				t.Fatalf("Pack = %s, want %s", got, tc.packed)
			}
			got, err := Unpack(packed, tc.fill, -1)
			if err != nil || string(got) != tc.inferred {
				t.Fatalf("Unpack(count -1) = %q, %v; want %q", got, err, tc.inferred)
			}
			got, err = Unpack(packed, tc.fill, len(tc.septets))
			if err != nil || string(got) != tc.septets {
				t.Fatalf("Unpack(count %d) = %q, %v; want %q", len(tc.septets), got, err, tc.septets)
			}
		})
	}
}

// TestUnpackForeignPadding reads packings of other encoders: seven zero
// spare bits are padding, never an '@' (TS 23.038 6.1.2.3.1 makes them a
// CR only for count-less carriers; packers that count leave zeros).
func TestUnpackForeignPadding(t *testing.T) {
	tests := []struct {
		name   string
		packed string
		fill   int
		want   string
	}{
		{name: "seven septets zero padded", packed: "31d98c56b3dd00", want: "1234567"},
		{name: "seven septets CR padded", packed: "31d98c56b3dd1a", want: "1234567"},
		{name: "fill 1 eight septets zero padded", packed: "62b219ad66bbe100", fill: 1, want: "12345678"},
		{name: "one septet, no spare", packed: "41", want: "A"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := hex.DecodeString(tc.packed)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Unpack(b, tc.fill, -1)
			if err != nil || string(got) != tc.want {
				t.Fatalf("Unpack(%s, %d) = %q, %v; want %q", tc.packed, tc.fill, got, err, tc.want)
			}
		})
	}
}

func TestPackErrors(t *testing.T) {
	if _, err := Pack([]byte{0x80}, 0); !errors.Is(err, ErrMalformed) {
		t.Errorf("Pack(0x80) error = %v", err)
	}
	if _, err := Pack([]byte{1}, 7); !errors.Is(err, ErrMalformed) {
		t.Errorf("Pack(fill 7) error = %v", err)
	}
	if _, err := Unpack([]byte{1}, -1, -1); !errors.Is(err, ErrMalformed) {
		t.Errorf("Unpack(fill -1) error = %v", err)
	}
	if _, err := Unpack([]byte{1, 2}, 0, 3); !errors.Is(err, ErrMalformed) {
		t.Errorf("Unpack(2 octets, 3 septets) error = %v", err)
	}
	if got, err := Unpack(nil, 6, -1); err != nil || len(got) != 0 {
		t.Errorf("Unpack(nil, fill 6) = %v, %v", got, err)
	}
}

func TestFillBits(t *testing.T) {
	for udh, want := range map[int]int{0: 0, 6: 1, 7: 0, 3: 4, 12: 2, 140: 0} {
		if got := FillBits(udh); got != want {
			t.Errorf("FillBits(%d) = %d, want %d", udh, got, want)
		}
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, o := range b {
		out = append(out, digits[o>>4], digits[o&15])
	}
	return string(out)
}

func TestFold(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "quotes", in: "‘it’s’ “so”", want: `'it's' "so"`},
		{name: "dashes", in: "a–b—c−d", want: "a-b-c-d"},
		{name: "ellipsis", in: "wait…", want: "wait..."},
		{name: "spaces", in: "10\u00a0km\u202f/h\u2009!", want: "10 km /h !"},
		{name: "invisible", in: "co\u00adop\u200b\ufeff", want: "coop"},
		{name: "plain text untouched", in: "Hello €uro @ 5", want: "Hello €uro @ 5"},
		{name: "emoji untouched", in: "hi 👍🏽", want: "hi 👍🏽"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Fold(tc.in)
			if got != tc.want {
				t.Fatalf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
			}
			for _, c := range []Coding{GSM7, Latin1} {
				if _, err := Length(c, Fold(tc.in+"x")); err != nil && tc.name != "plain text untouched" && tc.name != "emoji untouched" {
					t.Errorf("Fold(%q) does not fit %v: %v", tc.in, c, err)
				}
			}
		})
	}
}
