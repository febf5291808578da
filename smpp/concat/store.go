package concat

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a PartStore in process memory, for tests and single-node
// use. It is safe for concurrent use.
type MemoryStore struct {
	mu      sync.Mutex
	max     int
	entries map[Key]*memEntry
}

type memEntry struct {
	first time.Time
	parts []Part
}

// NewMemoryStore returns a store holding at most maxMessages incomplete
// messages (0 means 10000).
func NewMemoryStore(maxMessages int) *MemoryStore {
	if maxMessages <= 0 {
		maxMessages = 10000
	}
	return &MemoryStore{max: maxMessages, entries: make(map[Key]*memEntry)}
}

// Put implements PartStore.
func (m *MemoryStore) Put(_ context.Context, key Key, p Part, now time.Time) ([]Part, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		if len(m.entries) >= m.max {
			return nil, false, ErrStoreFull
		}
		e = &memEntry{first: now}
		m.entries[key] = e
	}
	if slices.ContainsFunc(e.parts, func(q Part) bool { return q.Seq == p.Seq }) {
		return slices.Clone(e.parts), false, nil
	}
	p.Units = slices.Clone(p.Units)
	e.parts = append(e.parts, p)
	return slices.Clone(e.parts), true, nil
}

// Parts implements PartStore.
func (m *MemoryStore) Parts(_ context.Context, key Key) ([]Part, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[key]; ok {
		return slices.Clone(e.parts), nil
	}
	return nil, nil
}

// Delete implements PartStore.
func (m *MemoryStore) Delete(_ context.Context, key Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, key)
	return nil
}

// Expired implements PartStore.
func (m *MemoryStore) Expired(_ context.Context, cutoff time.Time, limit int) ([]Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	type aged struct {
		key   Key
		first time.Time
	}
	var old []aged
	for k, e := range m.entries {
		if e.first.Before(cutoff) {
			old = append(old, aged{k, e.first})
		}
	}
	slices.SortFunc(old, func(a, b aged) int {
		return cmp.Or(a.first.Compare(b.first), cmp.Compare(a.key.Partner, b.key.Partner),
			cmp.Compare(a.key.Source, b.key.Source), cmp.Compare(a.key.Destination, b.key.Destination),
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
