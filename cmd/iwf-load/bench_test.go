package main

import (
	"testing"
	"time"
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
		Logger: quietLog(), rcsReady: br.rcsReady,
	}
	var recv, ack, base, ratio, p50, p99 float64
	for b.Loop() {
		rep, err := run(ctxT(b), cfg)
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
