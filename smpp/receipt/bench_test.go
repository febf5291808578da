package receipt

import "testing"

func BenchmarkParse(b *testing.B) {
	text := []byte("id:0123456789 sub:001 dlvrd:001 submit date:2601021504 done date:2601021505 stat:DELIVRD err:000 text:Hello there")
	p := Params{ReceiptedMessageID: []byte("75BCD15\x00"), MessageState: []byte{2}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(text, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	r, err := Parse([]byte("id:0123456789 sub:001 dlvrd:001 submit date:2601021504 done date:2601021505 stat:DELIVRD err:000 text:Hello there"), Params{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		Build(r)
	}
}
