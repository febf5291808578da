package store

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"iwf/smpp/concat"
)

// defaultMaxMessages is Parts' bound when given none, as
// concat.NewMemoryStore's.
const defaultMaxMessages = 10000

// refTTL is how long a destination's reference counter outlives its last
// use. A day is far longer than any reassembly timeout, so a handset never
// sees a reference come back while it still holds parts under it.
const refTTL = 24 * time.Hour

// partStore is concat.PartStore in Redis: one hash per message (field:
// sequence number, value: the encoded part) and a sorted set of the
// messages by first arrival, both under the "{parts}" tag.
type partStore struct {
	s   *Store
	max int
}

// Parts returns a concat.PartStore in Redis that holds at most maxMessages
// incomplete messages (0 means 10000); the first part of one more is
// refused with concat.ErrStoreFull. Put is one Lua script (HSETNX, then
// HGETALL, the first part also counted and indexed), so exactly one Put
// sees the last missing part arrive, on any node. Arrival times are kept
// to the microsecond.
func (s *Store) Parts(maxMessages int) concat.PartStore {
	if maxMessages <= 0 {
		maxMessages = defaultMaxMessages
	}
	return &partStore{s: s, max: maxMessages}
}

// Put implements concat.PartStore.
func (p *partStore) Put(ctx context.Context, key concat.Key, part concat.Part, now time.Time) ([]concat.Part, bool, error) {
	const op = "parts put"
	member := formatMember(key)
	field, value := encodePart(part)
	res, err := p.s.lua.partsPut.Run(ctx, p.s.client,
		[]string{p.s.keys.parts(member), p.s.keys.partsIndex()},
		member, field, value, now.UnixMicro(), p.max).Slice()
	if err != nil {
		return nil, false, wrap(op, err)
	}
	if len(res) != 2 {
		return nil, false, corrupt(op, "script returned %d values", len(res))
	}
	stored, _ := res[0].(int64)
	if stored == -1 {
		return nil, false, fmt.Errorf("store: parts put: %d messages wait: %w", p.max, concat.ErrStoreFull)
	}
	flat, _ := res[1].([]any)
	fields := make(map[string]string, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		f, _ := flat[i].(string)
		v, _ := flat[i+1].(string)
		fields[f] = v
	}
	parts, err := decodeParts(fields)
	return parts, stored == 1, err
}

// Parts implements concat.PartStore.
func (p *partStore) Parts(ctx context.Context, key concat.Key) ([]concat.Part, error) {
	m, err := p.s.client.HGetAll(ctx, p.s.keys.parts(formatMember(key))).Result()
	if err != nil {
		return nil, wrap("parts", err)
	}
	return decodeParts(m)
}

// decodeParts decodes a message hash, ordered by sequence number.
func decodeParts(fields map[string]string) ([]concat.Part, error) {
	if len(fields) == 0 {
		return nil, nil
	}
	parts := make([]concat.Part, 0, len(fields))
	for f, v := range fields {
		part, err := decodePart(f, v)
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
	}
	slices.SortFunc(parts, func(a, b concat.Part) int { return cmp.Compare(a.Seq, b.Seq) })
	return parts, nil
}

// Delete implements concat.PartStore: the hash and its index entry go in
// one MULTI/EXEC.
func (p *partStore) Delete(ctx context.Context, key concat.Key) error {
	member := formatMember(key)
	_, err := p.s.client.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, p.s.keys.parts(member))
		pipe.ZRem(ctx, p.s.keys.partsIndex(), member)
		return nil
	})
	return wrap("parts delete", err)
}

// Expired implements concat.PartStore. limit <= 0 lists them all. An
// index member that does not decode (not written by this package) is
// removed, so that it cannot hold up the expiry of the others.
func (p *partStore) Expired(ctx context.Context, cutoff time.Time, limit int) ([]concat.Key, error) {
	const op = "parts expired"
	members, err := p.s.client.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key:     p.s.keys.partsIndex(),
		ByScore: true,
		Start:   "-inf",
		Stop:    "(" + strconv.FormatInt(cutoff.UnixMicro(), 10),
		Count:   int64(max(limit, 0)),
	}).Result()
	if err != nil {
		return nil, wrap(op, err)
	}
	keys := make([]concat.Key, 0, len(members))
	var bad []any
	for _, m := range members {
		k, err := parseMember(m)
		if err != nil {
			bad = append(bad, m)
			continue
		}
		keys = append(keys, k)
	}
	if len(bad) > 0 {
		// The members may hold numbers: only their count is logged.
		p.s.log.Warn("dropping undecodable reassembly index members", "count", len(bad))
		if err := p.s.client.ZRem(ctx, p.s.keys.partsIndex(), bad...).Err(); err != nil {
			return keys, wrap(op, err)
		}
	}
	return keys, nil
}

// refAllocator is concat.RefAllocator in Redis.
type refAllocator struct{ s *Store }

// Refs returns a concat.RefAllocator shared by every node: a counter per
// destination (INCR), wrapped to 16 bits and offset by a hash of the
// destination, so that destinations do not all start at the same
// reference (TS 23.040 9.2.3.24.1 asks only that consecutive messages to a
// destination differ). A counter expires a day after its last use.
func (s *Store) Refs() concat.RefAllocator { return refAllocator{s: s} }

// NextRef implements concat.RefAllocator.
func (r refAllocator) NextRef(ctx context.Context, destination string) (uint16, error) {
	n, err := r.s.lua.refNext.Run(ctx, r.s.client, []string{r.s.keys.ref(destination)}, ms(refTTL)).Int64()
	if err != nil {
		return 0, wrap("next ref", err)
	}
	return uint16(n) + refOffset(destination), nil
}

// refOffset spreads destinations' first references (FNV-1a, folded to 16
// bits). Every node computes the same offset, so the shared counter alone
// decides the sequence.
func refOffset(destination string) uint16 {
	h := fnv.New32a()
	h.Write([]byte(destination))
	v := h.Sum32()
	return uint16(v ^ v>>16)
}
