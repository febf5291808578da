package address

import (
	"errors"
	"testing"
)

var fuzzProfiles = []string{"none", "uk", "us", "keep"}

// FuzzNormalize checks, for any input and each option profile: Parse
// either fails with an *Error or gives an Address whose canonical form
// parses back to the same Address (parse -> encode -> parse), so
// Normalize is idempotent.
func FuzzNormalize(f *testing.F) {
	for _, v := range loadVectors(f) {
		for i, p := range fuzzProfiles {
			if p == v.profile {
				f.Add(v.input, uint8(i))
			}
		}
	}
	f.Fuzz(func(t *testing.T, in string, profile uint8) {
		o := profiles[fuzzProfiles[int(profile)%len(fuzzProfiles)]]
		a, err := Parse(in, o)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q): untyped error %v", in, err)
			}
			return
		}
		s := a.String()
		if s == "" {
			t.Fatalf("Parse(%q) = %+v prints empty", in, a)
		}
		b, err := Parse(s, o)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", in, s, err)
		}
		if b != a {
			t.Fatalf("Parse(%q) = %+v, Parse(%q) = %+v", in, a, s, b)
		}
		if b.String() != s {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, s, b.String())
		}
	})
}
