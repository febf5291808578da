package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Group commit of Enqueue.
//
// An Enqueue that finds no batch being written goes at once, alone, so
// that a lone caller pays no window. Those that come while batches are
// being written (SMPP submits, SIP MESSAGEs, MSRP SENDs under load) are
// collected for Config.BatchWindow, or until Config.BatchMax wait, and
// written together: one pipeline holding one ZADD NX per pending index
// shard, one call of the batch script per Cluster slot (on one Redis or a
// sentinel's master, one call for the whole batch), the same ZADDs again,
// and, with MinReplicasAck, one WAIT per master. Redis runs each script
// call atomically and the entries of one script in arrival order, so
// two entries of one conversation keep their order, a duplicate within
// the batch is seen as one, and a queue filling up within the batch
// refuses the entries beyond its bound, exactly as if they had come one
// after the other.
//
// Every caller waits for its own entry's outcome (queued, duplicate,
// full, or the error of its script call or of its master's WAIT): none
// is answered before its entry is in Redis. A caller whose context ends
// before the batch is sent is left out of it; one whose context ends
// while the batch is in flight returns at once, its entry's outcome
// unknown as with a lost connection, and the others are unaffected: the
// batch runs under its own context, bounded by the latest deadline of
// its callers.
//
// The writes of schedules (Schedule, Reschedule, Unschedule: delivery
// receipts, two or three per message) are gathered the same way and
// written as one call of the schedule batch script per schedule (its two
// keys share a hash tag, so one slot), the calls of a batch in one
// pipeline. The script runs a call's writes in arrival order and
// returns one outcome per write, as the enqueue batch script does, so
// that each caller gets the outcome it would have had alone.
//
// On a cluster, go-redis's cluster pipeline sends each command to the
// master of its first key's slot (one pipeline per node, the nodes
// concurrently) and keeps the order of the commands within a node; the
// batch relies on that and on nothing else: the shard ZADDs and the
// scripts of other slots may run on other masters in any order, as
// Enqueue's doc describes for one entry.

// waiter is what every request of a batch has: its caller's context
// and the signal that its outcome is set.
type waiter struct {
	ctx  context.Context
	err  error
	done chan struct{}
}

func newWaiter(ctx context.Context) waiter {
	return waiter{ctx: ctx, done: make(chan struct{})}
}

func (w *waiter) waiting() *waiter { return w }

// fail hands the request an error as its outcome.
func (w *waiter) fail(err error) {
	w.err = err
	close(w.done)
}

// request is a request of a batch: *enqReq or *schedReq.
type request interface{ waiting() *waiter }

// enqReq is one Enqueue waiting for its batch.
type enqReq struct {
	waiter
	conv    string
	queue   string // key
	dedup   string // key
	msgID   string
	payload []byte
	ttl     int64 // ms
	maxLen  int
	// res is the script's outcome (1 queued, 0 duplicate, -1 full) once
	// done is closed without err.
	res int64
}

func (r *enqReq) finish(res int64, err error) {
	r.res = res
	r.fail(err)
}

// batcher collects requests into batches and has write write them; see
// the comment above.
type batcher[R request] struct {
	window time.Duration
	max    int
	// write writes a batch and hands each request its outcome; the
	// context is the batch's (batchContext).
	write func(context.Context, []R)

	// eager writes a request at once when no batch is being written:
	// a lone caller pays no window, and under load the requests that
	// come while batches are written still gather.
	eager bool

	mu     sync.Mutex
	cur    []R
	timer  *time.Timer // fires flushTimer; armed while cur is not empty
	closed bool
	busy   int            // batches being written
	flying sync.WaitGroup // the same, for close
}

func newBatcher[R request](window time.Duration, max int, write func(context.Context, []R)) *batcher[R] {
	b := &batcher[R]{window: window, max: max, write: write, eager: true}
	b.timer = time.AfterFunc(time.Hour, b.flushTimer)
	b.timer.Stop()
	return b
}

// errClosed is what a request after Close gets: the store is gone, as
// a connection would be.
var errClosed = fmt.Errorf("store closed: %w", redis.ErrClosed)

