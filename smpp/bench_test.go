package smpp

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"iwf/smpp/smpptest"
)

// benchMessage is a typical segment: 8-bit concatenation UDH, 153 GSM-7
// septets, registered_delivery, one TLV.
func benchMessage() *Message {
	sm := append([]byte{0x05, 0x00, 0x03, 0x2A, 0x02, 0x01}, strings.Repeat("x", 153)...)
	return &Message{
		Source: Address{TON: 1, NPI: 1, Addr: "4915112345678"}, Dest: Address{TON: 1, NPI: 1, Addr: "4917612345678"},
		ESMClass: 0x40, RegisteredDelivery: 1, ShortMessage: sm,
		TLVs: []TLV{{Tag: 0x0204, Value: []byte{0x00, 0x07}}},
	}
}

func gosmppSubmit(m *Message) *pdu.SubmitSM {
	p := pdu.NewSubmitSM().(*pdu.SubmitSM)
	p.SourceAddr = pdu.NewAddressWithTonNpi(m.Source.TON, m.Source.NPI)
	_ = p.SourceAddr.SetAddress(m.Source.Addr)
	p.DestAddr = pdu.NewAddressWithTonNpi(m.Dest.TON, m.Dest.NPI)
	_ = p.DestAddr.SetAddress(m.Dest.Addr)
	p.EsmClass, p.RegisteredDelivery = m.ESMClass, m.RegisteredDelivery
	_ = p.Message.SetMessageDataWithEncoding(m.ShortMessage, data.GSM7BIT)
	for _, t := range m.TLVs {
		p.RegisterOptionalParam(pdu.Field{Tag: pdu.Tag(t.Tag), Data: t.Value})
	}
	return p
}

// BenchmarkSubmitSM measures the submit_sm body codec, with gosmpp's codec
// on the same PDU as the baseline.
func BenchmarkSubmitSM(b *testing.B) {
	m := benchMessage()
	frame, err := AppendMessage(nil, CmdSubmitSM, 1, m)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		buf := make([]byte, 0, 512)
		b.ReportAllocs()
		b.SetBytes(int64(len(frame)))
		for b.Loop() {
			buf, _ = AppendMessage(buf[:0], CmdSubmitSM, 1, m)
		}
	})
	b.Run("encode-gosmpp", func(b *testing.B) {
		p := gosmppSubmit(m)
		b.ReportAllocs()
		b.SetBytes(int64(len(frame)))
		for b.Loop() {
			out := pdu.NewBuffer(make([]byte, 0, 64))
			p.Marshal(out)
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(frame)))
		for b.Loop() {
			if _, err := DecodeMessage(frame); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-gosmpp", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(frame)))
		for b.Loop() {
			if _, err := pdu.Parse(bytes.NewReader(frame)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSustainedSubmit is one bind's submit rate against smpptest on
// loopback with window 100 and no throughput limit. "raw" is the baseline:
// pre-encoded submit_sm pipelined on one connection with the same window by
// a bare loop, which measures what the SMSC and loopback allow.
func BenchmarkSustainedSubmit(b *testing.B) {
	const window = 100
	b.Run("client", func(b *testing.B) {
		smsc := smpptest.Start(b, smpptest.Config{})
		cfg := clientConfig(smsc.Addr())
		cfg.Window = window
		c := startClient(b, cfg, nil, nil)
		waitSMSC(b, smsc, func(s smpptest.State) bool { return s.Bound == 1 })
		m := benchMessage()
		ctx := context.Background()
		var next atomic.Int64
		var wg sync.WaitGroup
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for range 2 * window {
			wg.Go(func() {
				for next.Add(1) <= int64(b.N) {
					if _, err := c.Submit(ctx, m); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	})
	b.Run("raw", func(b *testing.B) {
		smsc := smpptest.Start(b, smpptest.Config{})
		nc, err := net.Dial("tcp", smsc.Addr())
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		r := bufio.NewReader(nc)
		bind := pdu.NewBindRequest(pdu.Transceiver)
		bind.SystemID = "raw"
		if _, err := nc.Write(marshal(bind, 1)); err != nil {
			b.Fatal(err)
		}
		if _, err := readFrame(r, nil, DefaultMaxPDULen); err != nil {
			b.Fatal(err)
		}
		frame, _ := AppendMessage(nil, CmdSubmitSM, 0, benchMessage())
		slots := make(chan struct{}, window)
		done := make(chan error, 1)
		b.ResetTimer()
		start := time.Now()
		go func() {
			var buf []byte
			for range b.N {
				f, err := readFrame(r, buf, DefaultMaxPDULen)
				if err != nil {
					done <- err
					return
				}
				buf = f
				<-slots
			}
			done <- nil
		}()
		w := bufio.NewWriter(nc)
		for i := range b.N {
			select {
			case slots <- struct{}{}:
			default:
				_ = w.Flush() // window full: push what is buffered, then wait
				slots <- struct{}{}
			}
			setSeq(frame, uint32(i+2))
			_, _ = w.Write(frame)
		}
		_ = w.Flush()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	})
}
