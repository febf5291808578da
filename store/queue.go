package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Conversation queues are Redis Streams with one consumer group ("iwf")
// and one consumer ("owner") each: the conversation's lease guarantees a
// single reader, and a fixed consumer name lets the next owner, after a
// crash, find the entries the last one read and did not acknowledge in the
// group's pending entries list (PEL).
const (
	groupName    = "iwf"
	consumerName = "owner"
)

// Entry is one queued message.
type Entry struct {
	// ID is the stream entry ID, for Ack.
	ID string
	// MsgID is the message ID given to Enqueue.
	MsgID string
	// Payload is the message as given to Enqueue.
	Payload []byte
}

// Enqueue appends payload to conv's queue unless msgID was enqueued on conv
// within dedupTTL (dup is true, nothing is added), or the queue already
// holds maxLen entries (ErrQueueFull). An empty msgID enqueues without
// duplicate detection: no marker is kept for an id that cannot recur. The
// check and the append are one Lua script; in the same round trip conv is
// first added to its pending index shard (a ZADD before the script: the
// shard is in another Cluster slot, and Redis executes a pipeline in
// order, so a crash never leaves a queued entry unindexed) and again
// after it (so that a Settle racing in between cannot drop it from the
// index). On a cluster the shard may be on another master, which go-redis
// writes to concurrently: the ZADDs still run for duplicates too, so the
// peer's retry of a message whose reply was lost indexes it again.
//
// Concurrent Enqueues share that round trip: they are written in batches
// (Config.BatchWindow, Config.BatchMax; batch.go), and each returns its
// own entry's outcome once the batch was written.
//
// The outcome is the script's own, not the pipeline's first error: when
// the script ran (its reply was read), the entry is in the queue or
// refused for a known reason, and answering "try later" for an entry
// that was stored would make the peer send it again, a duplicate. A
// failed ZADD matters only when neither went through, for then the
// queued entry is not in the pending index: the index is written once
// more on its own, and only if that fails too is the error returned. That
// case, a connection lost after the script was sent and before its reply
// was read, and a caller whose ctx ends while its batch is written, are
// the ones where the outcome cannot be known here (the entry may be
// stored); the error is returned and the peer's retry may add the
// message again when it has no message id (dedup catches it otherwise).
// go-redis retries a pipeline after a network error (Config.MaxRetries),
// which can run the script twice in that second case for the same
// reason.
//
// With Config.MinReplicasAck the pipeline ends with WAIT on the queue's
// master; an entry that fewer replicas than asked acknowledge in time is
// reported as ErrUnavailable (it is on the master: the retry is a
// duplicate). dedupTTL and maxLen must be positive.
func (s *Store) Enqueue(ctx context.Context, conv, msgID string, payload []byte, dedupTTL time.Duration, maxLen int) (dup bool, err error) {
	const op = "enqueue"
	switch {
	case conv == "":
		return false, invalid(op, "empty conversation")
	case dedupTTL <= 0:
		return false, invalid(op, "dedup ttl %v", dedupTTL)
	case maxLen <= 0:
		return false, invalid(op, "max length %d", maxLen)
	}
	r := &enqReq{
		waiter: newWaiter(ctx), conv: conv, queue: s.keys.queue(conv), dedup: s.keys.dedup(conv, msgID),
		msgID: msgID, payload: payload, ttl: ms(dedupTTL), maxLen: maxLen,
	}
	if err := s.batch.do(r); err != nil {
		return false, wrap(op, err)
	}
	switch r.res {
	case 0:
		return true, nil
	case -1:
		return false, fmt.Errorf("store: enqueue: %d entries: %w", maxLen, ErrQueueFull)
	}
	return false, nil
}

// evalFunc is (*redis.Script).EvalSha or Eval.
type evalFunc func(ctx context.Context, c redis.Scripter, keys []string, args ...any) *redis.Cmd

