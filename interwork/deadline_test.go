package interwork

import (
	"context"
	"errors"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/smpp"
	"iwf/store"
)

type ctxKey struct{}

// TestSharedDeadlines checks what within hands out: one context for the
// calls under one parent, bounded by d to d+d/4, a new one once less
// than d is left, and what the parent's end does.
func TestSharedDeadlines(t *testing.T) {
	const d = time.Hour
	t.Run("shared and bounded", func(t *testing.T) {
		var s sharedDeadlines
		parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
		defer cancel()
		before := time.Now()
		a, _ := s.within(parent, d, false)
		b, _ := s.within(parent, d, false)
		after := time.Now()
		if a != b {
			t.Fatal("two calls under one parent got two contexts")
		}
		dl, ok := a.Deadline()
		if !ok || dl.Before(before.Add(d)) || dl.After(after.Add(d+d/deadlineSlack)) {
			t.Fatalf("deadline %v, want between %v and %v", dl, before.Add(d), after.Add(d+d/deadlineSlack))
		}
		if a.Value(ctxKey{}) != "v" {
			t.Fatal("the parent's values are lost")
		}
		if c, _ := s.within(parent, d/2, false); c == a {
			t.Fatal("another bound got the same context")
		}
		// Less than d left: a new one.
		s.mu.Lock()
		s.m[deadlineKey{parent, d, false}].deadline = time.Now().Add(d - time.Minute)
		s.mu.Unlock()
		if c, _ := s.within(parent, d, false); c == a {
			t.Fatal("a context with less than the bound left was handed out again")
		}
	})
	t.Run("parent ends", func(t *testing.T) {
		var s sharedDeadlines
		parent, cancel := context.WithCancel(context.Background())
		a, _ := s.within(parent, d, false)
		kept, _ := s.within(parent, d, true)
		cancel()
		<-a.Done()
		if kept.Err() != nil {
			t.Fatal("the detached context ended with its parent")
		}
		s.mu.Lock()
		s.sweep()
		s.mu.Unlock()
		if s.size() != 1 {
			t.Fatalf("%d entries after the sweep, want the detached one", s.size())
		}
	})
	t.Run("swept as it grows", func(t *testing.T) {
		var s sharedDeadlines
		for range 1000 {
			parent, cancel := context.WithCancel(context.Background())
			s.within(parent, d, false)
			cancel()
		}
		if n := s.size(); n > 64 {
			t.Fatalf("%d entries of ended parents kept", n)
		}
	})
	t.Run("parent bounded already", func(t *testing.T) {
		var s sharedDeadlines
		parent, cancel := context.WithTimeout(context.Background(), d/2)
		defer cancel()
		if c, _ := s.within(parent, d, false); c != parent {
			t.Fatal("a parent ending sooner than the bound was not used as it is")
		}
		if s.size() != 0 {
			t.Fatal("an entry was made")
		}
	})
	t.Run("detached parent", func(t *testing.T) {
		// A worker finishing what it started after its stop passes
		// context.WithoutCancel of its context.
		var s sharedDeadlines
		parent, cancel := context.WithCancel(context.Background())
		defer cancel()
		a, _ := s.within(context.WithoutCancel(parent), d, false)
		b, _ := s.within(context.WithoutCancel(parent), d, false)
		if a != b {
			t.Fatal("two calls under one detached parent got two contexts")
		}
	})
	t.Run("parent that cannot be a key", func(t *testing.T) {
		var s sharedDeadlines
		parent := uncomparableCtx{Context: context.Background()}
		a, cancelA := s.within(parent, d, false)
		b, cancelB := s.within(parent, d, false)
		defer cancelB()
		if a == b || s.size() != 0 {
			t.Fatal("an uncomparable parent was made a key")
		}
		cancelA()
		if a.Err() == nil || b.Err() != nil {
			t.Fatal("the cancel funcs of contexts of their own do not cancel them")
		}
	})
}

// uncomparableCtx is a context == cannot compare.
type uncomparableCtx struct {
	context.Context
	_ []byte
}

// blockedRecords is a store that answers nothing: its Schedule waits
// for the call's context.
type blockedRecords struct{ Records }

func (blockedRecords) Schedule(ctx context.Context, _, _ string, _ []byte, _ time.Time, _ int, _ time.Duration) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestOweBoundedWhenStoreHangs checks that a store that does not answer
// does not hold the worker owing a receipt: each attempt ends at its
// bound, shared context or not.
func TestOweBoundedWhenStoreHangs(t *testing.T) {
	e := &Engine{cfg: Config{Records: blockedRecords{}, StoreWait: time.Millisecond, Now: time.Now}}
	p := &partner{Partner: Partner{Name: "demo"}}
	worker, cancel := context.WithCancel(testutil.Context(t))
	defer cancel()
	now := time.Now()
	err := e.owe(worker, p, benchOwedMessage(), Unconfirmed, now, now)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("owe = %v, want the store's wait bounded", err)
	}
}

// slowSMS notes when its deliver_sm was answered.
type slowSMS struct {
	SMS
	answered time.Time
}

func (s *slowSMS) Deliver(context.Context, string, *smpp.Message) error {
	s.answered = time.Now()
	return nil
}

// deadlineRecords notes the deadline its Unschedule was given.
type deadlineRecords struct {
	Records
	deadline time.Time
}

func (r *deadlineRecords) Unschedule(ctx context.Context, _, _ string, _ []byte) (bool, error) {
	r.deadline, _ = ctx.Deadline()
	return true, nil
}

// TestReceiptSettleBoundAfterDeliver checks that settling a sent
// receipt gets its whole StoreWait from when the deliver_sm was
// answered: bounded from before it, an ESME slower than StoreWait left
// every receipt it took unsettled, to be sent again.
func TestReceiptSettleBoundAfterDeliver(t *testing.T) {
	sms, rec := &slowSMS{}, &deadlineRecords{}
	e := &Engine{cfg: Config{Records: rec, SMS: sms, StoreWait: time.Minute, Now: time.Now}}
	p := &partner{Partner: Partner{Name: "demo"}, counters: new(counters)}
	v, err := appendOwedReceiptJSON(nil, &owedReceipt{Message: benchOwedMessage(), Outcome: Delivered, Done: 1})
	if err != nil {
		t.Fatal(err)
	}
	j, ok := e.readJob(p, store.Scheduled{ID: "x", Value: v})
	if !ok {
		t.Fatal("unreadable")
	}
	e.receipt(testutil.Context(t), j)
	if rec.deadline.IsZero() || rec.deadline.Sub(sms.answered) < e.cfg.StoreWait {
		t.Fatalf("settled with %v left after the deliver_sm's answer, want at least %v", rec.deadline.Sub(sms.answered), e.cfg.StoreWait)
	}
}