// do adds r to the current batch and waits for its outcome or its
// context's end.
func (b *batcher[R]) do(r R) error {
	w := r.waiting()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return errClosed
	}
	b.cur = append(b.cur, r)
	var full []R
	switch {
	case len(b.cur) >= b.max || b.eager && b.busy == 0:
		full = b.take()
	case len(b.cur) == 1:
		b.timer.Reset(b.window)
	}
	b.mu.Unlock()
	if full != nil {
		// The caller that filled the batch (or found the store idle)
		// writes it: no goroutine hop.
		b.flush(full)
	}
	select {
	case <-w.done:
		return w.err
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
}

// take empties the current batch and counts it as flying; b.mu is held.
func (b *batcher[R]) take() []R {
	batch := b.cur
	b.cur = nil
	b.timer.Stop()
	b.busy++
	b.flying.Add(1)
	return batch
}

// flushTimer writes the current batch once its window has passed. A
// timer that fired just as a full batch was taken may find a newer batch
// and write it early: a smaller batch, nothing worse.
func (b *batcher[R]) flushTimer() {
	b.mu.Lock()
	if len(b.cur) == 0 {
		b.mu.Unlock()
		return
	}
	batch := b.take()
	b.mu.Unlock()
	b.flush(batch)
}

// close refuses new requests, writes the current batch and waits for
// every batch in flight.
func (b *batcher[R]) close() {
	b.mu.Lock()
	b.closed = true
	var batch []R
	if len(b.cur) > 0 {
		batch = b.take()
	}
	b.mu.Unlock()
	if batch != nil {
		b.flush(batch)
	}
	b.flying.Wait()
}

// waitingNow is how many requests wait in the current batch.
func (b *batcher[R]) waitingNow() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.cur)
}

// flush leaves out the requests whose caller is gone and writes the
// others.
func (b *batcher[R]) flush(batch []R) {
	defer func() {
		b.mu.Lock()
		b.busy--
		b.mu.Unlock()
		b.flying.Done()
	}()
	live := batch[:0:0]
	for _, r := range batch {
		w := r.waiting()
		if err := w.ctx.Err(); err != nil {
			w.fail(err) // gone before the write: left out
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := batchContext(live)
	defer cancel()
	b.write(ctx, live)
}

// writeEnqueues writes a batch of Enqueues.
func (s *Store) writeEnqueues(ctx context.Context, batch []*enqReq) {
	retry := s.writeGroups(ctx, s.slotGroups(batch), s.lua.enqueueBatch.EvalSha)
	if len(retry) > 0 {
		// The server's script cache is empty (a restart, SCRIPT FLUSH):
		// EVAL loads it again. The ZADDs are idempotent (NX).
		for _, g := range s.writeGroups(ctx, retry, s.lua.enqueueBatch.Eval) {
			for _, r := range g {
				r.finish(0, redis.ErrNoScript) // EVAL never says so
			}
		}
	}
}

// schedReq is one write of a schedule (Schedule, Reschedule,
// Unschedule) waiting for its batch: one operation of luaScheduleBatch.
type schedReq struct {
	waiter
	name   string // the schedule
	kind   byte   // 's' schedule, 'r' reschedule, 'u' unschedule
	id     string
	value  []byte
	at     int64 // due time, Unix ms (s, r)
	maxLen int   // s
	ttl    int64 // ms (s)
	// res is the script's code for the operation once done is closed
	// without err.
	res int64
}

func (r *schedReq) finish(res int64, err error) {
	r.res = res
	r.fail(err)
}

// writeSchedule writes r as part of a batch and returns its code.
func (s *Store) writeSchedule(r *schedReq) (int64, error) {
	if err := s.schedules.do(r); err != nil {
		return 0, err
	}
	return r.res, nil
}

// writeSchedules writes a batch of schedule writes: one call of the
// schedule batch script per schedule, all in one pipeline (on a
// cluster, go-redis's pipeline per master, each schedule's call going to
// the master of its slot). Groups whose script the server did not know
// are written again with EVAL.
func (s *Store) writeSchedules(ctx context.Context, batch []*schedReq) {
	retry := s.writeScheduleGroups(ctx, scheduleGroups(batch), s.lua.schedule.EvalSha)
	if len(retry) > 0 {
		for _, g := range s.writeScheduleGroups(ctx, retry, s.lua.schedule.Eval) {
			for _, r := range g {
				r.finish(0, redis.ErrNoScript) // EVAL never says so
			}
		}
	}
}

// scheduleGroups splits a batch by schedule, keeping the order of the
// writes within each: a script call may touch the keys of one slot only,
// and the two keys of a schedule are all it declares.
func scheduleGroups(batch []*schedReq) [][]*schedReq {
	if len(batch) == 1 {
		return [][]*schedReq{batch}
	}
	var groups [][]*schedReq
	at := make(map[string]int)
	for _, r := range batch {
		i, ok := at[r.name]
		if !ok {
			i = len(groups)
			at[r.name] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], r)
	}
	return groups
}

// writeScheduleGroups writes groups, one script call each, in one
// pipeline and hands each write its outcome, except for the groups whose
// script the server did not know (NOSCRIPT): those are returned.
func (s *Store) writeScheduleGroups(ctx context.Context, groups [][]*schedReq, eval evalFunc) (noscript [][]*schedReq) {
	cmds := make([]*redis.Cmd, len(groups))
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, g := range groups {
			z, h := s.keys.schedule(g[0].name)
			cmds[i] = eval(ctx, p, []string{z, h}, scheduleArgs(g)...)
		}
		return nil
	})
	for i, g := range groups {
		res, err := scriptResult("schedule", cmds[i], len(g))
		if redis.HasErrorPrefix(err, "NOSCRIPT") {
			noscript = append(noscript, g)
			continue
		}
		for j, r := range g {
			switch {
			case err != nil:
				r.finish(0, err)
			case res[j].err != nil:
				r.finish(0, res[j].err)
			default:
				r.finish(res[j].code, nil)
			}
		}
	}
	return noscript
}

