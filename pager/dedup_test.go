package pager

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

func TestDedup(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	t.Run("first copy leads, later copies see its answer", func(t *testing.T) {
		d := newDedup(time.Minute, 10)
		e, first := d.begin("a", now)
		if !first {
			t.Fatal("first copy not first")
		}
		e2, first2 := d.begin("a", now)
		if first2 || e2 != e {
			t.Fatal("second copy leads")
		}
		d.finish("a", e, nil)
		if err := e2.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a failure is forgotten", func(t *testing.T) {
		d := newDedup(time.Minute, 10)
		e, _ := d.begin("a", now)
		d.finish("a", e, errors.New("store down"))
		if err := e.wait(context.Background()); err == nil {
			t.Fatal("waiter did not see the failure")
		}
		if _, first := d.begin("a", now); !first {
			t.Fatal("a failed request is remembered")
		}
	})
	t.Run("entries expire after the ttl", func(t *testing.T) {
		d := newDedup(time.Minute, 10)
		e, _ := d.begin("a", now)
		d.finish("a", e, nil)
		if _, first := d.begin("a", now.Add(59*time.Second)); first {
			t.Fatal("forgotten before the ttl")
		}
		if _, first := d.begin("a", now.Add(61*time.Second)); !first {
			t.Fatal("remembered after the ttl")
		}
	})
	t.Run("size is bounded", func(t *testing.T) {
		d := newDedup(time.Hour, 100)
		for i := range 5000 {
			e, _ := d.begin(strconv.Itoa(i), now)
			d.finish(strconv.Itoa(i), e, nil)
		}
		if n := d.size(); n > 100 {
			t.Fatalf("%d entries kept", n)
		}
		if _, first := d.begin("4999", now); first {
			t.Fatal("the newest entry was evicted")
		}
	})
	t.Run("a pending entry is kept for its waiters", func(t *testing.T) {
		d := newDedup(time.Second, 10)
		e, _ := d.begin("slow", now)
		e2, first := d.begin("slow", now.Add(2*time.Second))
		if first || e2 != e {
			t.Fatal("a pending entry expired under its waiters")
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := e2.wait(ctx); !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	})
}
