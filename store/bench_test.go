package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
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
	return open(b, Config{Addr: benchRedis(b)})
}

// benchRedis starts a redis-server with production's persistence
// (append-only file, fsync every second): a write costs Redis its
// append too.
func benchRedis(b *testing.B) string {
	b.Helper()
	return redistest.StartServer(b, redistest.StartOpts{EverySec: true}).Addr()
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
	meter := meterRedis(b, s)
	for i := 0; b.Loop(); i++ {
		if err := op(ctx, s, i); err != nil {
			b.Fatal(err)
		}
	}
	meter.report(b.N)
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
// this machine; the Redis metrics are redisMeter's.
func BenchmarkEnqueueConcurrent(b *testing.B) {
	for _, bc := range []struct {
		name string
		max  int
	}{{"batch=off", 1}, {"batch=default", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			s := open(b, Config{Addr: benchRedis(b), BatchMax: bc.max})
			payload160 := sms160()
			ctx := b.Context()
			var seq atomic.Int64
			b.SetParallelism(32) // 32 x GOMAXPROCS submitters (64 here)
			meter := meterRedis(b, s)
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
			b.StopTimer()
			meter.report(b.N)
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
// from its first Schedule to its Unschedule. The Redis metrics are
// redisMeter's.
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
	meter := meterRedis(b, s)
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
	meter.report(b.N)
	opsPerSec(b)
}

// BenchmarkWorkerCycle is the worker's side of a message: 50
// conversations, each drained by its lease holder's loop of AckOwnedRead
// (acknowledge what the last read returned, read up to count more),
// count 64 as a worker reads, with a backlog of 1, 8 or 64 entries per
// read as traffic leaves it. An op is one message read and acknowledged;
// the queues are filled before the measure. The Redis metrics are
// redisMeter's.
func BenchmarkWorkerCycle(b *testing.B) {
	for _, per := range []int{1, 8, 64} {
		b.Run(fmt.Sprint("per-read=", per), func(b *testing.B) { benchWorkerCycle(b, per) })
	}
}

func benchWorkerCycle(b *testing.B, per int) {
	const (
		convs = 50
		owner = "node1"
	)
	s := benchStore(b)
	ctx := b.Context()
	payload := sms160()
	total := b.N
	var wg sync.WaitGroup
	for c := range convs {
		conv := fmt.Sprint("conv", c)
		if ok, err := s.Acquire(ctx, conv, owner, time.Hour); err != nil || !ok {
			b.Fatalf("Acquire: %v %v", ok, err)
		}
	}
	meter := (*redisMeter)(nil)
	filled, read := 0, 0
	for filled < total {
		// Fill one round of up to per entries per conversation, then
		// let each worker read them: the reads see per entries.
		b.StopTimer()
		round := 0
		for c := 0; c < convs && filled < total; c++ {
			for range per {
				if filled == total {
					break
				}
				if _, err := s.Enqueue(ctx, fmt.Sprint("conv", c), "", payload, time.Hour, 1<<30); err != nil {
					b.Fatal(err)
				}
				filled++
				round++
			}
		}
		if meter == nil {
			meter = meterRedis(b, s)
			b.ResetTimer()
		}
		meter.resume()
		b.StartTimer()
		var got atomic.Int64
		for c := range convs {
			wg.Go(func() {
				conv := fmt.Sprint("conv", c)
				var sent []string
				for {
					es, err := s.AckOwnedRead(ctx, conv, owner, sent, 64)
					if err != nil {
						b.Error(err)
						return
					}
					sent = ids(es)
					got.Add(int64(len(es)))
					if len(es) == 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		read += int(got.Load())
		b.StopTimer()
		// The next fill is the producers' work, not measured.
		meter.pause()
	}
	if read != total {
		b.Fatalf("read %d of %d", read, total)
	}
	meter.report(total)
	opsPerSec(b)
}

// redisMeter measures what Redis spends on a benchmark's operations:
// the redis-server process's CPU time (utime and stime of
// /proc/<pid>/stat: the main thread, its I/O and the AOF background work
// alike) and, per command, the calls and time of INFO commandstats. The
// commands a script runs are counted both on their own line and within
// EVALSHA's time.
type redisMeter struct {
	b       *testing.B
	s       *Store
	pid     int
	running bool
	start   redisCounters // when running
	sum     redisCounters // of the measures paused
}

// redisCounters are what a meter reads at one instant.
type redisCounters struct {
	cpu   float64 // µs of process CPU
	calls map[string]int64
	usec  map[string]int64
}

// meterRedis starts measuring; pause and resume leave out what comes
// between them, report ends the measure.
func meterRedis(b *testing.B, s *Store) *redisMeter {
	b.Helper()
	info, err := s.client.Info(context.Background(), "server").Result()
	if err != nil {
		b.Fatal(err)
	}
	m := &redisMeter{b: b, s: s, sum: redisCounters{calls: map[string]int64{}, usec: map[string]int64{}}}

	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			m.pid, _ = strconv.Atoi(v)
		}
	}
	if m.pid == 0 {
		b.Fatal("INFO server: no process_id")
	}
	if _, err := s.client.ConfigResetStat(context.Background()).Result(); err != nil {
		b.Fatal(err)
	}
	m.resume()
	return m
}

// resume measures again after pause.
func (m *redisMeter) resume() {
	if !m.running {
		m.start, m.running = m.read(), true
	}
}

// pause adds what Redis spent since the measure (re)started.
func (m *redisMeter) pause() {
	if !m.running {
		return
	}
	end := m.read()
	m.running = false
	m.sum.cpu += end.cpu - m.start.cpu
	for name, n := range end.calls {
		m.sum.calls[name] += n - m.start.calls[name]
		m.sum.usec[name] += end.usec[name] - m.start.usec[name]
	}
}

// read takes the counters now.
func (m *redisMeter) read() redisCounters {
	m.b.Helper()
	c := redisCounters{calls: map[string]int64{}, usec: map[string]int64{}}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", m.pid))
	if err != nil {
		m.b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) in ")": state
	// is field 3, utime 14 and stime 15.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	c.cpu = (ut + st) * 1e6 / clockTicks
	info, err := m.s.client.Info(context.Background(), "commandstats", "stats").Result()
	if err != nil {
		m.b.Fatal(err)
	}
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if k == "total_reads_processed" {
			// The reads of requests from the sockets: round trips.
			n, _ := strconv.ParseInt(v, 10, 64)
			c.calls[k], c.usec[k] = n, 0
			continue
		}
		name, isCmd := strings.CutPrefix(k, "cmdstat_")
		if !ok || !isCmd {
			continue
		}
		for f := range strings.SplitSeq(v, ",") {
			fk, fv, _ := strings.Cut(f, "=")
			n, _ := strconv.ParseInt(fv, 10, 64)
			switch fk {
			case "calls":
				c.calls[name] = n
			case "usec":
				c.usec[name] = n
			}
		}
	}
	return c
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every Linux architecture Go runs on.
const clockTicks = 100

// report ends the measure and reports per op: redis-us/op, the process's
// CPU; scripts/op and script-us/op, the EVALSHA and EVAL calls and their
// time; and <cmd>-us/op, <cmd>/op for every other command that took at
// least 0.5 µs per op (those run by scripts included).
func (m *redisMeter) report(ops int) {
	m.b.Helper()
	m.pause()
	n := float64(ops)
	m.b.ReportMetric(m.sum.cpu/n, "redis-us/op")
	var scripts, scriptUsec int64
	for name, u := range m.sum.usec {
		calls := m.sum.calls[name]
		switch name {
		case "evalsha", "eval":
			scripts += calls
			scriptUsec += u
		case "total_reads_processed":
			m.b.ReportMetric(float64(calls)/n, "reads/op")
		case "info", "config|resetstat", "ping", "hello", "client|setinfo", "select":
		default:
			if float64(u)/n >= 0.5 {
				m.b.ReportMetric(float64(u)/n, name+"-us/op")
				m.b.ReportMetric(float64(calls)/n, name+"/op")
			}
		}
	}
	m.b.ReportMetric(float64(scriptUsec)/n, "script-us/op")
	m.b.ReportMetric(float64(scripts)/n, "scripts/op")
}

// BenchmarkRenewAll is a node renewing the leases of the 1000
// conversations it holds, as its engine does every third of the lease
// TTL. An op is one lease renewed; the Redis metrics are redisMeter's.
func BenchmarkRenewAll(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprint("conv", i)
		if ok, err := s.Acquire(ctx, names[i], "node1", time.Hour); err != nil || !ok {
			b.Fatalf("Acquire: %v %v", ok, err)
		}
	}
	meter := meterRedis(b, s)
	b.ResetTimer()
	for done := 0; done < b.N; done += len(names) {
		if _, err := s.RenewAll(ctx, names, "node1", time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	meter.report(b.N)
	opsPerSec(b)
}
