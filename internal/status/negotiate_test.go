package status

import (
	"strings"
	"testing"
)

// TestPrefersHTML checks Accept negotiation (RFC 9110 section 12.5.1).
func TestPrefersHTML(t *testing.T) {
	tests := []struct {
		name   string
		accept []string
		want   bool
	}{
		{"none", nil, false},
		{"empty", []string{""}, false},
		{"curl", []string{"*/*"}, false},
		{"firefox", []string{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, true},
		{"chrome", []string{"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"}, true},
		{"json only", []string{"application/json"}, false},
		{"html only", []string{"text/html"}, true},
		{"html weighted below json", []string{"text/html;q=0.5, application/json"}, false},
		{"html above json", []string{"application/json;q=0.4, text/html;q=0.9"}, true},
		{"tie goes to json", []string{"text/html, application/json"}, false},
		{"text wildcard", []string{"text/*"}, true},
		{"exact beats wildcard", []string{"text/*;q=0.9, text/html;q=0"}, false},
		{"html refused", []string{"text/html;q=0"}, false},
		{"case-insensitive", []string{"TEXT/HTML"}, true},
		{"spaces", []string{" text/html ; q=1.0 , application/json ; q=0.1"}, true},
		{"split over fields", []string{"application/json;q=0.1", "text/html"}, true},
		{"bad qvalue ignored", []string{"text/html;q=2", "application/json;q=0.1"}, false},
		{"hex float not a qvalue", []string{"text/html;q=0x1p-1"}, false},
		{"exponent not a qvalue", []string{"text/html;q=1e-1"}, false},
		{"four decimals not a qvalue", []string{"text/html;q=0.5555"}, false},
		{"one above one", []string{"text/html;q=1.001"}, false},
		{"three decimals", []string{"text/html;q=0.001"}, true},
		{"bare zero point", []string{"text/html;q=0."}, false},
		{"missing subtype", []string{"text/"}, false},
		{"wildcard type with subtype", []string{"*/html"}, false},
		{"garbage", []string{";;,,/;q=;"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := prefersHTML(tc.accept); got != tc.want {
				t.Errorf("prefersHTML(%q) = %v, want %v", tc.accept, got, tc.want)
			}
		})
	}
}

// TestParseQValue checks the qvalue grammar and the values it yields.
func TestParseQValue(t *testing.T) {
	tests := []struct {
		in     string
		want   float64
		wantOK bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"0.5", 0.5, true}, {"0.123", 0.123, true},
		{"1.000", 1, true}, {"1.", 1, true}, {"0.", 0, true},
		{"", 0, false}, {"2", 0, false}, {"1.5", 0, false}, {"0.1234", 0, false},
		{".5", 0, false}, {"0,5", 0, false}, {"-0", 0, false}, {"0.a", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseQValue(tc.in)
			if ok != tc.wantOK || (ok && got != tc.want) {
				t.Errorf("parseQValue(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// FuzzPrefersHTML feeds arbitrary Accept values. There is nothing to encode
// back, so instead of a round trip it checks properties that hold for any
// input: no panic, every accepted q lies in [0, 1], and an explicit
// application/json at q=1 ahead of the rest never leaves HTML preferred.
func FuzzPrefersHTML(f *testing.F) {
	for _, seed := range []string{"", "*/*", "text/html", "text/html;q=0.5, application/json",
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/*;q=0.9, text/html;q=0", ";;,,/;q=;"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		prefersHTML([]string{accept})
		for _, elem := range strings.Split(accept, ",") {
			if _, _, q, ok := parseMediaRange(elem); ok && (q < 0 || q > 1) {
				t.Errorf("parseMediaRange(%q) gave q=%v", elem, q)
			}
		}
		if prefersHTML([]string{"application/json", accept}) {
			t.Errorf("HTML preferred over an explicit application/json;q=1 with %q", accept)
		}
	})
}
