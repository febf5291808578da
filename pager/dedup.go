package pager

import (
	"context"
	"sync"
	"time"
)

// dedup remembers the requests this node answered recently, so that a
// request sent again (a new transaction with the same Call-ID, CSeq and
// From tag: a client retry after a lost 202, a copy through another
// proxy) is answered without a second Accept, and two copies arriving
// together wait for one Accept. The Store deduplicates across nodes and
// restarts; this saves it the round trip and closes the race.
type dedup struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[string]*dedupEntry
	order   []dedupKey // insertion order = expiry order (one TTL)
	head    int
}

type dedupKey struct {
	id      string
	entry   *dedupEntry
	expires time.Time
}

type dedupEntry struct {
	done chan struct{} // closed when the first copy has its answer
	err  error         // that answer: nil for 202
}

func newDedup(ttl time.Duration, max int) *dedup {
	return &dedup{ttl: ttl, max: max, entries: map[string]*dedupEntry{}}
}

// begin returns the entry for id and whether the caller is first, and so
// must call finish. Later callers wait on entry.done.
func (d *dedup) begin(id string, now time.Time) (*dedupEntry, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expire(now)
	if e, ok := d.entries[id]; ok {
		return e, false
	}
	e := &dedupEntry{done: make(chan struct{})}
	d.entries[id] = e
	d.order = append(d.order, dedupKey{id: id, entry: e, expires: now.Add(d.ttl)})
	return e, true
}

// finish records the answer of the first copy. A failed Accept is
// forgotten, so that the sender's next retry tries again.
func (d *dedup) finish(id string, e *dedupEntry, err error) {
	d.mu.Lock()
	e.err = err
	if err != nil && d.entries[id] == e {
		delete(d.entries, id)
	}
	d.mu.Unlock()
	close(e.done)
}

// wait blocks until the first copy has its answer.
func (e *dedupEntry) wait(ctx context.Context) error {
	select {
	case <-e.done:
		return e.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// expire drops entries past their TTL and the oldest beyond max. Called
// with d.mu held.
func (d *dedup) expire(now time.Time) {
	for d.head < len(d.order) {
		k := d.order[d.head]
		if now.Before(k.expires) && len(d.order)-d.head < d.max {
			break
		}
		if d.entries[k.id] == k.entry {
			select {
			case <-k.entry.done:
			default:
				// Still being accepted: keep it for its waiters, it
				// goes with a later expiry pass.
				if len(d.order)-d.head < 2*d.max {
					return
				}
			}
			delete(d.entries, k.id)
		}
		d.order[d.head] = dedupKey{}
		d.head++
	}
	if d.head > len(d.order)/2 && d.head > 1024 {
		d.order = append(d.order[:0], d.order[d.head:]...)
		d.head = 0
	}
}

// size is the number of remembered requests.
func (d *dedup) size() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.entries)
}