// Read returns up to count entries for conv's consumer: first those
// delivered before and not acknowledged (a reader that crashed, or read
// and did not Ack), then new ones. With block > 0 and nothing to return at
// once it waits up to block for new entries (XREADGROUP BLOCK); it returns
// no entries and no error when none came. Enqueue creates the consumer
// group with the queue; a queue without one (made by an earlier version,
// or whose group creation was refused) gets it on first use (XGROUP
// CREATE ... 0 MKSTREAM), so it sees every entry.
func (s *Store) Read(ctx context.Context, conv string, count int, block time.Duration) ([]Entry, error) {
	const op = "read"
	switch {
	case conv == "":
		return nil, invalid(op, "empty conversation")
	case count <= 0:
		return nil, invalid(op, "count %d", count)
	case block < 0:
		return nil, invalid(op, "block %v", block)
	}
	q := s.keys.queue(conv)
	entries, err := s.readNow(ctx, q, count)
	if redis.HasErrorPrefix(err, "NOGROUP") {
		err = s.client.XGroupCreateMkStream(ctx, q, groupName, "0").Err()
		if err == nil || redis.HasErrorPrefix(err, "BUSYGROUP") {
			entries, err = s.readNow(ctx, q, count)
		}
	}
	if err != nil || len(entries) > 0 || block == 0 {
		return entries, wrap(op, err)
	}
	// BLOCK 0 would wait forever: a positive block is at least 1 ms.
	res, err := s.client.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: groupName, Consumer: consumerName, Streams: []string{q, ">"},
		Count: int64(count), Block: max(block, time.Millisecond),
	}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil
	case redis.HasErrorPrefix(err, "NOGROUP") || redis.HasErrorPrefix(err, "UNBLOCKED"):
		// Settle deleted the empty stream while we waited; the next Read
		// creates the group again.
		return nil, nil
	case err != nil:
		return nil, wrap(op, err)
	}
	return s.entries(ctx, q, res, nil, count)
}

// readNow reads the consumer's pending entries and new ones, without
// blocking, in one round trip. New entries read beyond count stay in the
// pending list and come first next time, still in order.
func (s *Store) readNow(ctx context.Context, q string, count int) ([]Entry, error) {
	var pel, fresh *redis.XStreamSliceCmd
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		pel, fresh = s.readCmds(ctx, p, q, count)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	old, err := pel.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	res, err := fresh.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	return s.entries(ctx, q, old, res, count)
}

// readCmds queues on p the two reads of readNow: the consumer's pending
// entries, then new ones.
func (s *Store) readCmds(ctx context.Context, p redis.Pipeliner, q string, count int) (pel, fresh *redis.XStreamSliceCmd) {
	args := func(id string) *redis.XReadGroupArgs {
		return &redis.XReadGroupArgs{Group: groupName, Consumer: consumerName,
			Streams: []string{q, id}, Count: int64(count), Block: -1}
	}
	return p.XReadGroup(ctx, args("0")), p.XReadGroup(ctx, args(">"))
}

// entries converts up to count messages of two replies into entries. An
// entry deleted while pending (read back as an ID without fields) cannot be
// delivered: it is acknowledged so that it stops taking a place in every
// read.
func (s *Store) entries(ctx context.Context, q string, a, b []redis.XStream, count int) ([]Entry, error) {
	var out []Entry
	var ghosts []string
	for _, streams := range [][]redis.XStream{a, b} {
		for _, st := range streams {
			for _, m := range st.Messages {
				if len(m.Values) == 0 {
					ghosts = append(ghosts, m.ID)
					continue
				}
				if len(out) == count {
					continue
				}
				msgID, _ := m.Values["m"].(string)
				payload, _ := m.Values["p"].(string)
				out = append(out, Entry{ID: m.ID, MsgID: msgID, Payload: []byte(payload)})
			}
		}
	}
	if len(ghosts) > 0 {
		if err := s.client.XAck(ctx, q, groupName, ghosts...).Err(); err != nil {
			return out, wrap("read", err)
		}
	}
	return out, nil
}

// Ack acknowledges and deletes the entries ids of conv's queue in one
// MULTI/EXEC, so that a queue's length is what is left to deliver.
// Acknowledging an unknown or already acknowledged ID is no error. Workers
// that hold the conversation's lease use AckOwned.
func (s *Store) Ack(ctx context.Context, conv string, ids ...string) error {
	if conv == "" {
		return invalid("ack", "empty conversation")
	}
	if len(ids) == 0 {
		return nil
	}
	q := s.keys.queue(conv)
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, q, groupName, ids...)
		p.XDel(ctx, q, ids...)
		return nil
	})
	return wrap("ack", err)
}

