package interwork

import (
	"context"
	"reflect"
	"sync"
	"time"
)

// sharedDeadlines hands out bounded contexts for the calls made under
// long-lived contexts (a conversation's worker, the receipt senders):
// two or three owed receipts, a deliver_sm and its settling per message,
// each bounded on its own, cost a context.WithTimeout each: its context,
// timer, timer func, cancel func and, once waited on, done channel. The
// calls under one parent within a quarter of the bound share one
// instead, so that each call is bounded by at least d and at most
// d+d/4, and a dead store still cannot hold a worker for longer.
//
// The zero value is ready. The contexts are real-time (context
// deadlines are), not the engine's clock.
type sharedDeadlines struct {
	mu sync.Mutex
	m  map[deadlineKey]*sharedDeadline
	// sweepAt is the size at which the next new entry first drops the
	// entries whose context ended: a parent's entries outlive it by at
	// most a bound and a sweep.
	sweepAt int
}

type deadlineKey struct {
	parent context.Context
	d      time.Duration
	// detached: the context is of context.WithoutCancel(parent), for
	// work that must outlive a stop.
	detached bool
}

type sharedDeadline struct {
	ctx      context.Context
	cancel   context.CancelFunc
	deadline time.Time
}

// deadlineSlack is the share of the bound by which a shared context may
// outlast it: a new one is made once less than the bound is left.
const deadlineSlack = 4

func noCancel() {}

// within returns a context of parent (of context.WithoutCancel(parent)
// when detached) that ends between d and d+d/4 from now, and the func
// to call once done with it.
func (s *sharedDeadlines) within(parent context.Context, d time.Duration, detached bool) (context.Context, context.CancelFunc) {
	now := time.Now()
	if !detached {
		if dl, ok := parent.Deadline(); ok && dl.Sub(now) <= d {
			return parent, noCancel // bounded already
		}
	}
	// A context that == cannot compare cannot be a map key: one of its
	// own. (Most are pointers; reflect.Value.Comparable allocates.)
	if reflect.TypeOf(parent).Kind() != reflect.Pointer && !reflect.ValueOf(parent).Comparable() {
		return withTimeout(parent, d, detached)
	}
	key := deadlineKey{parent: parent, d: d, detached: detached}
	s.mu.Lock()
	defer s.mu.Unlock()
	sd, ok := s.m[key]
	if ok && sd.deadline.Sub(now) >= d && sd.ctx.Err() == nil {
		return sd.ctx, noCancel
	}
	if !ok {
		if len(s.m) >= s.sweepAt {
			s.sweep()
			s.sweepAt = max(64, 2*len(s.m))
		}
		if s.m == nil {
			s.m = make(map[deadlineKey]*sharedDeadline)
		}
		sd = new(sharedDeadline)
		s.m[key] = sd
	}
	// The context replaced is left to its timer: calls may hold it.
	sd.deadline = now.Add(d + d/deadlineSlack)
	sd.ctx, sd.cancel = context.WithDeadline(detach(parent, detached), sd.deadline)
	return sd.ctx, noCancel
}

// sweep drops the entries whose context ended (its parent's end, or its
// deadline: a parent that calls again gets a new one); s.mu is held.
func (s *sharedDeadlines) sweep() {
	for k, sd := range s.m {
		if sd.ctx.Err() != nil {
			sd.cancel()
			delete(s.m, k)
		}
	}
}

// size is how many entries there are.
func (s *sharedDeadlines) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func withTimeout(parent context.Context, d time.Duration, detached bool) (context.Context, context.CancelFunc) {
	return context.WithTimeout(detach(parent, detached), d)
}

func detach(ctx context.Context, detached bool) context.Context {
	if detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}
