package concat

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"
)

// Backend is the byte store shared by every node that SharedStore and
// SharedRefs keep their state in; *store.Store satisfies it. It knows
// nothing of SMS: this package encodes keys, parts and destinations into
// its members, fields and values.
type Backend interface {
	// GroupPut writes value under field in the hash of member in group
	// unless the field is there already (stored false, the first value
	// stays), and returns every field of the hash after that, atomically:
	// exactly one GroupPut sees a hash reach any given size. The first
	// write of a member records now as its arrival. When maxMembers
	// members wait already and member is not one of them, it writes
	// nothing and returns no fields.
	GroupPut(ctx context.Context, group, member, field string, value []byte, now time.Time, maxMembers int) (fields map[string][]byte, stored bool, err error)
	// GroupGet returns the fields of member's hash, none if unknown.
	GroupGet(ctx context.Context, group, member string) (map[string][]byte, error)
	// GroupDelete forgets members and their hashes; unknown ones are no
	// error.
	GroupDelete(ctx context.Context, group string, members ...string) error
	// GroupBefore lists up to limit members (limit <= 0: all) that
	// arrived before cutoff, oldest first.
	GroupBefore(ctx context.Context, group string, cutoff time.Time, limit int) ([]string, error)
	// Next increments the sequence name and returns its value, 1 for a
	// new one; the sequence is forgotten ttl after its last use.
	Next(ctx context.Context, name string, ttl time.Duration) (int64, error)
}

// partsGroup is the Backend group of the messages being reassembled. One
// group for all, so that Put counts and indexes waiting messages
// atomically; on Redis Cluster that is one slot, which SMS reassembly, a
// small share of the traffic, does not outgrow.
const partsGroup = "parts"

// defaultMaxMessages bounds a part store given no bound.
const defaultMaxMessages = 10000

// SharedStore is a PartStore in a Backend, for a cluster of nodes: any
// node may receive any part. Each message is one member of the group
// "parts", each part a field (the decimal sequence number) whose value is
// its coding, locking and single shift tables and units; arrival times
// are kept to the Backend's precision (a microsecond on Redis).
type SharedStore struct {
	b   Backend
	max int
	log *slog.Logger
}

// NewSharedStore returns a PartStore in b that holds at most maxMessages
// incomplete messages (0 means 10000); the first part of one more is
// refused with ErrStoreFull. log (nil: discard) hears of stored state that
// does not decode.
func NewSharedStore(b Backend, maxMessages int, log *slog.Logger) *SharedStore {
	if maxMessages <= 0 {
		maxMessages = defaultMaxMessages
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &SharedStore{b: b, max: maxMessages, log: log}
}

// Put implements PartStore in one GroupPut.
func (s *SharedStore) Put(ctx context.Context, key Key, p Part, now time.Time) ([]Part, bool, error) {
	field, value := encodePart(p)
	fields, stored, err := s.b.GroupPut(ctx, partsGroup, formatMember(key), field, value, now, s.max)
	if err != nil {
		return nil, false, err
	}
	if !stored && len(fields) == 0 {
		return nil, false, fmt.Errorf("concat: %d messages wait: %w", s.max, ErrStoreFull)
	}
	parts, err := decodeParts(fields)
	return parts, stored, err
}

// Parts implements PartStore.
func (s *SharedStore) Parts(ctx context.Context, key Key) ([]Part, error) {
	fields, err := s.b.GroupGet(ctx, partsGroup, formatMember(key))
	if err != nil {
		return nil, err
	}
	return decodeParts(fields)
}

// Delete implements PartStore.
func (s *SharedStore) Delete(ctx context.Context, key Key) error {
	return s.b.GroupDelete(ctx, partsGroup, formatMember(key))
}

// Expired implements PartStore. A member that does not decode (not
// written by this package) is deleted, so that it cannot hold up the
// expiry of the others.
func (s *SharedStore) Expired(ctx context.Context, cutoff time.Time, limit int) ([]Key, error) {
	members, err := s.b.GroupBefore(ctx, partsGroup, cutoff, limit)
	if err != nil {
		return nil, err
	}
	keys := make([]Key, 0, len(members))
	var bad []string
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
		s.log.Warn("dropping undecodable reassembly members", "count", len(bad))
		if err := s.b.GroupDelete(ctx, partsGroup, bad...); err != nil {
			return keys, err
		}
	}
	return keys, nil
}

// refTTL is how long a destination's reference sequence outlives its last
// use. A day is far longer than any reassembly timeout, so a handset never
// sees a reference come back while it still holds parts under it.
const refTTL = 24 * time.Hour

// SharedRefs is a RefAllocator in a Backend, shared by every node: a
// sequence per destination, wrapped to 16 bits and offset by a hash of the
// destination, so that destinations do not all start at the same
// reference (TS 23.040 9.2.3.24.1 asks only that consecutive messages to a
// destination differ). A sequence is forgotten a day after its last use.
type SharedRefs struct{ b Backend }

// NewSharedRefs returns a RefAllocator in b.
func NewSharedRefs(b Backend) *SharedRefs { return &SharedRefs{b: b} }

// NextRef implements RefAllocator in one Next.
func (r *SharedRefs) NextRef(ctx context.Context, destination string) (uint16, error) {
	n, err := r.b.Next(ctx, "ref:"+destination, refTTL)
	if err != nil {
		return 0, err
	}
	return uint16(n) + refOffset(destination), nil
}

// refOffset spreads destinations' first references (FNV-1a, folded to 16
// bits). Every node computes the same offset, so the shared sequence alone
// decides the references.
func refOffset(destination string) uint16 {
	h := fnv.New32a()
	h.Write([]byte(destination))
	v := h.Sum32()
	return uint16(v ^ v>>16)
}
