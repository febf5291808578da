package smpp

import (
	"context"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		name     string
		min, max time.Duration
		steps    int
		// bases the jittered waits fall in: [base/2, base]
		bases []time.Duration
	}{
		{"doubles to the cap", 100 * time.Millisecond, time.Second, 6,
			[]time.Duration{100, 200, 400, 800, 1000, 1000}},
		{"min equals max", time.Second, time.Second, 3, []time.Duration{1000, 1000, 1000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 50 { // jitter is random: check the bounds many times
				b := newBackoff(tc.min, tc.max)
				for i := range tc.steps {
					base := tc.bases[i] * time.Millisecond
					if d := b.next(); d < base/2 || d > base {
						t.Fatalf("step %d: %s outside [%s, %s]", i, d, base/2, base)
					}
				}
				b.reset()
				if d := b.next(); d > tc.min {
					t.Fatalf("after reset %s above min %s", d, tc.min)
				}
			}
		})
	}
}

func TestBucket(t *testing.T) {
	tests := []struct {
		name  string
		rate  float64
		burst int
		takes int
		want  time.Duration
	}{
		{"unlimited never waits", 0, 1, 100, 0},
		{"burst is free", 10, 5, 5, 0},
		{"then one per 1/rate", 10, 5, 8, 300 * time.Millisecond},
		{"burst 1", 1000, 1, 1001, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newFakeClock()
			b := newBucket(clk, tc.rate, tc.burst)
			for range tc.takes {
				if err := b.take(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if got := clk.total(); got < tc.want-time.Microsecond || got > tc.want+time.Microsecond {
				t.Errorf("waited %s, want %s", got, tc.want)
			}
			if b.count() != uint64(tc.takes) {
				t.Errorf("counted %d", b.count())
			}
		})
	}
}

func TestBucketRefills(t *testing.T) {
	clk := newFakeClock()
	b := newBucket(clk, 10, 2)
	ctx := context.Background()
	_ = b.take(ctx)
	_ = b.take(ctx)
	// Idle for a second: the bucket refills to its burst, no more.
	_ = clk.Sleep(ctx, time.Second)
	before := clk.total()
	for range 3 {
		_ = b.take(ctx)
	}
	if waited := clk.total() - before; waited != 100*time.Millisecond {
		t.Errorf("waited %s after idling, want 100ms (2 free, 1 at rate)", waited)
	}
}

func TestBucketCancelled(t *testing.T) {
	clk := newFakeClock()
	b := newBucket(clk, 1, 1)
	_ = b.take(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.take(ctx); err == nil {
		t.Fatal("take on a cancelled context succeeded")
	}
	if b.count() != 1 {
		t.Errorf("a cancelled take was counted: %d", b.count())
	}
}
