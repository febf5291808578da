package status

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Bounds of an Errors record. Errors are fed by code paths that handle
// bytes from partners, so both the number of keys and the size of each
// entry are capped: a flood of distinct failures costs bounded memory.
const (
	// DefaultErrorsPerPartner is how many errors NewErrors keeps per
	// partner when asked for zero or fewer.
	DefaultErrorsPerPartner = 10
	// MaxErrorPartners caps the partner keys an Errors holds. Errors for
	// further partner names (a bug or a misrouted peer: partner names come
	// from configuration) are kept under OtherPartner.
	MaxErrorPartners = 1024
	// OtherPartner is the key errors for partners past MaxErrorPartners
	// are kept under.
	OtherPartner = "_other"
	// MaxErrorLen caps the bytes kept of one error's text; longer texts
	// are cut at a rune boundary and end in "...".
	MaxErrorLen = 512
)

// Errors keeps the last N errors per partner for the status page. It is
// safe for concurrent use. Add allocates only for the error's text and,
// once per partner, for its ring. A nil *Errors records nothing.
type Errors struct {
	per   int
	mu    sync.Mutex
	rings map[string]*errorRing
}

// errorRing is a fixed-size ring; next is where the next entry goes and n
// how many entries are valid.
type errorRing struct {
	entries []ErrorEntry
	next    int
	n       int
}

// NewErrors returns an Errors that keeps the last perPartner errors of each
// partner (DefaultErrorsPerPartner when perPartner < 1).
func NewErrors(perPartner int) *Errors {
	if perPartner < 1 {
		perPartner = DefaultErrorsPerPartner
	}
	return &Errors{per: perPartner, rings: make(map[string]*errorRing)}
}

// Add records err for partner, noting where it happened. A nil err is
// ignored.
func (e *Errors) Add(partner, where string, err error) {
	if e == nil || err == nil {
		return
	}
	// Format outside the lock: Error() may be arbitrarily slow. The time
	// is read under it, so that ring order and timestamps agree.
	entry := ErrorEntry{Where: where, Error: clip(err.Error(), MaxErrorLen)}
	e.mu.Lock()
	entry.Time = time.Now()
	r, ok := e.rings[partner]
	if !ok {
		if len(e.rings) >= MaxErrorPartners {
			partner = OtherPartner
			r, ok = e.rings[partner]
		}
		if !ok {
			r = &errorRing{entries: make([]ErrorEntry, e.per)}
			e.rings[partner] = r
		}
	}
	r.entries[r.next] = entry
	r.next = (r.next + 1) % len(r.entries)
	if r.n < len(r.entries) {
		r.n++
	}
	e.mu.Unlock()
}

// Last returns partner's recorded errors, newest first, in a new slice the
// caller owns. It returns an empty (non-nil) slice when there are none.
func (e *Errors) Last(partner string) []ErrorEntry {
	if e == nil {
		return []ErrorEntry{}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.rings[partner]
	if !ok {
		return []ErrorEntry{}
	}
	out := make([]ErrorEntry, r.n)
	for i := range out {
		// Walk backwards from the slot before next: newest first.
		out[i] = r.entries[(r.next-1-i+2*len(r.entries))%len(r.entries)]
	}
	return out
}

// Recent returns the n most recent errors of all partners, newest
// first, each with its Partner set, in a new slice the caller owns
// (empty, not nil, when there are none).
func (e *Errors) Recent(n int) []ErrorEntry {
	if e == nil || n <= 0 {
		return []ErrorEntry{}
	}
	e.mu.Lock()
	var out []ErrorEntry
	for partner, r := range e.rings {
		for i := range r.n {
			entry := r.entries[(r.next-1-i+2*len(r.entries))%len(r.entries)]
			entry.Partner = partner
			out = append(out, entry)
		}
	}
	e.mu.Unlock()
	// Partners' rings interleave in time; ties (one clock reading for
	// two partners) fall back on the partner's name so the order is
	// stable between two refreshes.
	slices.SortStableFunc(out, func(a, b ErrorEntry) int {
		return cmp.Or(b.Time.Compare(a.Time), strings.Compare(a.Partner, b.Partner))
	})
	if len(out) > n {
		out = out[:n]
	}
	if out == nil {
		out = []ErrorEntry{}
	}
	return out
}

// clip cuts s to at most limit bytes without splitting a UTF-8 sequence,
// marking the cut with "...".
func clip(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const mark = "..."
	cut := limit - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
