package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/sipsession"
)

// BenchmarkRunThroughBridge drives -n messages per iteration through the
// in-test bridge (SMPP server -> one MSRP session per conversation ->
// the RCS side) with the tool's default shape, all in one process: the
// ceiling the tool itself imposes on an end-to-end figure.
func BenchmarkRunThroughBridge(b *testing.B) {
	const n = 20000
	br := startBridge(b, nil)
	cfg := Config{
		SMPP: br.addr(), RCS: "127.0.0.1:0", N: n, Conversations: 50, Binds: 2, Window: 100,
		Timeout: time.Minute, ReceiptWait: 10 * time.Second, Baseline: true,
		Logger: testutil.Logger(b), rcsReady: br.rcsReady,
	}
	var recv, ack, base, ratio, p50, p99 float64
	for b.Loop() {
		rep, err := run(testutil.Context(b), cfg)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Failed() || rep.Received != n {
			b.Fatalf("received %d of %d, lost %d, duplicates %d", rep.Received, n, rep.Lost, rep.Duplicates)
		}
		recv += rep.ReceiveRate
		ack += rep.AckRate
		base += rep.Baseline.Rate
		ratio += rep.Baseline.Ratio
		p50 += float64(time.Duration(rep.Latency.P50).Microseconds()) / 1000
		p99 += float64(time.Duration(rep.Latency.P99).Microseconds()) / 1000
	}
	k := float64(b.N)
	b.ReportMetric(recv/k, "received/s")
	b.ReportMetric(ack/k, "acked/s")
	b.ReportMetric(base/k, "baseline/s")
	b.ReportMetric(ratio/k, "ratio")
	b.ReportMetric(p50/k, "p50-ms")
	b.ReportMetric(p99/k, "p99-ms")
}

// BenchmarkAnalyze is the report's cost on a default run's records.
func BenchmarkAnalyze(b *testing.B) {
	const n = 20000
	recs := make([]record, n)
	for i := range recs {
		recs[i] = rec(i, i+3, i+10+i%7, int64(i+1), acked)
	}
	for b.Loop() {
		analyze(recs, 50)
	}
}

// BenchmarkResponder is the RCS side alone: 50 sessions opened by a UAC
// in the same process, each sending its share of b.N CPIM messages in
// order, every one counted by the tracker.
func BenchmarkResponder(b *testing.B) {
	const sessions = 50
	u := startUAC(b)
	tr := newTracker("bench", b.N, sessions)
	cfg := Config{RCS: "127.0.0.1:0", MSRP: "127.0.0.1:0", Logger: testutil.Logger(b)}.withDefaults()
	r, err := newResponder(cfg, tr)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	<-r.ready()
	_, tcp := r.sipAddrs()
	calls := make([]*sipsession.Call, sessions)
	for i := range calls {
		if calls[i], err = u.open(testutil.Context(b), "+46700000000", destination(i), tcp, "tcp"); err != nil {
			b.Fatal(err)
		}
	}
	bodies := make([][]byte, b.N)
	for seq := range bodies {
		bodies[seq] = cpimText(b, "+46700000000", destination(seq%sessions), payload{"bench", seq}.text())
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			for seq := i; seq < b.N; seq += sessions {
				if _, err := c.Send(ctx, &session.OutgoingMessage{ContentType: "message/cpim", Body: bodies[seq]}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	rep := tr.report(Report{}, time.Now())
	if rep.Received != b.N || rep.Misrouted != 0 {
		b.Fatalf("received %d of %d, misrouted %d", rep.Received, b.N, rep.Misrouted)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
