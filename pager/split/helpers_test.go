package split

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/rivo/uniseg"
)

// vector is one case of testdata/vectors.json.
type vector struct {
	Name     string   `json:"name"`
	Text     string   `json:"text"`
	Limit    int      `json:"limit"`
	MaxParts int      `json:"max_parts"`
	Policy   string   `json:"policy"`
	Marker   string   `json:"marker"`
	Counter  string   `json:"counter"`
	Measure  string   `json:"measure"`
	Want     []string `json:"want"`
	Error    string   `json:"error"`
}

func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		tb.Fatal(err)
	}
	return vs
}

// gsm7Septets is a test stand-in for the smpp side's GSM 03.38 measure:
// the extension-table characters count two septets (TS 23.038 6.2.1.1).
func gsm7Septets(s string) int {
	n := 0
	for _, r := range s {
		n++
		if strings.ContainsRune("^{}\\[~]|€\f", r) {
			n++
		}
	}
	return n
}

func measureByName(tb testing.TB, name string) Measure {
	switch name {
	case "", "bytes":
		return Bytes
	case "utf16":
		return UTF16Units
	case "gsm7":
		return gsm7Septets
	}
	tb.Fatalf("unknown measure %q", name)
	return nil
}

func (v vector) options(tb testing.TB) Options {
	tb.Helper()
	o := Options{Measure: measureByName(tb, v.Measure), Limit: v.Limit, MaxParts: v.MaxParts, Marker: v.Marker}
	var err error
	if v.Policy != "" {
		if o.Policy, err = ParsePolicy(v.Policy); err != nil {
			tb.Fatal(err)
		}
	}
	if v.Counter != "" {
		if o.Counter, err = ParseCounter(v.Counter); err != nil {
			tb.Fatal(err)
		}
	}
	return o
}

// errorKind names the class of a Text error as the vectors do.
func errorKind(err error) string {
	var oe *OptionError
	var ce *ClusterError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrOverflow):
		return "overflow"
	case errors.As(err, &ce):
		return "cluster"
	case errors.As(err, &oe):
		return "option"
	case errors.Is(err, ErrInvalidUTF8):
		return "utf8"
	}
	return "other: " + err.Error()
}

// boundaries returns the grapheme cluster boundaries of s (0 and len(s)
// included).
func boundaries(s string) map[int]bool {
	b := map[int]bool{0: true}
	pos := 0
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		_, to := g.Positions()
		pos = to
		b[pos] = true
	}
	b[len(s)] = true
	return b
}

// checkParts asserts the invariants of a successful Text result: every
// part fits, the contents rejoin to the text (or a prefix of it plus the
// marker when truncated), every cut is on a grapheme cluster boundary.
func checkParts(t *testing.T, text string, o Options, parts []Part) {
	t.Helper()
	m := o.measure()
	if len(parts) == 0 {
		t.Fatalf("no parts for %q", text)
	}
	if o.Policy == PolicySplit && o.MaxParts > 0 && len(parts) > o.MaxParts {
		t.Fatalf("%d parts, over MaxParts %d", len(parts), o.MaxParts)
	}
	bounds := boundaries(text)
	var joined strings.Builder
	for i, p := range parts {
		if got := m(p.Text); got > o.Limit {
			t.Fatalf("part %d %q measures %d, over %d", i, p.Text, got, o.Limit)
		}
		joined.WriteString(p.Content)
		if !bounds[joined.Len()] {
			t.Fatalf("part %d ends at byte %d, inside a grapheme cluster of %q", i, joined.Len(), text)
		}
		if p.Truncated {
			if len(parts) != 1 || p.Text != p.Content+o.Marker {
				t.Fatalf("truncated part %q is not content %q plus marker %q", p.Text, p.Content, o.Marker)
			}
		} else if !strings.Contains(p.Text, strings.TrimSpace(p.Content)) {
			t.Fatalf("part %d text %q does not carry its content %q", i, p.Text, p.Content)
		}
	}
	if parts[0].Truncated {
		if !strings.HasPrefix(text, joined.String()) {
			t.Fatalf("truncated content %q is not a prefix of %q", joined.String(), text)
		}
		return
	}
	if joined.String() != text {
		t.Fatalf("parts rejoin to %q, want %q", joined.String(), text)
	}
}
