package concat

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a PartStore in process memory, for tests and single-node
// use. It is safe for concurrent use.
type MemoryStore struct {
	mu      sync.Mutex
	entries map[Key]*memEntry
	// waiting counts the entries of each partner, for Put's bound.
	waiting map[string]int
}

type memEntry struct {
	first time.Time
	parts []Part
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{entries: make(map[Key]*memEntry), waiting: make(map[string]int)}
}

// Put implements PartStore.
func (m *MemoryStore) Put(_ context.Context, key Key, p Part, now time.Time, max int) ([]Part, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if max <= 0 {
		max = defaultMaxMessages
	}
	e, ok := m.entries[key]
	if !ok {
		if m.waiting[key.Partner] >= max {
			return nil, false, fmt.Errorf("concat: %d messages of %s wait: %w", max, key.Partner, ErrStoreFull)
		}
		e = &memEntry{first: now}
		m.entries[key] = e
		m.waiting[key.Partner]++
	}
	if slices.ContainsFunc(e.parts, func(q Part) bool { return q.Seq == p.Seq }) {
		return cloneParts(e.parts), false, nil
	}
	p.Units, p.Meta = slices.Clone(p.Units), slices.Clone(p.Meta)
	e.parts = append(e.parts, p)
	return cloneParts(e.parts), true, nil
}

// cloneParts copies parts deep enough that the caller cannot change
// what the store holds.
func cloneParts(parts []Part) []Part {
	out := slices.Clone(parts)
	for i := range out {
		out[i].Units, out[i].Meta = slices.Clone(out[i].Units), slices.Clone(out[i].Meta)
	}
	return out
}

// Parts implements PartStore.
func (m *MemoryStore) Parts(_ context.Context, key Key) ([]Part, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[key]; ok {
		return cloneParts(e.parts), nil
	}
	return nil, nil
}

// Delete implements PartStore.
func (m *MemoryStore) Delete(_ context.Context, key Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[key]; ok {
		delete(m.entries, key)
		if m.waiting[key.Partner]--; m.waiting[key.Partner] == 0 {
			delete(m.waiting, key.Partner)
		}
	}
	return nil
}

// Expired implements PartStore.
func (m *MemoryStore) Expired(_ context.Context, partner string, cutoff time.Time, limit int) ([]Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	type aged struct {
		key   Key
		first time.Time
	}
	var old []aged
	for k, e := range m.entries {
		if k.Partner == partner && e.first.Before(cutoff) {
			old = append(old, aged{k, e.first})
		}
	}
	slices.SortFunc(old, func(a, b aged) int {
		return cmp.Or(a.first.Compare(b.first), cmp.Compare(a.key.Source, b.key.Source),
			cmp.Compare(a.key.Destination, b.key.Destination), cmp.Compare(a.key.Style, b.key.Style),
			cmp.Compare(a.key.Ref, b.key.Ref), cmp.Compare(a.key.Total, b.key.Total))
	})
	if limit > 0 && len(old) > limit {
		old = old[:limit]
	}
	keys := make([]Key, len(old))
	for i, a := range old {
		keys[i] = a.key
	}
	return keys, nil
}
