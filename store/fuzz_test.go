package store

import (
	"testing"
)

// FuzzMember: whatever parses as a reassembly index member formats back
// to a member that parses to the same key.
func FuzzMember(f *testing.F) {
	for _, v := range loadVectors(f).Members {
		f.Add(v.In)
	}
	f.Fuzz(func(t *testing.T, in string) {
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

// FuzzPart: a decodable hash field and value encode back to what decodes
// to the same part.
func FuzzPart(f *testing.F) {
	for _, v := range loadVectors(f).Parts {
		f.Add(v.Field, []byte(unhexT(f, v.Value)))
	}
	f.Fuzz(func(t *testing.T, field string, value []byte) {
		p, err := decodePart(field, string(value))
		if err != nil {
			return
		}
		ef, ev := encodePart(p)
		back, err := decodePart(ef, ev)
		if err != nil || !partEqual(back, p) {
			t.Fatalf("%q %x -> %+v -> %q %x -> %+v, %v", field, value, p, ef, ev, back, err)
		}
	})
}

// FuzzEscape: unescape(escape(s)) is s, and an escaped tag never holds a
// brace, so a conversation cannot end its hash tag early.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"demo|+4611|+4622", "a{b}c", "%", "%7B", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tag := escape(s, tagEscapes)
		if back, ok := unescape(tag); !ok || back != s {
			t.Fatalf("%q -> %q -> %q %v", s, tag, back, ok)
		}
		for i := 0; i < len(tag); i++ {
			if tag[i] == '{' || tag[i] == '}' {
				t.Fatalf("escaped %q holds a brace: %q", s, tag)
			}
		}
		// Parse direction: what unescapes escapes back to the same text.
		if u, ok := unescape(s); ok {
			if back, ok := unescape(escape(u, memberEscapes)); !ok || back != u {
				t.Fatalf("%q -> %q -> %q", s, u, back)
			}
		}
	})
}
