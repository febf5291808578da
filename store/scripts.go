package store

import "github.com/redis/go-redis/v9"

// scripts are the Lua scripts of one Store. Each touches only keys of one
// hash tag (one Cluster slot) and declares them in KEYS. Redis runs a
// script atomically (EVAL, "Atomicity of scripts"), which is what makes
// check-then-write sequences below safe against other clients.
type scripts struct {
	enqueueBatch, settle    *redis.Script
	acquire, renew, release *redis.Script
	hit, groupPut, next     *redis.Script
	ack                     *redis.Script
}

// newScripts prepares the scripts (go-redis computes each SHA-1 once, for
// EVALSHA).
func newScripts() scripts {
	return scripts{
		enqueueBatch: redis.NewScript(luaEnqueueBatch),
		settle:       redis.NewScript(luaSettle),
		acquire:      redis.NewScript(luaAcquire),
		renew:        redis.NewScript(luaRenew),
		release:      redis.NewScript(luaRelease),
		hit:          redis.NewScript(luaHit),
		groupPut:     redis.NewScript(luaGroupPut),
		next:         redis.NewScript(luaNext),
		ack:          redis.NewScript(luaAck),
	}
}

// luaEnqueueBatch: KEYS queue and dedup of each entry, in pairs; ARGV
// touch (1 or 0), then for each entry msgID, payload, dedup TTL ms, max
// length, dedup (1 or 0). Returns one code per entry: 1 queued, 0
// duplicate, -1 full, -2 not written; when an entry is not written, the
// error that stopped the writes follows the codes, and no later entry
// is written either (a write refused for OOM or READONLY would be
// refused again).
//
// Each entry is handled as Enqueue describes, one after the other, so
// that an entry sees those before it: a message twice in one batch is
// one entry and a duplicate, a queue filled within the batch refuses the
// rest. The dedup marker is set only once the entry is added, so a full
// queue does not swallow the retry; it holds the entry's stream ID for
// inspection. Without dedup no marker is read or written: an id the IWF
// made up itself can never come again. With touch a duplicate rewrites
// its marker's TTL (to what is left of it): a write, so that the WAIT
// after the script waits for the replication stream up to now, which
// holds the original entry, and not only up to this connection's last
// write. The writes go through redis.pcall, so that a refused one ends
// the script with the earlier entries' outcomes intact instead of
// failing every entry, stored or not.
const luaEnqueueBatch = `
local touch = ARGV[1] == '1'
local out = {}
local n = #KEYS / 2
for i = 1, n do
  local q, d = KEYS[2 * i - 1], KEYS[2 * i]
  local a = 2 + (i - 1) * 5
  local dedup = ARGV[a + 4] == '1'
  if dedup and redis.call('EXISTS', d) == 1 then
    if touch then
      local left = redis.call('PTTL', d)
      if left > 0 then redis.pcall('PEXPIRE', d, left) end
    end
    out[i] = 0
  elseif redis.call('XLEN', q) >= tonumber(ARGV[a + 3]) then
    out[i] = -1
  else
    local id = redis.pcall('XADD', q, '*', 'm', ARGV[a], 'p', ARGV[a + 1])
    if type(id) == 'table' and id.err then
      for j = i, n do out[j] = -2 end
      out[n + 1] = id.err
      return out
    end
    if dedup then redis.pcall('SET', d, id, 'PX', ARGV[a + 2]) end
    out[i] = 1
  end
end
return out
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
