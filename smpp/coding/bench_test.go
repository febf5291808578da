package coding

import (
	"strings"
	"testing"
)

type benchText struct {
	name string
	c    Coding
	text string
}

// benchTexts are one full segment of each coding.
func benchTexts() []benchText {
	return []benchText{
		{"gsm7-160", GSM7, strings.Repeat("Hello, world! ", 12)[:156] + "€{}"},
		{"ucs2-70", UCS2, strings.Repeat("Привет мир! 😀", 5)},
		{"latin1-140", Latin1, strings.Repeat("Grüße aus Köln! ", 8)},
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, bt := range benchTexts() {
		b.Run(bt.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bt.text)))
			for b.Loop() {
				if _, err := Encode(bt.c, bt.text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, bt := range benchTexts() {
		enc, err := Encode(bt.c, bt.text)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bt.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				if _, err := Decode(bt.c, enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPack(b *testing.B) {
	septets, err := Encode(GSM7, strings.Repeat("hellohello", 16))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p, _ := Pack(septets, 1)
		if _, err := Unpack(p, 1, -1); err != nil {
			b.Fatal(err)
		}
	}
}
