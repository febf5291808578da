package pctenc

import (
	"net/url"
	"testing"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, special, want string }{
		{"plain", "%|", "plain"},
		{"a|b%c", "%|", "a%7Cb%25c"},
		{"{tag}", "%{}", "%7Btag%7D"},
		{"\xff|", "%|", "\xff%7C"},
	} {
		got := Escape(tc.in, tc.special)
		if got != tc.want {
			t.Errorf("Escape(%q, %q) = %q, want %q", tc.in, tc.special, got, tc.want)
		}
		if back, err := url.PathUnescape(got); err != nil || back != tc.in {
			t.Errorf("%q reads back as %q, %v", got, back, err)
		}
	}
}

func FuzzEscape(f *testing.F) {
	f.Add("a|b%c{}", "%|{}")
	f.Fuzz(func(t *testing.T, s, special string) {
		got := Escape(s, special+"%")
		if back, err := url.PathUnescape(got); err != nil || back != s {
			t.Fatalf("%q -> %q -> %q, %v", s, got, back, err)
		}
	})
}
