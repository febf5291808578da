package store

import (
	"context"
	"fmt"
	"time"
)

// A schedule is a durable set of jobs, each under an id with a value and
// a due time, that any node may take when due (delivery receipts owed to
// partner ESMEs). Taking a job does not remove it: it only moves its due
// time on by a hold, so that a node that dies with a job in hand loses
// nothing, and another node takes the job once the hold is over. The
// taker settles the job with Unschedule once done, or Reschedule to try
// again later. Both are conditional on the value it took: a newer value
// put under the same id meanwhile (a final receipt replacing a
// provisional one) is neither removed nor pushed back.
//
// Keys: iwf:{sched:<name>}:z, a sorted set of ids by due time (Unix ms),
// and iwf:{sched:<name>}:h, a hash of id -> value; one hash tag, so the
// scripts touching both are legal on a cluster.

func (k keys) schedule(name string) (due, values string) {
	base := k.conv("sched:" + name)
	return base + ":z", base + ":h"
}

// Scheduled is one job taken from a schedule.
type Scheduled struct {
	ID    string
	Value []byte
}

// Schedule puts value under id in the named schedule, due at due; an id
// already there takes the new value and due time. A schedule holding
// maxLen jobs refuses new ids (ErrQueueFull). The schedule expires at
// least ttl after its latest write, and at most a sixteenth of ttl (ten
// minutes at most) later: jobs nobody took by then are past use. Its
// expiry only grows, in steps of that slack, so that writes close
// together rewrite it once.
//
// Concurrent writes of a schedule (Schedule, Reschedule, Unschedule) are
// gathered as Enqueues are and written as one script call per schedule
// (batch.go), in the order they came, each caller getting its own
// outcome.
func (s *Store) Schedule(ctx context.Context, name, id string, value []byte, due time.Time, maxLen int, ttl time.Duration) error {
	const op = "schedule"
	if name == "" || id == "" || maxLen <= 0 || ttl <= 0 {
		return invalid(op, "schedule %q id %q max length %d ttl %v", name, id, maxLen, ttl)
	}
	n, err := s.writeSchedule(&schedReq{waiter: newWaiter(ctx), name: name, kind: 's', id: id, value: value,
		at: due.UnixMilli(), maxLen: maxLen, ttl: ms(ttl)})
	if err != nil {
		return wrap(op, err)
	}
	if n < 0 {
		return fmt.Errorf("store: schedule: %d jobs: %w", maxLen, ErrQueueFull)
	}
	return nil
}

// TakeDue returns up to count jobs of the named schedule due at now,
// earliest first, and makes each due again hold after now: the caller
// settles each with Unschedule or Reschedule before then, or another
// taker gets it.
func (s *Store) TakeDue(ctx context.Context, name string, now time.Time, hold time.Duration, count int) ([]Scheduled, error) {
	const op = "take due"
	if name == "" || hold <= 0 || count <= 0 {
		return nil, invalid(op, "schedule %q hold %v count %d", name, hold, count)
	}
	z, h := s.keys.schedule(name)
	raw, err := s.lua.takeDue.Run(ctx, s.client, []string{z, h}, now.UnixMilli(), ms(hold), count).Slice()
	if err != nil {
		return nil, wrap(op, err)
	}
	// The values share one buffer: one allocation for the batch instead
	// of one per job.
	size := 0
	for i := 1; i < len(raw); i += 2 {
		v, _ := raw[i].(string)
		size += len(v)
	}
	buf := make([]byte, 0, size)
	out := make([]Scheduled, 0, len(raw)/2)
	for i := 0; i+1 < len(raw); i += 2 {
		id, ok1 := raw[i].(string)
		v, ok2 := raw[i+1].(string)
		if !ok1 || !ok2 {
			return nil, corrupt(op, "schedule %q: entry %d is not two strings", name, i/2)
		}
		at := len(buf)
		buf = append(buf, v...)
		// Capped: a caller appending to one value must not write into
		// the next.
		out = append(out, Scheduled{ID: id, Value: buf[at:len(buf):len(buf)]})
	}
	return out, nil
}

// Reschedule makes job id due at due, provided it still holds value;
// false when it does not (settled, or replaced by a newer value).
func (s *Store) Reschedule(ctx context.Context, name, id string, value []byte, due time.Time) (bool, error) {
	return s.settle(&schedReq{waiter: newWaiter(ctx), name: name, kind: 'r', id: id, value: value, at: due.UnixMilli()}, "reschedule")
}

// Unschedule removes job id, provided it still holds value; false when
// it does not.
func (s *Store) Unschedule(ctx context.Context, name, id string, value []byte) (bool, error) {
	return s.settle(&schedReq{waiter: newWaiter(ctx), name: name, kind: 'u', id: id, value: value}, "unschedule")
}

func (s *Store) settle(r *schedReq, op string) (bool, error) {
	if r.name == "" || r.id == "" {
		return false, invalid(op, "schedule %q id %q", r.name, r.id)
	}
	n, err := s.writeSchedule(r)
	if err != nil {
		return false, wrap(op, err)
	}
	return n == 1, nil
}
