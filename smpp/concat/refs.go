package concat

import (
	"context"
	"sync"
)

// RefAllocator hands out concatenation reference numbers. Consecutive
// messages to one destination get different numbers, so a handset never
// merges the segments of two messages (TS 23.040 9.2.3.24.1: the reference
// "shall remain constant for every short message which makes up a
// particular concatenated short message"). UDH8 uses the low 8 bits.
type RefAllocator interface {
	NextRef(ctx context.Context, destination string) (uint16, error)
}

// MemoryRefs is a RefAllocator for one process. It keeps a counter per
// destination, at most a fixed number of them: when full it forgets them
// all and later destinations start at fresh, spread values.
type MemoryRefs struct {
	mu   sync.Mutex
	max  int
	seed uint16
	next map[string]uint16
}

// NewMemoryRefs returns an allocator that remembers up to maxDestinations
// counters (0 means 100000), starting new destinations at values spread
// from start so that a restart need not reuse the same numbers.
func NewMemoryRefs(maxDestinations int, start uint16) *MemoryRefs {
	if maxDestinations <= 0 {
		maxDestinations = 100000
	}
	return &MemoryRefs{max: maxDestinations, seed: start, next: make(map[string]uint16)}
}

// NextRef returns the next reference for destination. It never fails.
func (m *MemoryRefs) NextRef(_ context.Context, destination string) (uint16, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ref, ok := m.next[destination]
	if !ok {
		if len(m.next) >= m.max {
			clear(m.next)
		}
		// A new destination starts where the last new one left off, plus
		// an odd stride, so neither its 16-bit nor its 8-bit references
		// line up with a neighbour's.
		m.seed += 0x9E3B
		ref = m.seed
	}
	m.next[destination] = ref + 1
	return ref, nil
}