// scheduleKind is an operation's kind as luaScheduleBatch reads it: a
// constant string, which goes into an argument without an allocation.
func scheduleKind(k byte) string {
	switch k {
	case 's':
		return "s"
	case 'r':
		return "r"
	}
	return "u"
}

// scheduleArgs are the schedule batch script's ARGV for g (see
// luaScheduleBatch). Each write its own arguments, not one string of
// them all: Redis hands the arguments to Lua as strings at no cost to
// the script, where one string would have to be taken apart in Lua,
// and it is Redis's time that is short.
func scheduleArgs(g []*schedReq) []any {
	args := make([]any, 0, 6*len(g))
	for _, r := range g {
		args = append(args, scheduleKind(r.kind), r.id, r.value, r.at, r.maxLen, r.ttl)
	}
	return args
}

// batchContext is the context a batch is written under: the first
// caller's values, no cancellation (one caller leaving must not fail the
// others), and the latest deadline of the callers when they all have
// one, so that the batch does not outlive every one of them.
func batchContext[R request](batch []R) (context.Context, context.CancelFunc) {
	ctx := context.WithoutCancel(batch[0].waiting().ctx)
	var last time.Time
	for _, r := range batch {
		d, ok := r.waiting().ctx.Deadline()
		if !ok {
			return context.WithCancel(ctx)
		}
		if d.After(last) {
			last = d
		}
	}
	return context.WithDeadline(ctx, last)
}

// slotGroups splits a batch into script calls: one per Cluster slot on
// a cluster, where a script may touch the keys of one slot only, else
// one for all. Entries keep their order within a group.
func (s *Store) slotGroups(batch []*enqReq) [][]*enqReq {
	if _, ok := s.client.(*redis.ClusterClient); !ok {
		return [][]*enqReq{batch}
	}
	var groups [][]*enqReq
	at := make(map[uint16]int)
	for _, r := range batch {
		slot := clusterSlot(s.keys.tag(r.conv))
		i, ok := at[slot]
		if !ok {
			i = len(groups)
			at[slot] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], r)
	}
	return groups
}

