package store

import (
	"errors"
	"testing"
	"time"

	"iwf/internal/testutil"
)

func TestPushPop(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		if _, ok, err := e.s.Pop(ctx, "receipts:demo", 0); err != nil || ok {
			t.Fatalf("Pop of an empty list: %v %v", ok, err)
		}
		must(t, e.s.Push(ctx, "receipts:demo", []byte("a"), 2, time.Hour))
		must(t, e.s.Push(ctx, "receipts:demo", []byte{0, 0xff}, 2, time.Hour))
		if err := e.s.Push(ctx, "receipts:demo", []byte("c"), 2, time.Hour); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("Push over the bound: %v", err)
		}
		if v, ok, err := e.s.Pop(ctx, "receipts:demo", 0); err != nil || !ok || string(v) != "a" {
			t.Fatalf("first Pop %q %v %v", v, ok, err)
		}
		if v, ok, err := e.s.Pop(ctx, "receipts:demo", time.Second); err != nil || !ok || string(v) != "\x00\xff" {
			t.Fatalf("blocking Pop %q %v %v", v, ok, err)
		}
		got := make(chan string, 1)
		go func() {
			v, _, _ := e.s.Pop(ctx, "receipts:demo", 5*time.Second)
			got <- string(v)
		}()
		must(t, e.s.Push(ctx, "receipts:demo", []byte("late"), 2, time.Hour))
		if v := <-got; v != "late" {
			t.Fatalf("a waiting Pop got %q", v)
		}
		if err := e.s.Push(ctx, "", nil, 1, time.Hour); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("Push to no list: %v", err)
		}
	})
}

// TestPushExpires: a list nobody takes from is gone ttl after its latest
// push, so parked receipts of a partner that never binds again do not stay.
func TestPushExpires(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		must(t, e.s.Push(ctx, "receipts:gone", []byte("a"), 10, e.ttl))
		if ttl := e.raw(t).PTTL(ctx, e.s.keys.list("receipts:gone")).Val(); ttl <= 0 || ttl > e.ttl {
			t.Fatalf("list TTL %v, want within %v", ttl, e.ttl)
		}
		e.elapse(t, func() bool {
			n, err := e.raw(t).Exists(ctx, e.s.keys.list("receipts:gone")).Result()
			return err == nil && n == 0
		})
		if _, ok, err := e.s.Pop(ctx, "receipts:gone", 0); err != nil || ok {
			t.Fatalf("Pop after expiry: %v %v", ok, err)
		}
		if err := e.s.Push(ctx, "receipts:gone", nil, 1, 0); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("Push without ttl: %v", err)
		}
	})
}
