package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// pushScript appends ARGV[1] to the list KEYS[1] unless it already holds
// ARGV[2] entries (-1), and makes the list expire ARGV[3] ms after its
// latest push.
var pushScript = redis.NewScript(`
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return n`)

func (k keys) list(name string) string { return k.prefix + ":list:" + name }

// Push appends value to the named list, a work queue any node may take
// from (Pop), unless it holds maxLen entries already (ErrQueueFull). The
// list expires ttl after its latest push: what nobody took by then is
// past use (a receipt for a partner that never binds again).
func (s *Store) Push(ctx context.Context, list string, value []byte, maxLen int, ttl time.Duration) error {
	const op = "push"
	if list == "" || maxLen <= 0 || ttl <= 0 {
		return invalid(op, "list %q max length %d ttl %v", list, maxLen, ttl)
	}
	n, err := pushScript.Run(ctx, s.client, []string{s.keys.list(list)}, value, maxLen, ms(ttl)).Int64()
	if err != nil {
		return wrap(op, err)
	}
	if n < 0 {
		return fmt.Errorf("store: push: %d entries: %w", maxLen, ErrQueueFull)
	}
	return nil
}

// Pop takes the oldest value of the named list, waiting up to block for
// one (0: not at all); ok is false when there was none. A value popped
// is gone: the caller pushes it back when it cannot use it.
func (s *Store) Pop(ctx context.Context, list string, block time.Duration) (value []byte, ok bool, err error) {
	const op = "pop"
	if list == "" {
		return nil, false, invalid(op, "empty list")
	}
	key := s.keys.list(list)
	if block <= 0 {
		v, err := s.client.LPop(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, wrap(op, err)
		}
		return v, true, nil
	}
	kv, err := s.client.BLPop(ctx, block, key).Result()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap(op, err)
	}
	return []byte(kv[1]), true, nil
}
