package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"iwf/store/redistest"
)

// benchStore opens a Store on a fresh real redis-server.
func benchStore(b *testing.B) *Store {
	b.Helper()
	return open(b, Config{Addr: redistest.Start(b)})
}

func opsPerSec(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// benchLoop runs op b.N times, one after the other, on a Store on a
// fresh redis-server, and reports operations per second.
func benchLoop(b *testing.B, op func(ctx context.Context, s *Store, i int) error) {
	b.Helper()
	s := benchStore(b)
	ctx := b.Context()
	for i := 0; b.Loop(); i++ {
		if err := op(ctx, s, i); err != nil {
			b.Fatal(err)
		}
	}
	opsPerSec(b)
}

// BenchmarkSetBaseline is one bare SET round trip on the same connection
// pool: the floor the other benchmarks compare with.
func BenchmarkSetBaseline(b *testing.B) {
	payload160 := sms160()
	benchLoop(b, func(ctx context.Context, s *Store, _ int) error {
		return s.client.Set(ctx, "bench", payload160, 0).Err()
	})
}

// BenchmarkEnqueue is one 160-byte message into one of 100 conversations:
// ZADD, the script and ZADD in one round trip.
func BenchmarkEnqueue(b *testing.B) {
	payload160 := sms160()
	benchLoop(b, func(ctx context.Context, s *Store, i int) error {
		_, err := s.Enqueue(ctx, fmt.Sprint("conv", i%100), fmt.Sprint(i), payload160, time.Hour, 1<<30)
		return err
	})
}

// sms160 is a full single-segment SMS.
func sms160() []byte { return make([]byte, 160) }

// BenchmarkReadAck is the consumer side per message: Read (one round
// trip) and Ack (one MULTI/EXEC round trip), one message at a time and in
// batches of 100 as an owner draining a backlog does.
func BenchmarkReadAck(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprint("batch=", batch), func(b *testing.B) { benchReadAck(b, batch) })
	}
}

func benchReadAck(b *testing.B, batch int) {
	s := benchStore(b)
	ctx := b.Context()
	payload160 := sms160()
	const backlog = 10000
	fill := func() {
		for i := range backlog {
			if _, err := s.Enqueue(ctx, conv, fmt.Sprint(time.Now().UnixNano(), i), payload160, time.Hour, 1<<30); err != nil {
				b.Fatal(err)
			}
		}
	}
	left, n := 0, 0
	for b.Loop() {
		// One b.Loop iteration is one message; a Read serves batch of them.
		if n == 0 {
			if left < batch {
				b.StopTimer()
				fill()
				left += backlog
				b.StartTimer()
			}
			es, err := s.Read(ctx, conv, batch, 0)
			if err != nil || len(es) != batch {
				b.Fatalf("Read: %d entries, %v", len(es), err)
			}
			if err := s.Ack(ctx, conv, ids(es)...); err != nil {
				b.Fatal(err)
			}
			left -= batch
			n = batch
		}
		n--
	}
	opsPerSec(b)
}

// BenchmarkEnqueueParallel is Enqueue from 8 goroutines per CPU, as
// several SIP/SMPP workers do.
func BenchmarkEnqueueParallel(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	payload160 := sms160()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := time.Now().UnixNano()
		for i := 0; pb.Next(); i++ {
			if _, err := s.Enqueue(ctx, fmt.Sprint("conv", i%100), fmt.Sprint(id, "-", i), payload160, time.Hour, 1<<30); err != nil {
				b.Error(err)
				return
			}
		}
	})
	opsPerSec(b)
}

// BenchmarkEnqueueReplicas is Enqueue on the shared sentinel master with
// its replica, acknowledged once the master holds the entry (async) and
// once the replica does too (min_replicas_ack 1: the pipeline ends with
// WAIT): the cost of surviving a failover. Run it with -benchtime and
// compare ns/op of the two.
func BenchmarkEnqueueReplicas(b *testing.B) {
	payload := sms160()
	for _, tc := range []struct {
		name string
		wait int
	}{{"async", 0}, {"min_replicas_ack=1", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := topology(b, ModeSentinel)
			cfg.MinReplicasAck = tc.wait
			s := open(b, cfg)
			ctx := b.Context()
			for i := 0; b.Loop(); i++ {
				if _, err := s.Enqueue(ctx, fmt.Sprint("c", i%64), fmt.Sprint("m", i), payload, time.Hour, 1<<30); err != nil {
					b.Fatal(err)
				}
			}
			opsPerSec(b)
		})
	}
}

// BenchmarkEnqueueConcurrent is 64 concurrent submitters, each putting
// 160-byte messages into one of 50 conversations (iwf-load's shape),
// with group commit off (batch_max 1: a round trip per Enqueue) and on
// (the defaults). The ratio of the two ops/s is the gain of batching on
// this machine.
func BenchmarkEnqueueConcurrent(b *testing.B) {
	for _, bc := range []struct {
		name string
		max  int
	}{{"batch=off", 1}, {"batch=default", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			s := open(b, Config{Addr: redistest.Start(b), BatchMax: bc.max})
			payload160 := sms160()
			ctx := b.Context()
			var seq atomic.Int64
			b.SetParallelism(32) // 32 x GOMAXPROCS submitters (64 here)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := seq.Add(1)
					if _, err := s.Enqueue(ctx, fmt.Sprint("conv", i%50), fmt.Sprint(i), payload160, time.Hour, 1<<30); err != nil {
						b.Error(err)
						return
					}
				}
			})
			opsPerSec(b)
		})
	}
}
