package split

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// fuzzOptions decodes the fuzzer's numbers into Options: mode picks the
// policy, counter style and measure.
func fuzzOptions(marker string, limit uint16, maxParts uint8, mode uint8) Options {
	measures := []Measure{Bytes, UTF16Units, gsm7Septets}
	return Options{
		Measure:  measures[int(mode/9)%3],
		Limit:    int(limit % 2048),
		MaxParts: int(maxParts % 32),
		Policy:   Policy(mode % 3),
		Counter:  Counter((mode / 3) % 3),
		Marker:   marker,
	}
}

// modeOf is the inverse of fuzzOptions for the seeds.
func modeOf(tb testing.TB, v vector) uint8 {
	o := v.options(tb)
	m := map[string]uint8{"": 0, "bytes": 0, "utf16": 1, "gsm7": 2}[v.Measure]
	return uint8(o.Policy) + 3*uint8(o.Counter) + 9*m
}

// FuzzText checks, for any text, marker and limits: the text comes back
// whole when it fits; split parts each fit and their contents rejoin to
// the text; a truncated part is a prefix plus the marker and fits; no cut
// falls inside a grapheme cluster; every error is one the inputs explain.
func FuzzText(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.Text, v.Marker, uint16(v.Limit), uint8(v.MaxParts), modeOf(f, v))
	}
	f.Add("a\u0301 b\u0301 c\u0301", "…", uint16(3), uint8(0), uint8(3))
	f.Fuzz(func(t *testing.T, text, marker string, limit uint16, maxParts, mode uint8) {
		o := fuzzOptions(marker, limit, maxParts, mode)
		parts, err := Text(text, o)
		m := o.measure()
		var oe *OptionError
		var ov *OverflowError
		var ce *ClusterError
		switch {
		case err == nil:
			checkParts(t, text, o, parts)
			if m(text) <= o.Limit && (len(parts) != 1 || parts[0].Text != text) {
				t.Fatalf("a text that fits came back as %+v", parts)
			}
		case errors.Is(err, ErrInvalidUTF8):
			if utf8.ValidString(text) {
				t.Fatalf("valid text %q refused as invalid", text)
			}
		case errors.As(err, &oe):
			explained := o.Limit <= 0 ||
				(oe.Field == "Marker" && (!utf8.ValidString(marker) || (o.Policy == PolicyTruncate && m(marker) > o.Limit))) ||
				(oe.Field == "Limit" && o.Counter != CounterNone)
			if !explained {
				t.Fatalf("unexplained option error %v for %+v", err, o)
			}
		case errors.As(err, &ov):
			if m(text) <= o.Limit {
				t.Fatalf("overflow for a text that fits: %v", err)
			}
			if o.Policy == PolicySplit && o.MaxParts == 0 {
				t.Fatalf("overflow without a part cap: %v", err)
			}
			if o.Policy == PolicyTruncate {
				t.Fatalf("truncate overflowed: %v", err)
			}
		case errors.As(err, &ce):
			if o.Policy != PolicySplit || ce.Size <= ce.Capacity || ce.Offset >= len(text) {
				t.Fatalf("unexplained cluster error %v", err)
			}
			cluster, _, _, _ := uniseg.FirstGraphemeClusterInString(text[ce.Offset:], -1)
			if !boundaries(text)[ce.Offset] || m(cluster) != ce.Size {
				t.Fatalf("cluster error %v does not name a cluster of %q", err, text)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
