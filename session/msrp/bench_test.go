package msrp

import (
	"testing"
)

const smallSEND = "MSRP a786hjs2 SEND\r\n" +
	"To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n" +
	"From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n" +
	"Message-ID: 87652491\r\n" +
	"Byte-Range: 1-25/25\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"Hey Bob, are you there?\r\n" +
	"-------a786hjs2$\r\n"

// loopReader serves the same bytes forever without allocating.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.data[l.off:])
		n += c
		l.off = (l.off + c) % len(l.data)
	}
	return n, nil
}

func BenchmarkParseSmallSEND(b *testing.B) {
	rd := NewReader(&loopReader{data: []byte(smallSEND)}, Limits{})
	var f Frame
	b.SetBytes(int64(len(smallSEND)))
	b.ReportAllocs()
	for b.Loop() {
		if err := rd.ReadFrame(&f); err != nil {
			b.Fatal(err)
		}
	}
	if string(f.Body) != "Hey Bob, are you there?" {
		b.Fatalf("body %q", f.Body)
	}
}

func BenchmarkSerializeSmallSEND(b *testing.B) {
	f := Frame{
		TransactionID: "a786hjs2", Method: MethodSEND,
		ToPath:    "msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp",
		FromPath:  "msrp://atlanta.example.com:7654/jshA7weztas;tcp",
		MessageID: "87652491", ByteRange: ByteRange{1, 25, 25},
		ContentType: "text/plain", Body: []byte("Hey Bob, are you there?"), Flag: FlagEnd,
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		SealTransactionID(&f, f.Body)
		var err error
		if buf, err = AppendFrame(buf[:0], &f); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}
