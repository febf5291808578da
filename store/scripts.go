package store

import "github.com/redis/go-redis/v9"

// scripts are the Lua scripts of one Store. Each touches only keys of one
// hash tag (one Cluster slot) and declares them in KEYS. Redis runs a
// script atomically (EVAL, "Atomicity of scripts"), which is what makes
// check-then-write sequences below safe against other clients.
type scripts struct {
	enqueue, settle         *redis.Script
	acquire, renew, release *redis.Script
	hit, groupPut, next     *redis.Script
	ack                     *redis.Script
}

// newScripts prepares the scripts (go-redis computes each SHA-1 once, for
// EVALSHA).
func newScripts() scripts {
	return scripts{
		enqueue:  redis.NewScript(luaEnqueue),
		settle:   redis.NewScript(luaSettle),
		acquire:  redis.NewScript(luaAcquire),
		renew:    redis.NewScript(luaRenew),
		release:  redis.NewScript(luaRelease),
		hit:      redis.NewScript(luaHit),
		groupPut: redis.NewScript(luaGroupPut),
		next:     redis.NewScript(luaNext),
		ack:      redis.NewScript(luaAck),
	}
}

// luaEnqueue: KEYS queue, dedup; ARGV msgID, payload, dedup TTL ms, max
// length, dedup (1 or 0), touch (1 or 0). Returns 1 queued, 0 duplicate,
// -1 full. The dedup marker is set only once the entry is added, so a
// full queue does not swallow the retry; it holds the entry's stream ID
// for inspection. Without dedup no marker is read or written: an id the
// IWF made up itself can never come again. With touch a duplicate
// rewrites its marker's TTL (to what is left of it): a write, so that the
// WAIT after the script waits for the replication stream up to now,
// which holds the original entry, and not only up to this connection's
// last write.
const luaEnqueue = `
local dedup = ARGV[5] == '1'
if dedup and redis.call('EXISTS', KEYS[2]) == 1 then
  if ARGV[6] == '1' then
    local left = redis.call('PTTL', KEYS[2])
    if left > 0 then redis.call('PEXPIRE', KEYS[2], left) end
  end
  return 0
end
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[4]) then return -1 end
local id = redis.call('XADD', KEYS[1], '*', 'm', ARGV[1], 'p', ARGV[2])
if dedup then redis.call('SET', KEYS[2], id, 'PX', ARGV[3]) end
return 1
`

// luaAck: KEYS queue, lease; ARGV owner, ids... Acknowledges and deletes
// the entries only while owner holds the conversation's lease, so that a
// node that lost it cannot act on the queue after another took over (the
// lease is the fencing token). Returns the entries acknowledged, -1 when
// owner does not hold the lease.
const luaAck = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
local n = redis.call('XACK', KEYS[1], 'iwf', unpack(ids))
redis.call('XDEL', KEYS[1], unpack(ids))
return n
`

// luaSettle: KEYS queue. Deletes the stream (and its consumer group) when
// it holds no entry, so that settled conversations leave no key behind.
// Returns 1 when the queue is empty.
const luaSettle = `
if redis.call('XLEN', KEYS[1]) > 0 then return 0 end
redis.call('DEL', KEYS[1])
return 1
`

// luaAcquire: KEYS lease; ARGV owner, TTL ms. Takes a free lease or
// extends one the owner holds. Returns 1 when the owner holds it.
const luaAcquire = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`

// luaRenew: KEYS lease; ARGV owner, TTL ms. Extends only the holder's
// lease. Returns 1 when extended.
const luaRenew = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`

// luaRelease: KEYS lease; ARGV owner. Deletes only the holder's lease.
// Returns 1 when the lease is free afterwards, 0 when another holds it.
const luaRelease = `
local v = redis.call('GET', KEYS[1])
if not v then return 1 end
if v ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`

// luaHit: KEYS counter; ARGV window ms. A fixed window: the first hit
// starts it. A counter found without a TTL (never written by this script)
// gets one rather than counting forever.
const luaHit = `
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`

// luaGroupPut: KEYS member hash, group index; ARGV member, field, value,
// arrival score, max members. The first write of a member is refused (-1)
// when max members wait already; otherwise it records its arrival in the
// index. Returns {stored 1/0/-1, HGETALL}.
const luaGroupPut = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) and not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
    return {-1, {}}
  end
  redis.call('ZADD', KEYS[2], 'NX', ARGV[4], ARGV[1])
end
local stored = redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3])
return {stored, redis.call('HGETALL', KEYS[1])}
`

// luaNext: KEYS sequence; ARGV TTL ms. Returns the next count; the TTL
// restarts with every use.
const luaNext = `
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n
`
