package smpp

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// clock is the time source of the token bucket and of every back-off, so
// tests can count waits instead of measuring wall time. Timeouts on the wire
// (responses, idle links) use real time.
type clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends, whichever is first.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff is exponential back-off with jitter: each step doubles the base
// from min up to max, and the wait is drawn from [base/2, base] ("equal
// jitter"), so binds dropped together do not return together while the
// wait never falls below half the configured floor.
type backoff struct {
	min, max time.Duration
	base     time.Duration
}

func newBackoff(min, max time.Duration) backoff { return backoff{min: min, max: max} }

// next returns the wait for this step and doubles the base for the next.
func (b *backoff) next() time.Duration {
	if b.base == 0 {
		b.base = b.min
	}
	d := b.base
	b.base = min(b.base*2, b.max)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// reset returns to the floor after a success.
func (b *backoff) reset() { b.base = 0 }

// bucket is a token bucket: rate tokens a second, at most burst stored. A
// rate of zero never waits.
type bucket struct {
	mu     sync.Mutex
	clk    clock
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	taken  uint64
}

func newBucket(clk clock, rate float64, burst int) *bucket {
	return &bucket{clk: clk, rate: rate, burst: float64(burst), tokens: float64(burst)}
}

// take waits until a token is available and consumes it. It reserves the
// token before waiting, so concurrent callers queue in order.
func (b *bucket) take(ctx context.Context) error {
	if b.rate <= 0 {
		b.mu.Lock()
		b.taken++
		b.mu.Unlock()
		return ctx.Err()
	}
	b.mu.Lock()
	now := b.clk.Now()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	b.tokens--
	b.taken++
	deficit := -b.tokens
	b.mu.Unlock()
	if deficit <= 0 {
		return nil
	}
	wait := time.Duration(deficit / b.rate * float64(time.Second))
	if err := b.clk.Sleep(ctx, wait); err != nil {
		b.giveBack()
		return err
	}
	return nil
}

// giveBack returns a token taken for a message that was not sent, so a
// bind that pauses or loses its message to another does not fall behind
// its rate.
func (b *bucket) giveBack() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rate <= 0 {
		b.taken--
		return
	}
	b.tokens = min(b.burst, b.tokens+1)
	b.taken--
}

// count is how many tokens were taken.
func (b *bucket) count() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.taken
}
