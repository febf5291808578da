package coding

import (
	"errors"
	"testing"
)

// TestDefaultAlphabetAgrees checks the table-driven Alphabet against the
// switch-driven default coding for every septet and escape sequence.
func TestDefaultAlphabetAgrees(t *testing.T) {
	a, err := NewAlphabet(Tables{})
	if err != nil {
		t.Fatal(err)
	}
	for s := 0; s < 0x80; s++ {
		for _, in := range [][]byte{{byte(s)}, {escape, byte(s)}} {
			want, err1 := Decode(GSM7, in)
			got, err2 := a.Decode(in)
			if got != want || (err1 == nil) != (err2 == nil) {
				t.Fatalf("Decode(% x): alphabet %q, default %q", in, got, want)
			}
			enc1, err1 := Encode(GSM7, want)
			enc2, err2 := a.AppendEncode(nil, want)
			if string(enc1) != string(enc2) || (err1 == nil) != (err2 == nil) {
				t.Fatalf("Encode(%q): alphabet % x, default % x", want, enc2, enc1)
			}
		}
	}
}

// TestNationalTablesConsistent checks every table: each character has one
// code, decoding that code gives the character, and a locking table keeps
// 128 distinct characters (the escape aside).
func TestNationalTablesConsistent(t *testing.T) {
	for _, tb := range []Tables{{0, 1}, {1, 1}, {1, 0}, {0, 2}, {0, 3}, {3, 3}, {3, 0}} {
		t.Run(tb.Locking.String()+"-"+tb.Single.String(), func(t *testing.T) {
			a, err := NewAlphabet(tb)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[rune]bool{}
			for s := range 0x80 {
				if s == escape {
					continue
				}
				r := a.basic[s]
				if seen[r] {
					t.Fatalf("locking table has %q twice", r)
				}
				seen[r] = true
			}
			for r, code := range a.enc {
				in := []byte{byte(code)}
				if code > 0xFF {
					in = []byte{escape, byte(code)}
				}
				got, err := a.Decode(in)
				if err != nil || got != string(r) {
					t.Fatalf("%q encodes to % x, which decodes to %q", r, in, got)
				}
			}
		})
	}
}

func TestNewAlphabetErrors(t *testing.T) {
	for _, tb := range []Tables{{Locking: Spanish}, {Locking: 4}, {Single: 14}} {
		if _, err := NewAlphabet(tb); !errors.Is(err, ErrUnsupported) {
			t.Errorf("NewAlphabet(%+v) error = %v", tb, err)
		}
	}
}

func TestNationalMisfit(t *testing.T) {
	a, err := NewAlphabet(Tables{Locking: Portuguese, Single: Portuguese})
	if err != nil {
		t.Fatal(err)
	}
	// The Portuguese locking table gives up è (0x04 is ê there).
	_, err = a.AppendEncode(nil, "très")
	var re *RuneError
	if !errors.As(err, &re) || re.Rune != 'è' || re.Offset != 2 {
		t.Fatalf("error = %v, want è at offset 2", err)
	}
	if _, err := a.Length("très"); !errors.Is(err, ErrUnencodable) {
		t.Fatalf("Length error = %v", err)
	}
	if _, err := a.AppendEncode(nil, "\xff"); !errors.Is(err, ErrInvalidUTF8) {
		t.Fatalf("invalid utf-8 error = %v", err)
	}
}

func TestChooseTables(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		langs []Language
		want  Tables
		ok    bool
	}{
		{name: "default fits", text: "hello €", langs: []Language{Turkish}, want: Tables{}, ok: true},
		{name: "turkish single", text: "Şişli", langs: []Language{Turkish}, want: Tables{Single: Turkish}, ok: true},
		{name: "spanish single", text: "Canción", langs: []Language{Turkish, Spanish}, want: Tables{Single: Spanish}, ok: true},
		{name: "portuguese needs locking", text: "1ª vez", langs: []Language{Portuguese}, want: Tables{Locking: Portuguese, Single: Portuguese}, ok: true},
		{name: "no language fits", text: "Canción", langs: []Language{Turkish}, ok: false},
		{name: "emoji never fits", text: "😀", langs: []Language{Turkish, Spanish, Portuguese}, ok: false},
		{name: "no languages", text: "ç", ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ChooseTables(tc.text, tc.langs)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("ChooseTables(%q) = %+v, %v; want %+v, %v", tc.text, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestParseLanguage(t *testing.T) {
	for l := Default; l <= Portuguese; l++ {
		if got, err := ParseLanguage(l.String()); err != nil || got != l {
			t.Errorf("ParseLanguage(%q) = %v, %v", l, got, err)
		}
	}
	if _, err := ParseLanguage("klingon"); err == nil {
		t.Error("ParseLanguage(klingon) succeeded")
	}
}

// FuzzNational round-trips every national table pair like fuzzRoundTrip.
func FuzzNational(f *testing.F) {
	for _, v := range loadVectors(f) {
		if a := alphabetOf(f, v.kind); a != nil {
			f.Add([]byte(v.text), uint8(a.tables.Locking), uint8(a.tables.Single))
			f.Add(v.octet, uint8(a.tables.Locking), uint8(a.tables.Single))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, lock, single uint8) {
		a, err := NewAlphabet(Tables{Locking: Language(lock % 4), Single: Language(single % 4)})
		if err != nil {
			return
		}
		if text, err := a.Decode(b); err == nil {
			enc, err := a.AppendEncode(nil, text)
			if err != nil {
				t.Fatalf("Encode(Decode(% x) = %q): %v", b, text, err)
			}
			if again, err := a.Decode(enc); err != nil || again != text {
				t.Fatalf("Decode(Encode(%q)) = %q, %v", text, again, err)
			}
		}
		if enc, err := a.AppendEncode(nil, string(b)); err == nil {
			if n, _ := a.Length(string(b)); n != len(enc) {
				t.Fatalf("Length %d, encoded %d", n, len(enc))
			}
			if text, err := a.Decode(enc); err != nil || text != string(b) {
				t.Fatalf("Decode(Encode(%q)) = %q, %v", b, text, err)
			}
		}
	})
}

func TestDecodeGSM7Tables(t *testing.T) {
	got, err := DecodeGSM7([]byte{0x1C, 0x69, 0x1B, 0x73}, Tables{Locking: Turkish, Single: Turkish})
	if err != nil || got != "Şiş" {
		t.Fatalf("DecodeGSM7 = %q, %v", got, err)
	}
	if got, err := DecodeGSM7([]byte{0x1C}, Tables{}); err != nil || got != "Æ" {
		t.Fatalf("DecodeGSM7 default = %q, %v", got, err)
	}
	if _, err := DecodeGSM7([]byte{0x41}, Tables{Locking: Spanish}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("DecodeGSM7 spanish locking error = %v", err)
	}
}
