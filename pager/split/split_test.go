package split

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestTextVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			o := v.options(t)
			parts, err := Text(v.Text, o)
			if kind := errorKind(err); kind != v.Error {
				t.Fatalf("error %v (%q), want %q", err, kind, v.Error)
			}
			if err != nil {
				return
			}
			var got []string
			for _, p := range parts {
				got = append(got, p.Text)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", v.Want) {
				t.Fatalf("parts\n got %q\nwant %q", got, v.Want)
			}
			checkParts(t, v.Text, o, parts)
		})
	}
}

// TestTextProperties runs the invariants of checkParts over texts of many
// scripts and limits, for every policy and counter style.
func TestTextProperties(t *testing.T) {
	texts := map[string]string{
		"latin":    strings.Repeat("The quick brown fox jumps over the lazy dog. ", 40),
		"cjk":      strings.Repeat("吾輩は猫である。名前はまだ無い。", 30),
		"emoji":    strings.Repeat("ok 👍🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷 ", 25),
		"combined": strings.Repeat("e\u0301a\u0308o\u0302 ", 60),
		"one word": strings.Repeat("x", 3000),
		"blanks":   strings.Repeat(" \t\n", 200),
		"hangul":   strings.Repeat("\u1100\u1161\u11a8 한국어 ", 50),
	}
	measures := map[string]Measure{"bytes": Bytes, "utf16": UTF16Units, "gsm7": gsm7Septets}
	for tname, text := range texts {
		for mname, m := range measures {
			for _, limit := range []int{30, 67, 153, 1300} {
				for _, counter := range []Counter{CounterNone, CounterSuffix, CounterPrefix} {
					for _, policy := range []Policy{PolicySplit, PolicyTruncate, PolicyReject} {
						o := Options{Measure: m, Limit: limit, Policy: policy, Counter: counter, Marker: DefaultMarker}
						name := fmt.Sprintf("%s/%s/%d/%v/%v", tname, mname, limit, counter, policy)
						t.Run(name, func(t *testing.T) {
							parts, err := Text(text, o)
							if err != nil {
								if policy == PolicyReject && errors.Is(err, ErrOverflow) {
									return
								}
								// A 25-byte family emoji cannot go whole
								// into 30 bytes less a counter.
								var ce *ClusterError
								if errors.As(err, &ce) && limit == 30 {
									return
								}
								t.Fatal(err)
							}
							checkParts(t, text, o, parts)
							if policy == PolicySplit && len(parts) > 1 && counter != CounterNone {
								if !strings.Contains(parts[len(parts)-1].Text, fmt.Sprintf("%d/%d", len(parts), len(parts))) {
									t.Fatalf("last part %q has no counter", parts[len(parts)-1].Text)
								}
							}
						})
					}
				}
			}
		}
	}
}

// TestTextWordBoundaries checks that a text of short words is never cut
// inside a word.
func TestTextWordBoundaries(t *testing.T) {
	text := strings.Repeat("lorem ipsum dolor sit amet consectetur ", 50)
	// Every word is under half a part, so no word is ever cut.
	for _, limit := range []int{40, 50, 160, 1300} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			parts, err := Text(text, Options{Limit: limit, Counter: CounterSuffix})
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range parts[:len(parts)-1] {
				if !strings.HasSuffix(p.Content, " ") {
					t.Fatalf("part %d %q is cut inside a word", i, p.Content)
				}
			}
		})
	}
}

func TestTextErrors(t *testing.T) {
	family := "👨‍👩‍👧"
	tests := []struct {
		name  string
		text  string
		o     Options
		check func(t *testing.T, err error)
	}{
		{"invalid utf-8", "a\xffb", Options{Limit: 1}, func(t *testing.T, err error) {
			if !errors.Is(err, ErrInvalidUTF8) {
				t.Fatal(err)
			}
		}},
		{"overflow names size and cap", strings.Repeat("ab ", 10), Options{Limit: 6, MaxParts: 2}, func(t *testing.T, err error) {
			var oe *OverflowError
			if !errors.As(err, &oe) || oe.Size != 30 || oe.Limit != 6 || oe.MaxParts != 2 || oe.Parts != 3 || oe.SIPStatus() != 413 || oe.MSRPStatus() != 413 {
				t.Fatalf("%#v", err)
			}
			if !strings.HasPrefix(err.Error(), "split: ") {
				t.Fatal(err)
			}
		}},
		{"reject names size", "abcdef", Options{Limit: 4, Policy: PolicyReject}, func(t *testing.T, err error) {
			var oe *OverflowError
			if !errors.As(err, &oe) || oe.Size != 6 || oe.Error() != "split: text measures 6, over the limit of 4" {
				t.Fatalf("%v", err)
			}
		}},
		{"cluster error offset", "ab" + family, Options{Limit: 10}, func(t *testing.T, err error) {
			var ce *ClusterError
			if !errors.As(err, &ce) || ce.Offset != 2 || ce.Size != len(family) || ce.SIPStatus() != 413 || ce.MSRPStatus() != 413 {
				t.Fatalf("%v", err)
			}
		}},
		{"truncate before a wide cluster leaves the marker", family + "abc", Options{Limit: 10, Policy: PolicyTruncate, Marker: "..."}, nil},
		{"negative max parts", "a", Options{Limit: 1, MaxParts: -1}, optionField("MaxParts")},
		{"unknown policy", "ab", Options{Limit: 1, Policy: 9}, optionField("Policy")},
		{"unknown counter", "ab", Options{Limit: 1, Counter: 9}, optionField("Counter")},
		{"invalid marker", "ab", Options{Limit: 1, Marker: "\xff"}, optionField("Marker")},
		{"negative measure", "ab", Options{Limit: 1, Measure: func(string) int { return -1 }}, optionField("Measure")},
		{"negative cluster measure", "abc", Options{Limit: 2, Measure: func(s string) int {
			if s == "b" {
				return -5
			}
			return len(s)
		}}, optionField("Measure")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parts, err := Text(tc.text, tc.o)
			if tc.check == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(parts) != 1 || parts[0].Text != tc.o.Marker || !parts[0].Truncated {
					t.Fatalf("%+v", parts)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, parts %+v", parts)
			}
			tc.check(t, err)
		})
	}
}

func optionField(field string) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Field != field {
			t.Fatalf("error %v, want an OptionError on %s", err, field)
		}
	}
}

func TestParseNames(t *testing.T) {
	for _, p := range []Policy{PolicySplit, PolicyTruncate, PolicyReject} {
		t.Run(p.String(), func(t *testing.T) {
			b, _ := p.MarshalText()
			var got Policy
			if err := got.UnmarshalText(b); err != nil || got != p {
				t.Fatalf("%v %v", got, err)
			}
		})
	}
	for _, c := range []Counter{CounterNone, CounterSuffix, CounterPrefix} {
		t.Run(c.String(), func(t *testing.T) {
			b, _ := c.MarshalText()
			var got Counter
			if err := got.UnmarshalText(b); err != nil || got != c {
				t.Fatalf("%v %v", got, err)
			}
		})
	}
	t.Run("bad names", func(t *testing.T) {
		var p Policy
		var c Counter
		if p.UnmarshalText([]byte("drop")) == nil || c.UnmarshalText([]byte("roman")) == nil {
			t.Fatal("accepted an unknown name")
		}
		if Policy(7).String() != "Policy(7)" || Counter(7).String() != "Counter(7)" {
			t.Fatal("unknown values print badly")
		}
	})
}
