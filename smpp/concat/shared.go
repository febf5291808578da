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

// legacyGroup is the Backend group where every partner's messages waited
// before each partner had its own: parts stored there by an older version
// are still read, expired and released, and nothing new goes there.
const legacyGroup = "parts"

// partnerGroup is the Backend group of a partner's messages. One group
// per partner, so that Put counts and indexes the partner's waiting
// messages atomically and one partner's cap leaves the others alone; on
// Redis Cluster a partner's reassembly state is one slot, which SMS
// reassembly, a small share of the traffic, does not outgrow.
func partnerGroup(partner string) string { return "parts:" + partner }

// groupOf is the group that holds key's parts.
func groupOf(key Key) string {
	if key.legacy {
		return legacyGroup
	}
	return partnerGroup(key.Partner)
}

// defaultMaxMessages bounds a partner's waiting messages when the
// Reassembler is given no bound.
const defaultMaxMessages = 10000

// SharedStore is a PartStore in a Backend, for a cluster of nodes: any
// node may receive any part. Each message is one member of its partner's
// group "parts:<partner>", each part a field (the decimal sequence
// number) whose value is its coding, tables, arrival, caller's metadata
// and units; arrival times are kept to the Backend's precision (a
// microsecond on Redis).
type SharedStore struct {
	b   Backend
	log *slog.Logger
}

// NewSharedStore returns a PartStore in b. log (nil: discard) hears of
// stored state that does not decode.
func NewSharedStore(b Backend, log *slog.Logger) *SharedStore {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &SharedStore{b: b, log: log}
}

// Put implements PartStore in one GroupPut.
func (s *SharedStore) Put(ctx context.Context, key Key, p Part, now time.Time, max int) ([]Part, bool, error) {
	if key.legacy {
		return nil, false, fmt.Errorf("concat: key %v: new parts go to the partner's group", key.Ref)
	}
	if max <= 0 {
		max = defaultMaxMessages
	}
	field, value := encodePart(p)
	fields, stored, err := s.b.GroupPut(ctx, partnerGroup(key.Partner), formatMember(key), field, value, now, max)
	if err != nil {
		return nil, false, err
	}
	if !stored && len(fields) == 0 {
		return nil, false, fmt.Errorf("concat: %d messages of %s wait: %w", max, key.Partner, ErrStoreFull)
	}
	parts, err := decodeParts(fields, false)
	return parts, stored, err
}

// Parts implements PartStore.
func (s *SharedStore) Parts(ctx context.Context, key Key) ([]Part, error) {
	fields, err := s.b.GroupGet(ctx, groupOf(key), formatMember(key))
	if err != nil {
		return nil, err
	}
	return decodeParts(fields, key.legacy)
}

// Delete implements PartStore.
func (s *SharedStore) Delete(ctx context.Context, key Key) error {
	return s.b.GroupDelete(ctx, groupOf(key), formatMember(key))
}

// Expired implements PartStore: the partner's group, then the partner's
// members of the legacy group while there is room. A member that does
// not decode (not written by this package) is deleted, so that it cannot
// hold up the expiry of the others.
func (s *SharedStore) Expired(ctx context.Context, partner string, cutoff time.Time, limit int) ([]Key, error) {
	keys, err := s.expired(ctx, partnerGroup(partner), cutoff, limit, func(k Key) bool { return k.Partner == partner && !k.legacy })
	if err != nil || (limit > 0 && len(keys) >= limit) {
		return keys, err
	}
	// The legacy group is listed whole: other partners' members there
	// must not take this partner's room. It only shrinks.
	old, err := s.expired(ctx, legacyGroup, cutoff, 0, func(k Key) bool { return k.Partner == partner && k.legacy })
	if limit > 0 && len(keys)+len(old) > limit {
		old = old[:limit-len(keys)]
	}
	return append(keys, old...), err
}

// expired lists group's members before cutoff that decode to keys
// belonging there (mine), deleting the ones that do not decode.
func (s *SharedStore) expired(ctx context.Context, group string, cutoff time.Time, limit int, mine func(Key) bool) ([]Key, error) {
	members, err := s.b.GroupBefore(ctx, group, cutoff, limit)
	if err != nil {
		return nil, err
	}
	keys := make([]Key, 0, len(members))
	var bad []string
	for _, m := range members {
		k, err := parseMember(m)
		switch {
		case err != nil:
			bad = append(bad, m)
		case mine(k):
			keys = append(keys, k)
		case group != legacyGroup:
			// A member of another partner, or of the old format, in a
			// partner's group: no key names it, so it would stay.
			bad = append(bad, m)
		}
	}
	if len(bad) > 0 {
		// The members may hold numbers: only their count is logged.
		s.log.Warn("dropping undecodable reassembly members", "group", group, "count", len(bad))
		if err := s.b.GroupDelete(ctx, group, bad...); err != nil {
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
