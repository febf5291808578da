package interwork

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"iwf/internal/address"
	"iwf/pager"
)

// Conversations of the benchmarks: the ingress spreads over 100, as
// scripts/sip-ingest-bench.sh does; the sessions over 50, as iwf-load does
// (the test RCS side holds at most 64 calls unread).
const (
	benchRecipients = 100
	benchSessions   = 50
)

// benchMessages builds n distinct SIP pager messages from one sender to
// recipients recipients of partner demo.
func benchMessages(tb testing.TB, run string, n, recipients int) []*pager.Message {
	tb.Helper()
	from, err := address.Parse("sip:+447700900456@partner.example;user=phone", address.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tos := make([]address.Address, recipients)
	for i := range tos {
		if tos[i], err = address.Parse(fmt.Sprintf("sip:+447700900%03d@iwf.example;user=phone", 100+i), address.Options{}); err != nil {
			tb.Fatal(err)
		}
	}
	ms := make([]*pager.Message, n)
	now := time.Now()
	for i := range ms {
		ms[i] = &pager.Message{
			ID: fmt.Sprintf("bench-%s-%d", run, i), Partner: "demo", From: from, To: tos[i%len(tos)],
			Text: "Benchmark message of a typical SMS length, about one hundred bytes long.", ContentType: "text/plain",
			ReceivedAt: now,
		}
	}
	return ms
}

// BenchmarkIngressAppend is the ingress hot path: Engine.Accept of a SIP
// pager message (admission, JSON encoding, the store's enqueue script
// and its round trip to a real redis-server, the worker wake-up), 64
// callers at once as concurrent MESSAGEs are. The RCS side refuses every
// session, so no delivery runs beside it: ns/op and allocs/op are the
// append's. Compare with store's BenchmarkSetBaseline (one bare SET round
// trip) in the same run.
func BenchmarkIngressAppend(b *testing.B) {
	rcs := startRCS(b, 486)
	w := startIWF(b, startRedis(b), rcs, "bench", demoPartner())
	ms := benchMessages(b, "append", b.N, benchRecipients)
	var next atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			m := ms[next.Add(1)-1]
			if err := w.eng.Accept(ctx, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkAcceptToMSRP is one message through the whole core: Accept,
// the conversation's worker reading it from the stream, CPIM wrapping,
// MSRP SEND over a session to the RCS side and the acknowledgement, with
// 64 messages in flight over 50 conversations. Its ns/op less
// BenchmarkIngressAppend's is the worker side's cost per message.
func BenchmarkAcceptToMSRP(b *testing.B) { benchAcceptToMSRP(b, 64) }

// BenchmarkAcceptToMSRPBacklog is BenchmarkAcceptToMSRP with 640
// messages in flight, about 13 queued per conversation: the backlog a
// burst leaves, which a worker reads in batches and pipelines into its
// session (issue 13 item 3).
func BenchmarkAcceptToMSRPBacklog(b *testing.B) { benchAcceptToMSRP(b, 640) }

func benchAcceptToMSRP(b *testing.B, inFlight int) {
	rcs := startRCS(b, 0)
	w := startIWF(b, startRedis(b), rcs, "bench", demoPartner())
	// Sessions open before the timer starts: one message each.
	warm := benchMessages(b, "warm", benchSessions, benchSessions)
	ctx := context.Background()
	for _, m := range warm {
		if err := w.eng.Accept(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	for range warm {
		<-rcs.Msgs
	}
	ms := benchMessages(b, "send", b.N, benchSessions)
	b.ReportAllocs()
	b.ResetTimer()
	sent := 0
	for ; sent < min(inFlight, len(ms)); sent++ {
		if err := w.eng.Accept(ctx, ms[sent]); err != nil {
			b.Fatal(err)
		}
	}
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for range ms {
		select {
		case <-rcs.Msgs:
		case <-timeout.C:
			b.Fatalf("stalled: %d sent of %d", sent, len(ms))
		}
		if sent < len(ms) {
			if err := w.eng.Accept(ctx, ms[sent]); err != nil {
				b.Fatal(err)
			}
			sent++
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}
