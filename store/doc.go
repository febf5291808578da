// Package store keeps the IWF's durable state in Redis (go-redis/v9):
// conversation queues with deduplication, conversation records, leases
// that name the node owning a conversation's session, window counters,
// small values with a TTL, work lists, cross-node wake-ups, cluster-wide
// counters, and two byte-level primitives that others encode into: groups
// of hashes indexed by age and sequences (smpp/concat keeps SMS
// reassembly and reference numbers in them). store imports no protocol
// package.
//
// No go-redis type crosses the API: callers see strings, bytes, Entry and
// the errors of errors.go. Failures to reach Redis match ErrUnavailable
// (and describe themselves as SIP 503 / SMPP ESME_RX_T_APPN) so that the
// sides answer "try again" instead of losing a message.
//
// With no address configured, Open starts an embedded miniredis on
// 127.0.0.1:0 and the same code runs against it: nothing is written to
// disk, so the embedded store is for one node and trials only (Open logs a
// warning). miniredis expires keys only when its clock is moved; the store
// moves it by the real elapsed time every 100 ms.
//
// # Keys and Redis Cluster
//
// Every key starts with the configured prefix. The keys of one
// conversation carry the conversation, escaped, as their hash tag
// ("iwf:{demo|+4611|+4622}:q"), so that they share a Cluster slot and the
// scripts that touch several of them are legal there; see keys.go for the
// full layout. Lua scripts declare every key they touch, all of one tag.
// The pending index is split into 16 tagged shards, read together; the
// counters, sequences and values are single keys.
//
// Config.Mode picks the client: one Redis (or the embedded store), a
// Redis Cluster, or a master found through Redis Sentinel.
// Config.MinReplicasAck makes Enqueue WAIT for replicas before it
// reports success.
//
// # Queues
//
// A conversation's queue is a Redis Stream with one consumer group.
// Enqueue checks the dedup marker and the length bound and appends, in one
// script; Read returns first what was read and not acknowledged (so a new
// owner after a crash delivers it again), then new entries; Ack
// acknowledges and deletes, so that the stream's length is the backlog.
// The pending index lists the conversations that may hold entries, oldest
// first, for an owner (or a new owner) to drain; Settle takes a drained
// conversation out of it and deletes its empty stream.
//
// # Group commit
//
// Concurrent Enqueues, and the writes of schedules (delivery receipts),
// are gathered for Config.BatchWindow or up to Config.BatchMax and
// written in one pipeline: the Enqueues of a batch as one script call
// per Cluster slot (one for all on a single Redis), with one WAIT per
// master when MinReplicasAck asks for it. Each caller still waits for,
// and gets, its own entry's outcome (batch.go).
package store
