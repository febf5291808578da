package store

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
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

// BenchmarkScheduleConcurrent is the life of delivery receipts in one
// partner's schedule, shaped as the interworking function runs it: 64
// concurrent callers each owe a provisional receipt (due at the end of
// the message's validity) and owe it again as final (due at once, the
// REPORT came); one taker takes the due ones, up to 64 at a time, as
// relayReceipts does, and 64 senders settle each. An op is one receipt
// from its first Schedule to its Unschedule. redis-us/op is the Redis
// time of the script calls per receipt (INFO commandstats usec of
// EVALSHA and EVAL, which includes the commands each runs), scripts/op
// their count, redis-cpu-us/op the redis-server process's CPU time
// (INFO cpu, networking included).
func BenchmarkScheduleConcurrent(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	const (
		name    = "receipts:bench"
		callers = 64
	)
	value := func(i int64, final bool) []byte {
		return fmt.Appendf(make([]byte, 0, 200), `{"message":{"id":"%d","text":"%0140d"},"final":%v}`, i, 0, final)
	}
	wake := make(chan struct{}, 1)
	jobs := make(chan Scheduled, callers)
	var settled atomic.Int64
	allSettled := make(chan struct{})
	target := int64(b.N)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for j := range jobs {
				ok, err := s.Unschedule(ctx, name, j.ID, j.Value)
				if err != nil || !ok {
					b.Errorf("Unschedule(%s) = %v, %v", j.ID, ok, err)
				}
				if settled.Add(1) == target {
					close(allSettled)
				}
			}
		})
	}
	wg.Go(func() {
		defer close(jobs)
		for {
			due, err := s.TakeDue(ctx, name, time.Now(), time.Minute, callers)
			if err != nil {
				b.Error(err)
				return
			}
			for _, j := range due {
				jobs <- j
			}
			if len(due) > 0 {
				continue
			}
			select {
			case <-wake:
			case <-stop:
				return
			}
		}
	})
	before := redisStats(b, s)
	b.ReportAllocs()
	var seq atomic.Int64
	b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			id := strconv.FormatInt(i, 10)
			if err := s.Schedule(ctx, name, id, value(i, false), time.Now().Add(time.Hour), 1<<30, time.Hour); err != nil {
				b.Error(err)
				return
			}
			if err := s.Schedule(ctx, name, id, value(i, true), time.Now(), 1<<30, time.Hour); err != nil {
				b.Error(err)
				return
			}
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	})
	if !b.Failed() {
		<-allSettled
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	after := redisStats(b, s)
	n := float64(b.N)
	b.ReportMetric(float64(after.scriptUsec-before.scriptUsec)/n, "redis-us/op")
	b.ReportMetric(float64(after.scriptCalls-before.scriptCalls)/n, "scripts/op")
	b.ReportMetric((after.cpu-before.cpu)*1e6/n, "redis-cpu-us/op")
	opsPerSec(b)
}

// redisCounters are what a benchmark reads of INFO.
type redisCounters struct {
	scriptCalls, scriptUsec int64
	cpu                     float64 // seconds, user and system
}

// redisStats reads the script calls and their time (INFO commandstats)
// and the server's CPU time (INFO cpu).
func redisStats(b *testing.B, s *Store) redisCounters {
	b.Helper()
	info, err := s.client.Info(context.Background(), "commandstats", "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var c redisCounters
	for line := range strings.Lines(info) {
		line = strings.TrimSpace(line)
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "cmdstat_evalsha", "cmdstat_eval":
			for f := range strings.SplitSeq(v, ",") {
				fk, fv, _ := strings.Cut(f, "=")
				n, _ := strconv.ParseInt(fv, 10, 64)
				switch fk {
				case "calls":
					c.scriptCalls += n
				case "usec":
					c.scriptUsec += n
				}
			}
		case "used_cpu_user", "used_cpu_sys":
			f, _ := strconv.ParseFloat(v, 64)
			c.cpu += f
		}
	}
	return c
}
