package store

import "github.com/redis/go-redis/v9"

// scripts are the Lua scripts of one Store. Each touches only keys of one
// hash tag (one Cluster slot) and declares them in KEYS, except
// settleAll, which runs off a Cluster only. Redis runs a
// script atomically (EVAL, "Atomicity of scripts"), which is what makes
// check-then-write sequences below safe against other clients.
type scripts struct {
	enqueueBatch, settle    *redis.Script
	settleAll, recheck      *redis.Script
	acquire, renew, release *redis.Script
	renewMany               *redis.Script
	hit, groupPut, next     *redis.Script
	ack                     *redis.Script
	schedule, takeDue       *redis.Script
}

// newScripts prepares the scripts (go-redis computes each SHA-1 once, for
// EVALSHA).
func newScripts() scripts {
	return scripts{
		enqueueBatch: redis.NewScript(luaEnqueueBatch),
		settle:       redis.NewScript(luaSettle),
		settleAll:    redis.NewScript(luaSettleAll),
		recheck:      redis.NewScript(luaRecheck),
		acquire:      redis.NewScript(luaAcquire),
		renew:        redis.NewScript(luaRenew),
		renewMany:    redis.NewScript(luaRenewMany),
		release:      redis.NewScript(luaRelease),
		hit:          redis.NewScript(luaHit),
		groupPut:     redis.NewScript(luaGroupPut),
		next:         redis.NewScript(luaNext),
		ack:          redis.NewScript(luaAck),
		schedule:     redis.NewScript(luaScheduleBatch),
		takeDue:      redis.NewScript(luaTakeDue),
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
//
// A queue the script creates (its key was absent: a new conversation, or
// one Settle deleted) gets its consumer group in the same call, at ID 0
// so that the group sees the entry just added: the worker's first Read
// then takes one round trip, where finding no group (NOGROUP), creating
// it and reading again took three. A group refused (OOM) is left to
// Read, which creates it on NOGROUP as it does for queues of earlier
// versions.
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
  else
    local len = redis.call('XLEN', q)
    if len >= tonumber(ARGV[a + 3]) then
      out[i] = -1
    else
      local fresh = len == 0 and redis.call('EXISTS', q) == 0
      local id = redis.pcall('XADD', q, '*', 'm', ARGV[a], 'p', ARGV[a + 1])
      if type(id) == 'table' and id.err then
        for j = i, n do out[j] = -2 end
        out[n + 1] = id.err
        return out
      end
      if fresh then redis.pcall('XGROUP', 'CREATE', q, 'iwf', '0') end
      if dedup then redis.pcall('SET', d, id, 'PX', ARGV[a + 2]) end
      out[i] = 1
    end
  end
end
return out
`

// luaScheduleBatch: KEYS due, values of one schedule (see schedule.go);
// ARGV six per operation: kind, id, value, due ms, max jobs, TTL ms.
// Kind s puts value under id, due at due, unless the schedule holds max
// jobs and id is new; r makes id due at due and u removes it, both only
// while id holds value. Returns one code per operation: s 1 written, -1
// full; r and u 1 done, 0 not (id holds another value or none); -2 not
// written, with the error that stopped the writes after the codes, as
// in luaEnqueueBatch.
//
// The operations are decided in order, each seeing those before it, so
// that every caller of a batch gets the outcome it would have had
// alone; then the call writes them all at once. It reads the values of
// the ids named once (HMGET), the job count once (HLEN), and keeps both
// up to date in Lua as the operations go; it writes each id's final
// value and due time with one HSET, HDEL, ZADD and ZREM for the whole
// call, for a handful of commands whatever the batch's size. The keys'
// expiry only grows: when it is below the TTL of the last job put, it
// is set to that TTL and a sixteenth more (ten minutes at most), so that
// a busy schedule rewrites it once in a while rather than at every
// call (each PEXPIRE goes to the AOF and the replicas). A write Redis refuses (its first, for OOM
// or READONLY: nothing is written then) turns every operation that
// wrote into -2; a read refused fails the whole call.
const luaScheduleBatch = `
local z, h = KEYS[1], KEYS[2]
local n = #ARGV / 6
-- unpack puts its values on Lua's stack, which is bounded: a command
-- takes at most step of them at once.
local step = 1000
local function chunked(cmd, key, list, stride)
  local m = step - step % stride
  for c = 1, #list, m do
    local r = redis.pcall(cmd, key, unpack(list, c, math.min(c + m - 1, #list)))
    if type(r) == 'table' and r.err then return r end
  end
end
local ids, seen, puts = {}, {}, false
for i = 1, n do
  local a = (i - 1) * 6
  local id = ARGV[a + 2]
  if not seen[id] then
    seen[id] = true
    ids[#ids + 1] = id
  end
  if ARGV[a + 1] == 's' then puts = true end
end
-- val: each id's value as the operations go, false when it has none.
local val = {}
for c = 1, #ids, step do
  local last = math.min(c + step - 1, #ids)
  local vs = redis.call('HMGET', h, unpack(ids, c, last))
  for k = c, last do val[ids[k]] = vs[k - c + 1] end
end
local jobs = puts and redis.call('HLEN', h) or 0
-- touched: ids whose value the call writes; due: their due time, false
-- when removed.
local touched, due = {}, {}
local out, ttl = {}, nil
for i = 1, n do
  local a = (i - 1) * 6
  local kind, id, v = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  if kind == 's' then
    if not val[id] and jobs >= tonumber(ARGV[a + 5]) then
      out[i] = -1
    else
      if not val[id] then jobs = jobs + 1 end
      val[id], touched[id], due[id], ttl = v, true, ARGV[a + 4], ARGV[a + 6]
      out[i] = 1
    end
  elseif val[id] ~= v then
    out[i] = 0
  elseif kind == 'u' then
    val[id], touched[id], due[id] = false, true, false
    jobs = jobs - 1
    out[i] = 1
  else
    due[id] = ARGV[a + 4]
    out[i] = 1
  end
end
local hset, hdel, zadd, zrem = {}, {}, {}, {}
for _, id in ipairs(ids) do
  if touched[id] then
    if val[id] then
      hset[#hset + 1] = id
      hset[#hset + 1] = val[id]
    else
      hdel[#hdel + 1] = id
    end
  end
  if due[id] then
    zadd[#zadd + 1] = due[id]
    zadd[#zadd + 1] = id
  elseif due[id] == false then
    zrem[#zrem + 1] = id
  end
end
local err = chunked('HSET', h, hset, 2) or chunked('HDEL', h, hdel, 1) or
  chunked('ZADD', z, zadd, 2) or chunked('ZREM', z, zrem, 1)
if ttl then
  -- Extend only, and past what is needed by a sixteenth of it (up to
  -- ten minutes): the writes that follow within that slack find the
  -- expiry far enough and write none. A PEXPIRE is a write to the AOF
  -- and the replicas, two per operation otherwise.
  local want = tonumber(ttl)
  for _, k in ipairs({z, h}) do
    local cur = redis.call('PTTL', k)
    if cur == -1 or (cur >= 0 and cur < want) then
      redis.pcall('PEXPIRE', k, want + math.min(math.floor(want / 16), 600000))
    end
  end
end
if err then
  for i = 1, n do
    if out[i] == 1 then out[i] = -2 end
  end
  out[n + 1] = err.err
end
return out
`

// luaTakeDue: KEYS due, values; ARGV now ms, hold ms, count. Returns id,
// value pairs of the due jobs, earliest first, each now due again after
// the hold. An id without a value (a torn write) is dropped. The values
// are read with one HMGET and the new due times written with one ZADD
// (per chunk of ids: unpack puts its values on Lua's stack, which is
// bounded).
const luaTakeDue = `
local z, h = KEYS[1], KEYS[2]
local ids = redis.call('ZRANGEBYSCORE', z, '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local later = tonumber(ARGV[1]) + tonumber(ARGV[2])
local out = {}
local step = 1000
for c = 1, #ids, step do
  local last = math.min(c + step - 1, #ids)
  local vals = redis.call('HMGET', h, unpack(ids, c, last))
  local zs, gone = {}, {}
  for k = c, last do
    local v = vals[k - c + 1]
    if v then
      zs[#zs + 1] = later
      zs[#zs + 1] = ids[k]
      out[#out + 1] = ids[k]
      out[#out + 1] = v
    else
      gone[#gone + 1] = ids[k]
    end
  end
  if #zs > 0 then redis.call('ZADD', z, unpack(zs)) end
  if #gone > 0 then redis.call('ZREM', z, unpack(gone)) end
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

// luaSettleAll: KEYS queue, its pending index shard, its lease; ARGV
// conversation, owner ("" for none). luaSettle, the removal from the
// index and luaRelease of owner's lease, in one call: Settle and
// SettleRelease off a Cluster, where no slot separates the keys. Returns
// 1 when the queue is empty (and settled).
const luaSettleAll = `
if redis.call('XLEN', KEYS[1]) > 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] ~= '' and redis.call('GET', KEYS[3]) == ARGV[2] then
  redis.call('DEL', KEYS[3])
end
return 1
`

// luaRecheck: KEYS queue, lease; ARGV owner ("" for none). Settle's
// re-check on a Cluster: returns the queue's length and, when it is 0,
// releases owner's lease as luaRelease does.
const luaRecheck = `
local n = redis.call('XLEN', KEYS[1])
if n == 0 and ARGV[1] ~= '' and redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
return n
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

// luaRenewMany: KEYS leases; ARGV owner, TTL ms. luaRenew of each lease,
// in one call. Returns 1 or 0 per lease.
const luaRenewMany = `
local out = {}
for i, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then
    redis.call('PEXPIRE', k, ARGV[2])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
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