// writeGroups writes groups, each one script call, with the pending
// index ZADDs around them and WAIT when asked, and hands each entry its
// outcome, except for the groups whose script the server did not know
// (NOSCRIPT): those are returned, to be written again with EVAL.
func (s *Store) writeGroups(ctx context.Context, groups [][]*enqReq, eval evalFunc) (noscript [][]*enqReq) {
	// The score is the time the conversation became pending: oldest first.
	now := float64(time.Now().UnixMilli())
	shards := make(map[string][]redis.Z)
	seen := make(map[string]bool)
	for _, g := range groups {
		for _, r := range g {
			if !seen[r.conv] {
				seen[r.conv] = true
				shard := s.keys.pending(r.conv)
				shards[shard] = append(shards[shard], redis.Z{Score: now, Member: r.conv})
			}
		}
	}
	scripts := make([]*redis.Cmd, len(groups))
	var before, after map[string]*redis.IntCmd
	zadds := func(p redis.Pipeliner) map[string]*redis.IntCmd {
		m := make(map[string]*redis.IntCmd, len(shards))
		for shard, zs := range shards {
			m[shard] = p.ZAddNX(ctx, shard, zs...)
		}
		return m
	}
	calls := func(p redis.Pipeliner, idx []int) {
		for _, i := range idx {
			keys, args := enqueueArgs(groups[i], s.waitReplicas > 0)
			scripts[i] = eval(ctx, p, keys, args...)
		}
	}
	all := make([]int, len(groups))
	for i := range all {
		all[i] = i
	}
	// waits[i] is the WAIT that covers group i.
	waits := make([]*redis.Cmd, len(groups))
	cluster, isCluster := s.client.(*redis.ClusterClient)
	if s.waitReplicas == 0 || !isCluster {
		// One connection (or go-redis's split by node): the ZADDs before
		// the scripts, so that a crash never leaves a queued entry
		// unindexed, and again after them, so that a Settle racing in
		// between cannot drop it from the index.
		_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			before = zadds(p)
			calls(p, all)
			after = zadds(p)
			if s.waitReplicas > 0 {
				// WAIT counts the replicas holding this connection's
				// writes: it follows the scripts on the same connection.
				w := p.Do(ctx, "WAIT", s.waitReplicas, s.waitTimeout.Milliseconds())
				for i := range waits {
					waits[i] = w
				}
			}
			return nil
		})
	} else {
		// Each master runs its groups' scripts and one WAIT on one
		// connection; the masters concurrently.
		byMaster := make(map[*redis.Client][]int)
		for i, g := range groups {
			c, err := cluster.MasterForKey(ctx, g[0].queue)
			if err != nil {
				for _, r := range g {
					r.finish(0, err)
				}
				groups[i] = nil
				continue
			}
			byMaster[c] = append(byMaster[c], i)
		}
		var wg sync.WaitGroup
		for c, idx := range byMaster {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
					calls(p, idx)
					w := p.Do(ctx, "WAIT", s.waitReplicas, s.waitTimeout.Milliseconds())
					for _, i := range idx {
						waits[i] = w
					}
					return nil
				})
			}()
		}
		wg.Wait()
		// Their failure is read from before and after below.
		_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			before = zadds(p)
			after = zadds(p)
			return nil
		})
	}
	// A shard whose ZADDs both failed is written once more on its own
	// when an entry of it was queued; only if that fails too do those
	// entries get the error.
	indexErr := make(map[string]error)
	for i, g := range groups {
		if g == nil {
			continue
		}
		res, err := scriptResult("enqueue", scripts[i], len(g))
		if redis.HasErrorPrefix(err, "NOSCRIPT") {
			noscript = append(noscript, g)
			continue
		}
		var werr error
		if err == nil && waits[i] != nil {
			werr = waitOutcome(waits[i], s.waitReplicas, s.waitTimeout)
		}
		for j, r := range g {
			switch {
			case err != nil:
				r.finish(0, err)
				continue
			case res[j].err != nil:
				r.finish(0, res[j].err)
				continue
			}
			if res[j].code == 1 {
				shard := s.keys.pending(r.conv)
				if failed(before[shard]) && failed(after[shard]) {
					ierr, done := indexErr[shard]
					if !done {
						ierr = s.client.ZAddNX(ctx, shard, shards[shard]...).Err()
						indexErr[shard] = ierr
					}
					if ierr != nil {
						r.finish(0, fmt.Errorf("entry queued, pending index not written: %w", ierr))
						continue
					}
				}
			}
			if werr != nil {
				r.finish(0, werr)
				continue
			}
			r.finish(res[j].code, nil)
		}
	}
	return noscript
}

