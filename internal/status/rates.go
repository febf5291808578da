package status

import (
	"sync"
	"time"
)

// rateSpan is how many one-second buckets a key keeps: the longest
// window the page shows, five minutes.
const rateSpan = 300

// MaxRateKeys caps the keys a Rates holds. Keys are partner and bind
// names, which come from configuration and from the addresses partners
// bind from; past the cap new keys are not tracked (their rate reads 0).
const MaxRateKeys = 4096

// Rate is an event rate in events per second, averaged over the last
// minute and the last five minutes.
type Rate struct {
	PerSec1m float64 `json:"per_sec_1m"`
	PerSec5m float64 `json:"per_sec_5m"`
}

// Rates counts events per key in a ring of one-second buckets spanning
// five minutes, for the rates the status page shows: a key costs 5 KiB,
// whatever the traffic. It is safe for concurrent use; a nil *Rates
// counts nothing and reads zero.
type Rates struct {
	now func() time.Time

	mu    sync.Mutex
	rings map[string]*rateRing
	// totals are the last cumulative value Observe saw per key.
	totals map[string]int64
}

// rateRing holds the counts of the last rateSpan seconds: bucket i holds
// second secs[i], so a bucket left from an earlier turn of the ring is
// told apart from a current one and never counted.
type rateRing struct {
	counts [rateSpan]int64
	secs   [rateSpan]int64
}

// NewRates returns an empty Rates reading the time from now (time.Now
// when nil); tests pass a fake clock.
func NewRates(now func() time.Time) *Rates {
	if now == nil {
		now = time.Now
	}
	return &Rates{now: now, rings: make(map[string]*rateRing), totals: make(map[string]int64)}
}

// Add counts n events for key now.
func (r *Rates) Add(key string, n int64) {
	if r == nil || n <= 0 {
		return
	}
	sec := r.now().Unix()
	r.mu.Lock()
	r.addLocked(key, sec, n)
	r.mu.Unlock()
}

// Observe takes a cumulative counter's current total for key and counts
// what it grew by since the last Observe. The first value seen is a
// baseline, not a burst; a total that went down (the counted thing was
// made anew) is a new baseline too.
func (r *Rates) Observe(key string, total int64) {
	if r == nil {
		return
	}
	sec := r.now().Unix()
	r.mu.Lock()
	defer r.mu.Unlock()
	last, seen := r.totals[key]
	if !seen && len(r.totals) >= MaxRateKeys {
		return
	}
	r.totals[key] = total
	if seen && total > last {
		r.addLocked(key, sec, total-last)
	}
}

func (r *Rates) addLocked(key string, sec, n int64) {
	ring, ok := r.rings[key]
	if !ok {
		if len(r.rings) >= MaxRateKeys {
			return
		}
		ring = &rateRing{}
		r.rings[key] = ring
	}
	i := sec % rateSpan
	if i < 0 {
		i += rateSpan
	}
	if ring.secs[i] != sec {
		ring.secs[i], ring.counts[i] = sec, 0
	}
	ring.counts[i] += n
}

// Rate is key's rate now over the last 1 and 5 minutes (the current,
// partial second included).
func (r *Rates) Rate(key string) Rate {
	if r == nil {
		return Rate{}
	}
	now := r.now().Unix()
	r.mu.Lock()
	defer r.mu.Unlock()
	ring, ok := r.rings[key]
	if !ok {
		return Rate{}
	}
	var last1, last5 int64
	for i, sec := range ring.secs {
		age := now - sec
		if age < 0 || age >= rateSpan {
			continue
		}
		last5 += ring.counts[i]
		if age < 60 {
			last1 += ring.counts[i]
		}
	}
	return Rate{PerSec1m: float64(last1) / 60, PerSec5m: float64(last5) / rateSpan}
}

// Keys of a Rates for partner traffic, as Metrics.Message feeds them.
func partnerInKey(partner string) string  { return "partner_in\x00" + partner }
func partnerOutKey(partner string) string { return "partner_out\x00" + partner }

// PartnerRates are a partner's in and out rates: messages it sent that
// were accepted, and messages delivered to it.
func (r *Rates) PartnerRates(partner string) PartnerRates {
	return PartnerRates{In: r.Rate(partnerInKey(partner)), Out: r.Rate(partnerOutKey(partner))}
}

// countMessage feeds a message event into the partner's rates: in is
// what the partner sent us and we accepted (toward the MSRP side), out
// what we delivered to it (toward the pager side).
func (r *Rates) countMessage(partner, direction, outcome string) {
	switch {
	case direction == DirToSession && outcome == OutcomeAccepted:
		r.Add(partnerInKey(partner), 1)
	case direction == DirToPager && outcome == OutcomeDelivered:
		r.Add(partnerOutKey(partner), 1)
	}
}
