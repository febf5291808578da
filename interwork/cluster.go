package interwork

import (
	"context"
	"math"
	"time"

	"iwf/store"
)

// Cluster is what the nodes sharing a store share besides the queues: a
// partner's rate limit and max_sessions count every node's traffic, and
// each node says it is alive. *store.Store implements it. Without one
// (Config.Cluster nil) both limits are per node.
type Cluster interface {
	// TakeTokens takes up to want tokens from the shared bucket name
	// (rate per second, burst), as of now; 0 means throttled.
	TakeTokens(ctx context.Context, name string, rate, burst float64, want int, now time.Time) (int, error)
	// ReserveSession admits one more session of partner on node, whose
	// own count with it is mine, while every live node's stay within max.
	ReserveSession(ctx context.Context, partner, node string, mine, max int) (bool, error)
	// Heartbeat says node is alive for ttl with its figures.
	Heartbeat(ctx context.Context, node string, st store.NodeStatus, ttl time.Duration, now time.Time) error
	// Nodes lists the nodes alive.
	Nodes(ctx context.Context) ([]store.Node, error)
}

// Shared rate limits. A partner's rate_limit is one token bucket in the
// store for all nodes (burst: one second of the rate). A node takes
// tokens from it in small batches and spends them locally, so that a
// message costs a store round trip only once per batch; a batch is at
// most 1% of the rate and is dropped unspent after tokenHold, so a quiet
// node holds back little of the others' share, and the bucket never
// gives out more than the rate in total. When the store does not answer,
// the limit fails open onto the node's own bucket of the full rate: the
// enqueue that follows needs the store anyway (the message is refused
// "try later" if it is down), and when only the bucket's shard is down,
// traffic of the conversations on the other shards flows at no more than
// the rate per node.

// tokenHold is how long tokens taken from the shared bucket stay
// spendable on this node.
const tokenHold = time.Second

// tokenBatch is how many tokens a node takes at once at rate per second.
func tokenBatch(rate float64) int { return min(max(int(rate/100), 1), 100) }

// allowMessage takes one token of p's rate limit, shared by every node
// when there is a Cluster; true when there is none.
func (e *Engine) allowMessage(p *partner) bool {
	l := p.limiter
	if l == nil {
		return true
	}
	ctx := e.workCtx()
	if e.cfg.Cluster == nil || ctx == nil {
		return l.allow()
	}
	now := e.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held > 0 && now.Before(l.heldUntil) {
		l.held--
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	defer cancel()
	n, err := e.cfg.Cluster.TakeTokens(ctx, "partner:"+p.Name, l.rate, math.Max(l.rate, 1), tokenBatch(l.rate), now)
	if err != nil {
		e.log.Warn("shared rate limit: the node's own applies", "partner", p.Name, "error", err)
		return l.allowLocked()
	}
	if n == 0 {
		l.held = 0
		return false
	}
	l.held, l.heldUntil = n-1, now.Add(tokenHold)
	return true
}

// Shared max_sessions. Opening a session reserves it against every live
// node's count in the store (store.ReserveSession); each node publishes
// its counts with its heartbeat, every lease renewal round, so that a
// session that ended stops counting by the next round and a dead node's
// stop counting once its heartbeat expires (one lease TTL). When the
// store does not answer, the node's own count decides (fail open: the
// session is needed for messages already acknowledged).

// reserveSession admits one more session of p, counting those of every
// node; the caller calls p.opened once the open ended, whatever came of
// it, when it returned true.
func (e *Engine) reserveSession(ctx context.Context, p *partner) bool {
	mine, ok := p.reserveLocal()
	return ok && e.reserveShared(ctx, p, mine)
}

// reserveLocal counts one more session of p opening on this node, and
// returns the node's count with it; false, and nothing counted, when the
// node's own count is at max_sessions.
func (p *partner) reserveLocal() (int64, bool) {
	mine := p.sessions.Load() + p.opening.Add(1)
	if mine > int64(p.Policy.MaxSessions) {
		p.opening.Add(-1)
		return 0, false
	}
	return mine, true
}

// reserveShared completes reserveLocal's reservation, mine the node's
// count with it, against every node's count when there is a Cluster;
// false, and the reservation ended, when they are at max_sessions.
func (e *Engine) reserveShared(ctx context.Context, p *partner, mine int64) bool {
	if e.cfg.Cluster == nil {
		return true
	}
	sctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	defer cancel()
	ok, err := e.cfg.Cluster.ReserveSession(sctx, p.Name, e.cfg.Node, int(mine), p.Policy.MaxSessions)
	if err != nil {
		e.log.Warn("shared max_sessions: the node's own count applies", "partner", p.Name, "error", err)
		return true
	}
	if !ok {
		p.opening.Add(-1)
	}
	return ok
}

// opened ends a reservation of reserveSession.
func (p *partner) opened() { p.opening.Add(-1) }

// heartbeat tells the other nodes this one is alive, with its
// conversations and each partner's sessions (those opening included).
func (e *Engine) heartbeat(ctx context.Context) {
	if e.cfg.Cluster == nil {
		return
	}
	st := e.nodeStatus()
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	defer cancel()
	if err := e.cfg.Cluster.Heartbeat(ctx, e.cfg.Node, st, e.cfg.LeaseTTL, e.now()); err != nil {
		e.log.Warn("heartbeat", "error", err)
	}
}

// nodeStatus is this node's figures.
func (e *Engine) nodeStatus() store.NodeStatus {
	st := store.NodeStatus{Conversations: len(e.localConvs()), Sessions: map[string]int{}}
	for _, p := range e.activePartners() {
		st.Sessions[p.Name] = int(p.sessions.Load() + p.opening.Load())
	}
	return st
}

// Nodes lists the nodes alive with their conversations and sessions:
// those whose heartbeat is in the store, or this node alone without a
// Cluster.
func (e *Engine) Nodes(ctx context.Context) ([]store.Node, error) {
	if e.cfg.Cluster == nil {
		return []store.Node{{Name: e.cfg.Node, NodeStatus: e.nodeStatus(), At: e.now()}}, nil
	}
	return e.cfg.Cluster.Nodes(ctx)
}
