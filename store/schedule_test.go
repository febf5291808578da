package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"iwf/internal/testutil"
)

// A job is taken when due, stays in the schedule while held (a taker that
// dies loses nothing), is settled only with the value it was taken with,
// and a newer value under its id survives the settling of the old.
func TestSchedule(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		must(t, e.s.Schedule(ctx, "receipts:demo", "a", []byte("va"), t0, 2, time.Hour))
		must(t, e.s.Schedule(ctx, "receipts:demo", "b", []byte("vb"), t0.Add(time.Minute), 2, time.Hour))
		if err := e.s.Schedule(ctx, "receipts:demo", "c", []byte("vc"), t0, 2, time.Hour); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("Schedule over the bound: %v", err)
		}
		// Replacing an id is no new job.
		must(t, e.s.Schedule(ctx, "receipts:demo", "a", []byte("va"), t0, 2, time.Hour))
		got, err := e.s.TakeDue(ctx, "receipts:demo", t0, time.Minute, 10)
		if err != nil || len(got) != 1 || got[0].ID != "a" || string(got[0].Value) != "va" {
			t.Fatalf("TakeDue = %+v, %v", got, err)
		}
		// Held: not due again before the hold is over.
		if got, _ := e.s.TakeDue(ctx, "receipts:demo", t0.Add(30*time.Second), time.Minute, 10); len(got) != 0 {
			t.Fatalf("taken again while held: %+v", got)
		}
		// The taker died: after the hold, another taker gets it, b too.
		got, err = e.s.TakeDue(ctx, "receipts:demo", t0.Add(time.Minute), time.Minute, 10)
		if err != nil || len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" {
			t.Fatalf("TakeDue after the hold = %+v, %v", got, err)
		}
		// A newer value replaced a meanwhile: settling the old one leaves it.
		must(t, e.s.Schedule(ctx, "receipts:demo", "a", []byte("va2"), t0, 2, time.Hour))
		if ok, err := e.s.Unschedule(ctx, "receipts:demo", "a", []byte("va")); err != nil || ok {
			t.Fatalf("Unschedule of a replaced value: %v %v", ok, err)
		}
		if ok, err := e.s.Reschedule(ctx, "receipts:demo", "a", []byte("va"), t0.Add(time.Hour)); err != nil || ok {
			t.Fatalf("Reschedule of a replaced value: %v %v", ok, err)
		}
		if ok, err := e.s.Reschedule(ctx, "receipts:demo", "b", []byte("vb"), t0.Add(time.Hour)); err != nil || !ok {
			t.Fatalf("Reschedule: %v %v", ok, err)
		}
		got, err = e.s.TakeDue(ctx, "receipts:demo", t0.Add(2*time.Minute), time.Minute, 10)
		if err != nil || len(got) != 1 || string(got[0].Value) != "va2" {
			t.Fatalf("TakeDue = %+v, %v", got, err)
		}
		if ok, err := e.s.Unschedule(ctx, "receipts:demo", "a", []byte("va2")); err != nil || !ok {
			t.Fatalf("Unschedule: %v %v", ok, err)
		}
		if got, _ := e.s.TakeDue(ctx, "receipts:demo", t0.Add(59*time.Minute), time.Minute, 10); len(got) != 0 {
			t.Fatalf("due before its time: %+v", got)
		}
		if got, _ := e.s.TakeDue(ctx, "receipts:demo", t0.Add(time.Hour), time.Minute, 10); len(got) != 1 || got[0].ID != "b" {
			t.Fatalf("rescheduled job: %+v", got)
		}
		if _, err := e.s.TakeDue(ctx, "", t0, time.Minute, 1); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("TakeDue of no schedule: %v", err)
		}
	})
}

// TakeDue takes more jobs than its script reads at once (1000), earliest
// first, drops an id whose value is gone (a torn write) and holds every
// job it took; the values it returns are each the caller's own.
func TestTakeDueMany(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		const name, n = "receipts:many", 2500
		t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		z, h := e.s.keys.schedule(name)
		var zs []redis.Z
		var fields []any
		for i := range n {
			id := fmt.Sprintf("%04d", i)
			zs = append(zs, redis.Z{Score: float64(t0.Add(time.Duration(i) * time.Millisecond).UnixMilli()), Member: id})
			if i != 1500 { // torn
				fields = append(fields, id, "v"+id)
			}
		}
		raw := e.raw(t)
		must(t, raw.ZAdd(ctx, z, zs...).Err())
		must(t, raw.HSet(ctx, h, fields...).Err())
		got, err := e.s.TakeDue(ctx, name, t0.Add(time.Hour), time.Minute, n+10)
		must(t, err)
		if len(got) != n-1 {
			t.Fatalf("TakeDue took %d jobs, want %d", len(got), n-1)
		}
		for i, j := range got {
			k := i
			if i >= 1500 {
				k++
			}
			if want := fmt.Sprintf("%04d", k); j.ID != want || string(j.Value) != "v"+want {
				t.Fatalf("job %d = %s=%s, want %s=v%s", i, j.ID, j.Value, want, want)
			}
		}
		_ = append(got[0].Value, "more"...)
		if string(got[1].Value) != "v0001" {
			t.Errorf("appending to one value changed the next: %q", got[1].Value)
		}
		if again, err := e.s.TakeDue(ctx, name, t0.Add(time.Hour), time.Minute, n); err != nil || len(again) != 0 {
			t.Errorf("taken again while held: %d jobs, %v", len(again), err)
		}
		if card := raw.ZCard(ctx, z).Val(); card != n-1 {
			t.Errorf("schedule holds %d ids, want %d: the torn one dropped", card, n-1)
		}
	})
}
