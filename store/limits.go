package store

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limits shared by every node of a cluster: a partner's rate limit is one
// token bucket in the store (TakeTokens), and its max_sessions one count
// of live sessions over the nodes alive (ReserveSession, with the counts
// each node publishes in its Heartbeat, nodes.go).
//
// Key layout (prefix "iwf"):
//
//	iwf:{rate:<name>}          hash, token bucket: t tokens, ts last refill (ms)
//
// A bucket is one key, so one slot: each partner's limit lives on one
// master of a cluster, and different partners spread over the masters.

// rate is the key of the token bucket name.
func (k keys) rate(name string) string { return k.conv("rate:" + name) }

// luaTake: KEYS bucket; ARGV rate per second, burst, tokens wanted, now
// (Unix ms). Refills the bucket for the time since its last refill (never
// backwards: a node whose clock is behind refills nothing), takes up to
// the tokens wanted and returns how many it took. A missing bucket is
// full. The bucket expires once it would be full again, so idle partners
// leave no key behind.
var luaTake = redis.NewScript(`
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local want, now = tonumber(ARGV[3]), tonumber(ARGV[4])
local v = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens, ts = tonumber(v[1]), tonumber(v[2])
if tokens == nil or ts == nil then tokens, ts = burst, now end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
  ts = now
end
local got = math.floor(math.min(want, tokens))
if got < 0 then got = 0 end
tokens = tokens - got
redis.call('HSET', KEYS[1], 't', string.format('%.6f', tokens), 'ts', string.format('%d', ts))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return got
`)

// TakeTokens takes up to want tokens from the token bucket name, which
// fills at rate per second up to burst, as of now (the caller's clock:
// nodes need clocks in step, as for leases), and returns how many it got:
// 0 means the limit is reached. Every node taking from the same name
// shares the one bucket.
func (s *Store) TakeTokens(ctx context.Context, name string, rate, burst float64, want int, now time.Time) (int, error) {
	const op = "take tokens"
	if name == "" || !(rate > 0) || !(burst >= 1) || want < 1 || math.IsInf(rate, 0) || math.IsInf(burst, 0) {
		return 0, invalid(op, "bucket %q rate %v burst %v want %d", name, rate, burst, want)
	}
	n, err := luaTake.Run(ctx, s.client, []string{s.keys.rate(name)},
		strconv.FormatFloat(rate, 'g', -1, 64), strconv.FormatFloat(burst, 'g', -1, 64), want, now.UnixMilli()).Int()
	if err != nil {
		return 0, wrap(op, err)
	}
	return n, nil
}

// luaReserve: KEYS the partner's session counts; ARGV node, the node's
// own count with the new session, max, heartbeat key prefix. The counts
// of nodes whose heartbeat expired are dropped: a dead node's sessions
// are gone with it. Returns 1 and records the node's count when the
// sessions alive stay within max, else 0.
var luaReserve = redis.NewScript(`
local node, mine, max, hb = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local sum = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local f = all[i]
  if f ~= node then
    if redis.call('EXISTS', hb .. f) == 1 then
      sum = sum + tonumber(all[i + 1])
    else
      redis.call('HDEL', KEYS[1], f)
    end
  end
end
if sum + mine > max then return 0 end
redis.call('HSET', KEYS[1], node, mine)
return 1
`)

// ReserveSession admits one more session of partner on node when the
// sessions alive on every node stay within max. mine is node's own
// count including the new one (its sessions and those it is opening):
// it replaces what node published before. The other nodes' counts are
// those of their last Heartbeat or reservation; those of a node whose
// heartbeat expired do not count. A session that ends is published by
// the next Heartbeat: until then it still counts, which errs on the side
// of the limit.
func (s *Store) ReserveSession(ctx context.Context, partner, node string, mine, max int) (bool, error) {
	const op = "reserve session"
	if partner == "" || node == "" || mine < 1 || max < 1 {
		return false, invalid(op, "partner %q node %q count %d max %d", partner, node, mine, max)
	}
	n, err := luaReserve.Run(ctx, s.client, []string{s.keys.sessions(partner)}, node, mine, max, s.keys.heartbeat("")).Int()
	if err != nil {
		return false, wrap(op, err)
	}
	return n == 1, nil
}
