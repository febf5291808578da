package split

import (
	"strings"
	"testing"
)

func BenchmarkText(b *testing.B) {
	latin := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 230) // ~10 KB
	emoji := strings.Repeat("ok 👍🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷 e\u0301 ", 200)
	cases := []struct {
		name string
		text string
		o    Options
	}{
		{"fits/1300B", latin[:1200], Options{Limit: 1300}},
		{"sip/10KB/1300B/counter", latin, Options{Limit: 1300, Counter: CounterSuffix}},
		{"sip/10KB/truncate", latin, Options{Limit: 1300, Policy: PolicyTruncate, Marker: DefaultMarker}},
		{"sms/ucs2/67/emoji", emoji, Options{Limit: 67, Measure: UTF16Units}},
		{"sms/gsm7/153", latin, Options{Limit: 153, Measure: gsm7Septets}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.text)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Text(c.text, c.o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
