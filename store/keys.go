package store

import (
	"hash/fnv"
	"strconv"

	"iwf/internal/pctenc"
)

// Key layout (prefix "iwf"):
//
//	iwf:{<conv>}:q             stream, the conversation's queue
//	iwf:{<conv>}:d:<msgID>     string, dedup marker of one message (TTL)
//	iwf:{<conv>}:c             hash, the conversation record (TTL)
//	iwf:{<name>}:lease         string, the lease's owner (TTL)
//	iwf:{pending:<i>}          sorted set, shard i of the conversations with
//	                           queued entries (i < pendingShards)
//	iwf:hit:<key>              string, window counter (TTL)
//	iwf:kv:<key>               string, Put/Get value (TTL)
//	iwf:counters               hash, cluster-wide counters
//	iwf:node:<node>            pub/sub channel of one node's wake-ups
//	iwf:{<group>}:m:<member>   hash, one member of a group (GroupPut)
//	iwf:{<group>}:index        sorted set of the group's members by first write
//	iwf:seq:<name>             string, a sequence (Next, TTL)
//
// <conv> is the conversation escaped, not hashed: '%', '{' and '}' become
// %25, %7B and %7D, so the tag ends at our closing brace, two
// conversations never share a key, and operators can read the keys. Redis
// Cluster hashes only the text between the first '{' and the next '}'
// (Cluster specification, "Hash tags"), so every key of one conversation
// lives in one slot and the Lua scripts that touch several of them are
// legal on a cluster. An empty tag would disable that, so an empty
// conversation is refused. A group's name is its tag the same way (SMS
// reassembly uses a group per partner: "iwf:{parts:<partner>}:index").
//
// Every script and MULTI touches the keys of one tag only. The other keys
// are each read and written alone (one slot each, any node): window
// counters, values, sequences, the counters hash, lists. The pending
// index is the one index over all conversations: it is split into
// pendingShards sorted sets, each its own tag, so that its load spreads
// over a cluster's masters; a conversation is always in the shard its
// name hashes to, and readers merge the shards.

// pendingShards is how many sorted sets the pending index is split
// into. Changing it strands the conversations indexed in a shard that
// is no longer read: it is a constant, not a setting.
const pendingShards = 16

// legacyPending is the unsharded pending index of earlier versions,
// moved into the shards by Open.
func (k keys) legacyPending() string { return k.prefix + ":pending" }

// tagEscapes are the characters escaped inside a hash tag.
const tagEscapes = "%{}"

// keys builds the key names of one Store.
type keys struct{ prefix string }

// conv is the common start of the keys tagged with name (a conversation,
// a lease, a group): "<prefix>:{<name>}".
func (k keys) conv(name string) string {
	return k.prefix + ":{" + k.tag(name) + "}"
}

// tag is the hash tag of the keys of name: name escaped.
func (keys) tag(name string) string { return pctenc.Escape(name, tagEscapes) }

func (k keys) queue(conv string) string        { return k.conv(conv) + ":q" }
func (k keys) dedup(conv, msgID string) string { return k.conv(conv) + ":d:" + msgID }
func (k keys) record(conv string) string       { return k.conv(conv) + ":c" }
func (k keys) lease(name string) string        { return k.conv(name) + ":lease" }

// pending is the pending index shard of conv.
func (k keys) pending(conv string) string { return k.pendingShard(pendingShardOf(conv)) }

// pendingShardOf is the shard conv is indexed in (FNV-1a: stable across
// versions and nodes, which all must agree).
func pendingShardOf(conv string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(conv)) // a hash.Hash never fails to write
	return int(h.Sum32() % pendingShards)
}

// pendingShard is shard i of the pending index.
func (k keys) pendingShard(i int) string {
	return k.prefix + ":{pending:" + strconv.Itoa(i) + "}"
}

func (k keys) hit(key string) string   { return k.prefix + ":hit:" + key }
func (k keys) kv(key string) string    { return k.prefix + ":kv:" + key }
func (k keys) counters() string        { return k.prefix + ":counters" }
func (k keys) node(node string) string { return k.prefix + ":node:" + node }
func (k keys) seq(name string) string  { return k.prefix + ":seq:" + name }

// group and groupIndex share the group's tag, so that the GroupPut script
// may count and index members atomically on a cluster: a group is in one
// slot, which bounds it to what one shard carries. The member follows the
// tag and needs no escape.
func (k keys) group(group, member string) string { return k.conv(group) + ":m:" + member }
func (k keys) groupIndex(group string) string    { return k.conv(group) + ":index" }
