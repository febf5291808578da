package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
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

// luaScheduleJob: KEYS due, values; ARGV id, value, due ms, max jobs, ttl ms.
// Returns 1, or -1 when the schedule is full and id is new.
var luaScheduleJob = redis.NewScript(`
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 and redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[4]) then return -1 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1`)

// luaTakeDueJobs: KEYS due, values; ARGV now ms, hold ms, count. Returns id,
// value pairs of the due jobs, each now due again after the hold. An id
// without a value (a torn write) is dropped.
var luaTakeDueJobs = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
local later = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, id in ipairs(ids) do
  local v = redis.call('HGET', KEYS[2], id)
  if v then
    redis.call('ZADD', KEYS[1], later, id)
    table.insert(out, id)
    table.insert(out, v)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out`)

// luaSettleJob: KEYS due, values; ARGV id, value, due ms (empty: remove).
// Acts only while id still holds value; returns 1 when it did.
var luaSettleJob = redis.NewScript(`
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1`)

// Schedule puts value under id in the named schedule, due at due; an id
// already there takes the new value and due time. A schedule holding
// maxLen jobs refuses new ids (ErrQueueFull). The schedule expires ttl
// after its latest write: jobs nobody took by then are past use.
func (s *Store) Schedule(ctx context.Context, name, id string, value []byte, due time.Time, maxLen int, ttl time.Duration) error {
	const op = "schedule"
	if name == "" || id == "" || maxLen <= 0 || ttl <= 0 {
		return invalid(op, "schedule %q id %q max length %d ttl %v", name, id, maxLen, ttl)
	}
	z, h := s.keys.schedule(name)
	cmd, err := s.runScript(ctx, luaScheduleJob, []string{z, h}, id, value, due.UnixMilli(), maxLen, ms(ttl))
	var n int64
	if err == nil {
		n, err = cmd.Int64()
	}
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
	raw, err := luaTakeDueJobs.Run(ctx, s.client, []string{z, h}, now.UnixMilli(), ms(hold), count).Slice()
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]Scheduled, 0, len(raw)/2)
	for i := 0; i+1 < len(raw); i += 2 {
		id, ok1 := raw[i].(string)
		v, ok2 := raw[i+1].(string)
		if !ok1 || !ok2 {
			return nil, corrupt(op, "schedule %q: entry %d is not two strings", name, i/2)
		}
		out = append(out, Scheduled{ID: id, Value: []byte(v)})
	}
	return out, nil
}

// Reschedule makes job id due at due, provided it still holds value;
// false when it does not (settled, or replaced by a newer value).
func (s *Store) Reschedule(ctx context.Context, name, id string, value []byte, due time.Time) (bool, error) {
	return s.settle(ctx, "reschedule", name, id, value, due.UnixMilli())
}

// Unschedule removes job id, provided it still holds value; false when
// it does not.
func (s *Store) Unschedule(ctx context.Context, name, id string, value []byte) (bool, error) {
	return s.settle(ctx, "unschedule", name, id, value, "")
}

func (s *Store) settle(ctx context.Context, op, name, id string, value []byte, due any) (bool, error) {
	if name == "" || id == "" {
		return false, invalid(op, "schedule %q id %q", name, id)
	}
	z, h := s.keys.schedule(name)
	cmd, err := s.runScript(ctx, luaSettleJob, []string{z, h}, id, value, due)
	var n int64
	if err == nil {
		n, err = cmd.Int64()
	}
	if err != nil {
		return false, wrap(op, err)
	}
	return n == 1, nil
}