// QueueLen returns the number of entries of conv not yet acknowledged.
func (s *Store) QueueLen(ctx context.Context, conv string) (int64, error) {
	if conv == "" {
		return 0, invalid("queue length", "empty conversation")
	}
	n, err := s.client.XLen(ctx, s.keys.queue(conv)).Result()
	return n, wrap("queue length", err)
}

// PendingConversations lists up to limit conversations of the pending
// index, the longest pending first. A listed conversation may turn out
// empty (Settle it); a conversation with queued entries is always listed.
// The shards are read in one pipeline (on a cluster, one per master) and
// merged, so the order is the index's as a whole.
func (s *Store) PendingConversations(ctx context.Context, limit int) ([]string, error) {
	const op = "pending conversations"
	if limit <= 0 {
		return nil, invalid(op, "limit %d", limit)
	}
	cmds := make([]*redis.ZSliceCmd, pendingShards)
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range cmds {
			cmds[i] = p.ZRangeWithScores(ctx, s.keys.pendingShard(i), 0, int64(limit)-1)
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	var all []redis.Z
	for _, c := range cmds {
		all = append(all, c.Val()...)
	}
	slices.SortFunc(all, func(a, b redis.Z) int {
		if c := cmp.Compare(a.Score, b.Score); c != 0 {
			return c
		}
		// Within a millisecond, ZRANGE's own tie-break: by member.
		return cmp.Compare(a.Member.(string), b.Member.(string))
	})
	out := make([]string, 0, min(limit, len(all)))
	for _, z := range all[:min(limit, len(all))] {
		out = append(out, z.Member.(string))
	}
	return out, nil
}

// Settle removes conv from the pending index when its queue is empty, and
// deletes the empty stream with it (atomically: an Enqueue is either
// before and keeps it, or after and creates it again). It reports
// whether conv stayed removed.
//
// Off a Cluster it is one script over the queue and the index shard,
// atomic as a whole. On a Cluster the index is in another slot, so the
// removal is checked again: after the ZREM the queue length is read once
// more and conv re-added if an Enqueue came in meanwhile. Together with
// Enqueue's second ZADD this never leaves a queued entry unindexed.
func (s *Store) Settle(ctx context.Context, conv string) (bool, error) {
	if conv == "" {
		return false, invalid("settle", "empty conversation")
	}
	return s.settleQueue(ctx, "settle", conv, "")
}

// SettleRelease is Settle followed, when conv stayed removed, by Release
// of owner's lease on conv, in the same round trip off a Cluster (one
// script) and in the re-check's on a Cluster: a worker whose queue ran
// empty ends in one call. The lease is kept when the queue is not empty,
// and left alone when another owner holds it.
func (s *Store) SettleRelease(ctx context.Context, conv, owner string) (bool, error) {
	const op = "settle"
	if err := checkLease(op, conv, owner); err != nil {
		return false, err
	}
	return s.settleQueue(ctx, op, conv, owner)
}

// settleQueue is Settle, releasing owner's lease too unless owner is empty.
func (s *Store) settleQueue(ctx context.Context, op, conv, owner string) (bool, error) {
	q, lease, shard := s.keys.queue(conv), s.keys.lease(conv), s.keys.pending(conv)
	if _, ok := s.client.(*redis.ClusterClient); !ok {
		if s.testHookSettle != nil {
			// An Enqueue racing the script comes before or after it.
			s.testHookSettle()
		}
		n, err := s.lua.settleAll.Run(ctx, s.client, []string{q, shard, lease}, conv, owner).Int64()
		return n == 1, wrap(op, err)
	}
	empty, err := s.lua.settle.Run(ctx, s.client, []string{q}).Int64()
	if err != nil || empty == 0 {
		return false, wrap(op, err)
	}
	if err := s.client.ZRem(ctx, shard, conv).Err(); err != nil {
		return false, wrap(op, err)
	}
	if s.testHookSettle != nil {
		s.testHookSettle()
	}
	n, err := s.lua.recheck.Run(ctx, s.client, []string{q, lease}, owner).Int64()
	if err == nil && n == 0 {
		return true, nil
	}
	// Re-add also when the check failed: a spurious index entry costs one
	// more Settle, a missing one a stuck message.
	z := redis.Z{Score: float64(time.Now().UnixMilli()), Member: conv}
	return false, wrap(op, errors.Join(err, s.client.ZAddNX(ctx, shard, z).Err()))
}

// migratePending moves the members of the unsharded pending index of
// earlier versions into their shards, keeping their scores, so that an
// upgrade strands no queued conversation. It is idempotent (ZADD NX,
// then ZREM of what was moved) and costs one ZRANGE when there is
// nothing to move.
func (s *Store) migratePending(ctx context.Context) error {
	const batch = 1000
	legacy := s.keys.legacyPending()
	for {
		zs, err := s.client.ZRangeWithScores(ctx, legacy, 0, batch-1).Result()
		if err != nil || len(zs) == 0 {
			return wrap("migrate pending index", err)
		}
		members := make([]any, len(zs))
		_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, z := range zs {
				members[i] = z.Member
				p.ZAddNX(ctx, s.keys.pending(z.Member.(string)), z)
			}
			return nil
		})
		if err != nil {
			return wrap("migrate pending index", err)
		}
		if err := s.client.ZRem(ctx, legacy, members...).Err(); err != nil {
			return wrap("migrate pending index", err)
		}
		s.log.Info("pending index moved into shards", "conversations", len(zs))
	}
}

