package store

import (
	"testing"

	"iwf/internal/pctenc"
)

// FuzzEscape: unescape(escape(s)) is s, and an escaped tag never holds a
// brace, so a conversation cannot end its hash tag early.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"demo|+4611|+4622", "a{b}c", "%", "%7B", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tag := pctenc.Escape(s, tagEscapes)
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
			if back, ok := unescape(pctenc.Escape(u, tagEscapes)); !ok || back != u {
				t.Fatalf("%q -> %q -> %q", s, u, back)
			}
		}
	})
}
