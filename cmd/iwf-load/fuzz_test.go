package main

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseText checks the round trip parse -> text -> parse on any
// input: whatever parses writes back to exactly the input, and parses
// to the same payload again.
func FuzzParseText(f *testing.F) {
	for _, file := range []string{"texts-valid.txt", "texts-invalid.txt"} {
		for _, s := range lines(f, file) {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseText(s)
		if err != nil {
			return
		}
		out := p.text()
		if out != s {
			t.Fatalf("text() = %q, input %q", out, s)
		}
		again, err := parseText(out)
		if err != nil || again != p {
			t.Fatalf("reparse %q: %+v, %v; want %+v", out, again, err, p)
		}
	})
}

// FuzzUnwrap checks that any body unwraps without panic, and that a text
// it returns survives wrapping in CPIM as the IWF does and unwrapping
// again.
func FuzzUnwrap(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "cpim", "*.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("message/cpim", b)
	}
	f.Add("text/plain", []byte("load a 1"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		text, err := unwrap(contentType, body)
		if err != nil {
			return
		}
		wrapped, err := wrapCPIM("+46700000000", "+4671000000", text)
		if err != nil {
			return // a text CPIM cannot carry as is; not the load tool's
		}
		again, err := unwrap("message/cpim", wrapped)
		if err != nil || again != text {
			t.Fatalf("unwrap(wrap(%q)) = %q, %v", text, again, err)
		}
	})
}
