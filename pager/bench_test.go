package pager_test

import (
	"context"
	"testing"
	"time"

	"iwf/pager"
)

// benchInbound measures MESSAGE -> 202 on loopback: a sipgo client in the
// same process, GOMAXPROCS*32 requests in flight, the fake store.
func benchInbound(b *testing.B, transport string) {
	iw := startIWF(b, []pager.Trunk{loopbackTrunk("uk")}, nil)
	c := client(b)
	cl, err := c.Client(transport)
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := message(b, iw, transport, "text/plain;charset=UTF-8", "Benchmark message body of a typical SMS length, about one hundred bytes long.")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			res, err := cl.Do(ctx, req)
			cancel()
			if err != nil {
				b.Error(err)
				return
			}
			if res.StatusCode != 202 {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
}

func BenchmarkInboundMessageUDP(b *testing.B) { benchInbound(b, "udp") }

func BenchmarkInboundMessageTCP(b *testing.B) { benchInbound(b, "tcp") }

// BenchmarkSIPpMessageUDP has SIPp (another process) send b.N MESSAGEs at
// up to 20000 a second with up to 1000 outstanding: what an operator
// measures with the same scenario against a running IWF.
func BenchmarkSIPpMessageUDP(b *testing.B) {
	iw := startIWF(b, []pager.Trunk{loopbackTrunk("uk")}, nil)
	b.ResetTimer()
	start := time.Now()
	sippRun(b, iw, "message_202.xml", "udp", b.N, "-r", "20000", "-l", "1000")
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
	if got := len(iw.store.Messages()); got != b.N {
		b.Fatalf("%d stored of %d", got, b.N)
	}
}