// failed reports a ZADD that was not sent or failed.
func failed(c *redis.IntCmd) bool { return c == nil || c.Err() != nil }

// waitOutcome checks WAIT's reply: an error when fewer than want
// replicas acknowledged the writes before it.
func waitOutcome(wait *redis.Cmd, want int, timeout time.Duration) error {
	n, err := wait.Int64()
	if err != nil {
		return fmt.Errorf("entry on the master, replicas unknown: %w", err)
	}
	if n < int64(want) {
		return fmt.Errorf("entry on the master and %d of %d replicas after %v: %w",
			n, want, timeout, ErrUnavailable)
	}
	return nil
}

// enqueueArgs are the batch script's KEYS and ARGV for g (see
// luaEnqueueBatch).
func enqueueArgs(g []*enqReq, touch bool) ([]string, []any) {
	keys := make([]string, 0, 2*len(g))
	args := make([]any, 0, 1+5*len(g))
	t := "0"
	if touch {
		t = "1"
	}
	args = append(args, t)
	for _, r := range g {
		keys = append(keys, r.queue, r.dedup)
		dedup := "0"
		if r.msgID != "" {
			dedup = "1"
		}
		args = append(args, r.msgID, r.payload, r.ttl, r.maxLen, dedup)
	}
	return keys, args
}

// entryResult is one entry's outcome in a batch script's reply.
type entryResult struct {
	code int64
	err  error
}

// scriptResult reads the reply of a batch script (of op) for n
// entries: a code each (-2 not written, others the script's), then,
// when an entry failed, the error that stopped the script.
func scriptResult(op string, cmd *redis.Cmd, n int) ([]entryResult, error) {
	if cmd == nil {
		return nil, errors.New("script not sent")
	}
	vals, err := cmd.Slice()
	if err != nil {
		return nil, err
	}
	if len(vals) < n {
		return nil, corrupt(op, "batch script reply of %d values for %d entries", len(vals), n)
	}
	var cause error
	if len(vals) > n {
		msg, _ := vals[n].(string)
		// The server's error, as go-redis reports one: its prefix (OOM,
		// READONLY...) tells wrap whether it is temporary.
		cause = serverError(msg)
	}
	out := make([]entryResult, n)
	for i := range n {
		code, ok := vals[i].(int64)
		switch {
		case !ok:
			return nil, corrupt(op, "batch script reply %d: %T", i, vals[i])
		case code == -2 && cause != nil:
			out[i].err = cause
		case code == -2:
			out[i].err = corrupt(op, "entry %d not written, no cause given", i)
		default:
			out[i].code = code
		}
	}
	return out, nil
}

// serverError is an error reply of Redis that a script caught
// (redis.pcall) and returned as a value. It is a redis.Error, so that
// redis.HasErrorPrefix and wrap read it as go-redis's own.
type serverError string

func (e serverError) Error() string { return string(e) }

// RedisError marks serverError as a redis.Error.
func (serverError) RedisError() {}

// clusterSlot is the Redis Cluster hash slot of a key whose hash tag is
// tag: CRC16 (XMODEM: polynomial 0x1021, initial value 0) of the tag,
// modulo 16384 (Cluster specification, "Key distribution model").
func clusterSlot(tag string) uint16 {
	var crc uint16
	for i := 0; i < len(tag); i++ {
		crc ^= uint16(tag[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc & 16383
}

// String describes the batching for logs.
func (b *batcher[R]) String() string {
	if b.max <= 1 {
		return "off"
	}
	return strconv.Itoa(b.max) + " entries or " + b.window.String()
}