// AckOwned is Ack for the holder of conv's lease: it acknowledges only
// while owner holds the lease (one script, the lease as fencing token)
// and returns ErrNotHolder, acknowledging nothing, once another node took
// the conversation or the lease lapsed.
func (s *Store) AckOwned(ctx context.Context, conv, owner string, ids ...string) error {
	const op = "ack"
	if conv == "" || owner == "" {
		return invalid(op, "conversation %q owner %q: both must be set", conv, owner)
	}
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, owner)
	for _, id := range ids {
		args = append(args, id)
	}
	n, err := s.lua.ack.Run(ctx, s.client, []string{s.keys.queue(conv), s.keys.lease(conv)}, args...).Int64()
	if err != nil {
		return wrap(op, err)
	}
	if n < 0 {
		return wrap(op, ErrNotHolder)
	}
	return nil
}

// AckOwnedRead is AckOwned of ids followed by Read of up to count
// entries, without blocking, in one round trip: the worker's loop of
// acknowledging what it sent and reading what came meanwhile paid two.
// Redis runs a connection's commands in order, so the read sees the
// acknowledgement; when the acknowledgement fails (ErrNotHolder, or
// another error) the entries read are dropped and the error returned:
// nothing is read past what is not acknowledged, and what the read took
// stays pending, first in the next read. A server that lost the script
// (NOSCRIPT), or a queue without its group, takes the two calls instead.
func (s *Store) AckOwnedRead(ctx context.Context, conv, owner string, ids []string, count int) ([]Entry, error) {
	const op = "ack and read"
	switch {
	case conv == "" || owner == "":
		return nil, invalid(op, "conversation %q owner %q: both must be set", conv, owner)
	case count <= 0:
		return nil, invalid(op, "count %d", count)
	case len(ids) == 0:
		return s.Read(ctx, conv, count, 0)
	}
	q := s.keys.queue(conv)
	args := make([]any, 0, len(ids)+1)
	args = append(args, owner)
	for _, id := range ids {
		args = append(args, id)
	}
	var ack *redis.Cmd
	var pel, fresh *redis.XStreamSliceCmd
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		ack = s.lua.ack.EvalSha(ctx, p, []string{q, s.keys.lease(conv)}, args...)
		pel, fresh = s.readCmds(ctx, p, q, count)
		return nil
	})
	n, err := ack.Int64()
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		if err := s.AckOwned(ctx, conv, owner, ids...); err != nil {
			return nil, err
		}
		return s.Read(ctx, conv, count, 0)
	}
	switch {
	case err != nil:
		return nil, wrap(op, err)
	case n < 0:
		return nil, wrap(op, ErrNotHolder)
	}
	old, err := pel.Result()
	if err == nil || errors.Is(err, redis.Nil) {
		var res []redis.XStream
		res, err = fresh.Result()
		if err == nil || errors.Is(err, redis.Nil) {
			return s.entries(ctx, q, old, res, count)
		}
	}
	if redis.HasErrorPrefix(err, "NOGROUP") {
		return s.Read(ctx, conv, count, 0)
	}
	return nil, wrap(op, err)
}
