package store

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// The nodes alive. Each node writes a heartbeat key with a TTL as often as
// it renews its leases; a node whose heartbeat expired is dead: its
// sessions stop counting toward max_sessions and it leaves the list a
// status page shows.
//
// Key layout (prefix "iwf"), all under the one tag {nodes}, so that a
// script may read every heartbeat and every session count at once on a
// cluster:
//
//	iwf:{nodes}:hb:<node>      string, the node's NodeStatus as JSON (TTL)
//	iwf:{nodes}:index          sorted set of the nodes by last heartbeat (ms)
//	iwf:{nodes}:s:<partner>    hash, node -> the partner's sessions there
//
// One slot carries them: its load is one write per node per renewal
// round, plus one per session opened, not per message.

func (k keys) nodes() string                  { return k.conv("nodes") }
func (k keys) heartbeat(node string) string   { return k.nodes() + ":hb:" + node }
func (k keys) nodeIndex() string              { return k.nodes() + ":index" }
func (k keys) sessions(partner string) string { return k.nodes() + ":s:" + partner }

// NodeStatus is what a node publishes in its heartbeat.
type NodeStatus struct {
	// Conversations is how many conversations the node works on.
	Conversations int `json:"conversations"`
	// Sessions is, per partner, the node's live MSRP sessions (and those
	// it is opening); partners with none may be left out.
	Sessions map[string]int `json:"sessions,omitempty"`
}

// Node is one node alive, as its last heartbeat described it.
type Node struct {
	Name string
	NodeStatus
	// At is when the node sent its last heartbeat, by its clock.
	At time.Time
}

// heartbeat is the JSON of a heartbeat key.
type heartbeat struct {
	NodeStatus
	At int64 `json:"at"` // Unix ms
}

// luaHeartbeat: KEYS heartbeat, index, session counts of each partner...;
// ARGV node, JSON, ttl ms, now ms, the partners' counts (as KEYS[3...]).
// A count of 0 removes the node's field.
var luaHeartbeat = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
for i = 3, #KEYS do
  local n = tonumber(ARGV[i + 2])
  if n > 0 then redis.call('HSET', KEYS[i], ARGV[1], n) else redis.call('HDEL', KEYS[i], ARGV[1]) end
end
return 1
`)

// Heartbeat tells the other nodes that node is alive for ttl, with its
// figures; each partner in st.Sessions gets node's session count (0
// clears it). Call it more often than ttl: every lease renewal round.
func (s *Store) Heartbeat(ctx context.Context, node string, st NodeStatus, ttl time.Duration, now time.Time) error {
	const op = "heartbeat"
	if node == "" || ttl <= 0 {
		return invalid(op, "node %q ttl %v", node, ttl)
	}
	b, err := json.Marshal(heartbeat{NodeStatus: st, At: now.UnixMilli()})
	if err != nil {
		return wrap(op, err)
	}
	partners := make([]string, 0, len(st.Sessions))
	for p := range st.Sessions {
		if p == "" {
			return invalid(op, "empty partner")
		}
		partners = append(partners, p)
	}
	slices.Sort(partners)
	keys := []string{s.keys.heartbeat(node), s.keys.nodeIndex()}
	args := []any{node, b, ms(ttl), now.UnixMilli()}
	for _, p := range partners {
		keys = append(keys, s.keys.sessions(p))
		args = append(args, st.Sessions[p])
	}
	return wrap(op, luaHeartbeat.Run(ctx, s.client, keys, args...).Err())
}

// luaNodes: KEYS index; ARGV heartbeat key prefix. Returns node, JSON
// pairs of the nodes whose heartbeat is alive, and forgets the others.
var luaNodes = redis.NewScript(`
local out = {}
for _, n in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local v = redis.call('GET', ARGV[1] .. n)
  if v then
    out[#out + 1] = n
    out[#out + 1] = v
  else
    redis.call('ZREM', KEYS[1], n)
  end
end
return out
`)

// Nodes lists the nodes alive (whose heartbeat has not expired), by
// name.
func (s *Store) Nodes(ctx context.Context) ([]Node, error) {
	const op = "nodes"
	v, err := luaNodes.Run(ctx, s.client, []string{s.keys.nodeIndex()}, s.keys.heartbeat("")).StringSlice()
	if err != nil {
		return nil, wrap(op, err)
	}
	if len(v)%2 != 0 {
		return nil, corrupt(op, "%d values", len(v))
	}
	out := make([]Node, 0, len(v)/2)
	for i := 0; i < len(v); i += 2 {
		var hb heartbeat
		if err := json.Unmarshal([]byte(v[i+1]), &hb); err != nil {
			return nil, corrupt(op, "heartbeat of %q: %v", v[i], err)
		}
		out = append(out, Node{Name: v[i], NodeStatus: hb.NodeStatus, At: time.UnixMilli(hb.At)})
	}
	slices.SortFunc(out, func(a, b Node) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}
