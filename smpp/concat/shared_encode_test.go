package concat

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"iwf/internal/pctenc"
	"iwf/smpp/coding"
)

type memberVector struct {
	Name string
	In   string
	Err  bool
	Key  Key
	// Legacy: a member of the format before keys had a style.
	Legacy bool
}

type partVector struct {
	Name, Field, Value string // Value: hex
	Err                bool
	// Legacy: a value of the format before parts kept arrival and Meta.
	Legacy          bool
	Seq             int
	Coding          uint8
	Locking, Single uint8
	At              int64  // Unix microseconds, 0 for none
	Meta            string // hex
	Units           string // hex
}

type sharedVectors struct {
	Members []memberVector
	Parts   []partVector
}

func loadSharedVectors(tb testing.TB) sharedVectors {
	tb.Helper()
	b, err := os.ReadFile("testdata/shared-vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v sharedVectors
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatal(err)
	}
	return v
}

func unhexT(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestParseMember(t *testing.T) {
	for _, tc := range loadSharedVectors(t).Members {
		t.Run(tc.Name, func(t *testing.T) {
			k, err := parseMember(tc.In)
			tc.Key.legacy = tc.Legacy
			if tc.Err {
				if !errors.Is(err, errCorrupt) {
					t.Fatalf("parseMember(%q) = %+v, %v; want errCorrupt", tc.In, k, err)
				}
				return
			}
			if err != nil || k != tc.Key {
				t.Fatalf("parseMember(%q) = %+v, %v; want %+v", tc.In, k, err, tc.Key)
			}
			if back, err := parseMember(formatMember(k)); err != nil || back != k {
				t.Fatalf("round trip %+v: %+v, %v", k, back, err)
			}
		})
	}
}

func TestDecodePart(t *testing.T) {
	for _, tc := range loadSharedVectors(t).Parts {
		t.Run(tc.Name, func(t *testing.T) {
			p, err := decodePart(tc.Field, unhexT(t, tc.Value), tc.Legacy)
			if tc.Err {
				if !errors.Is(err, errCorrupt) {
					t.Fatalf("decodePart = %+v, %v; want errCorrupt", p, err)
				}
				return
			}
			want := Part{Seq: tc.Seq, Coding: coding.Coding(tc.Coding),
				Tables: coding.Tables{Locking: coding.Language(tc.Locking), Single: coding.Language(tc.Single)},
				Units:  unhexT(t, tc.Units), Meta: unhexT(t, tc.Meta)}
			if tc.At != 0 {
				want.At = time.UnixMicro(tc.At)
			}
			if err != nil || !partEqual(p, want) {
				t.Fatalf("decodePart = %+v, %v; want %+v", p, err, want)
			}
			if tc.Legacy {
				// Legacy values are read, never written.
				return
			}
			if f, v := encodePart(p); f != tc.Field || !slices.Equal(v, unhexT(t, tc.Value)) {
				t.Fatalf("encodePart = %q %x, want %q %s", f, v, tc.Field, tc.Value)
			}
		})
	}
}

func partEqual(a, b Part) bool {
	return a.Seq == b.Seq && a.Coding == b.Coding && a.Tables == b.Tables && slices.Equal(a.Units, b.Units) &&
		a.At.Equal(b.At) && slices.Equal(a.Meta, b.Meta)
}

// FuzzMember: whatever parses as a member formats back to a member that
// parses to the same key; and the escape reads back whatever text it is
// given.
func FuzzMember(f *testing.F) {
	for _, v := range loadSharedVectors(f).Members {
		f.Add(v.In)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if back, ok := unescape(pctenc.Escape(in, memberEscapes)); !ok || back != in {
			t.Fatalf("escape %q reads back as %q %v", in, back, ok)
		}
		k, err := parseMember(in)
		if err != nil {
			return
		}
		out := formatMember(k)
		back, err := parseMember(out)
		if err != nil || back != k {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", in, k, out, back, err)
		}
		if formatMember(back) != out {
			t.Fatalf("format not stable: %q", out)
		}
	})
}

// FuzzPart: a decodable field and value encode back to what decodes to the
// same part.
func FuzzPart(f *testing.F) {
	for _, v := range loadSharedVectors(f).Parts {
		if !v.Legacy {
			f.Add(v.Field, unhexT(f, v.Value))
		}
	}
	f.Fuzz(func(t *testing.T, field string, value []byte) {
		p, err := decodePart(field, value, false)
		if err != nil {
			return
		}
		ef, ev := encodePart(p)
		back, err := decodePart(ef, ev, false)
		if err != nil || !partEqual(back, p) {
			t.Fatalf("%q %x -> %+v -> %q %x -> %+v, %v", field, value, p, ef, ev, back, err)
		}
	})
}
