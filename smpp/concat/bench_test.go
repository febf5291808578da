package concat

import (
	"context"
	"strings"
	"testing"

	"iwf/smpp/coding"
)

func BenchmarkSplit(b *testing.B) {
	for _, bc := range []struct {
		name string
		c    coding.Coding
		text string
		o    Options
	}{
		{"gsm7-3seg-udh8", coding.GSM7, strings.Repeat("Lorem ipsum {dolor} sit €met. ", 14), Options{}},
		{"gsm7-3seg-packed", coding.GSM7, strings.Repeat("Lorem ipsum {dolor} sit €met. ", 14), Options{Packed: true}},
		{"ucs2-3seg-sar", coding.UCS2, strings.Repeat("Привет 😀 ", 20), Options{Style: SAR}},
	} {
		enc, err := coding.Encode(bc.c, bc.text)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			next := func() (uint16, error) { return 1, nil }
			for b.Loop() {
				if _, err := Split(enc, bc.c, bc.o, next); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReassemble(b *testing.B) {
	enc, _ := coding.Encode(coding.GSM7, strings.Repeat("Lorem ipsum dolor sit amet. ", 16))
	segs, err := Split(enc, coding.GSM7, Options{}, func() (uint16, error) { return 1, nil })
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewReassembler(NewMemoryStore(), Config{Partner: "p", Timeout: 1})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var key Key
		for _, s := range segs {
			in, err := Inspect(s.ESMClass, s.ShortMessage, nil)
			if err != nil {
				b.Fatal(err)
			}
			key = Key{Partner: "p", Ref: in.Concat.Ref, Total: in.Concat.Total}
			res, err := r.Add(ctx, key, Part{Seq: in.Concat.Seq, Coding: coding.GSM7, Units: in.Text}, t0)
			if err != nil {
				b.Fatal(err)
			}
			if res.Status == Complete && len(res.Text) != len(enc) {
				b.Fatal("wrong text")
			}
		}
		if err := r.Release(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}
