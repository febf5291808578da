package store

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// SaveConversation sets fields of conv's record (other fields stay) and
// gives the record ttl from now, in one MULTI/EXEC so that a record never
// stays without its TTL. No fields only refreshes the TTL.
func (s *Store) SaveConversation(ctx context.Context, conv string, fields map[string]string, ttl time.Duration) error {
	const op = "save conversation"
	if conv == "" {
		return invalid(op, "empty conversation")
	}
	if ttl <= 0 {
		return invalid(op, "ttl %v", ttl)
	}
	key := s.keys.record(conv)
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if len(fields) > 0 {
			p.HSet(ctx, key, fields)
		}
		p.PExpire(ctx, key, time.Duration(ms(ttl))*time.Millisecond)
		return nil
	})
	return wrap(op, err)
}

// LoadConversation returns conv's record, an empty map when there is none.
func (s *Store) LoadConversation(ctx context.Context, conv string) (map[string]string, error) {
	if conv == "" {
		return nil, invalid("load conversation", "empty conversation")
	}
	m, err := s.client.HGetAll(ctx, s.keys.record(conv)).Result()
	if err != nil {
		return nil, wrap("load conversation", err)
	}
	if m == nil {
		m = map[string]string{}
	}
	return m, nil
}

// LoadSaveConversation returns conv's record as it was (an empty map when
// there was none), then sets fields and the TTL as SaveConversation does,
// in one MULTI/EXEC: one round trip where LoadConversation and
// SaveConversation took two, and nothing written in between. The
// session open of a conversation reads the Conversation-ID it keeps and
// records the new state at once.
func (s *Store) LoadSaveConversation(ctx context.Context, conv string, fields map[string]string, ttl time.Duration) (map[string]string, error) {
	const op = "save conversation"
	if conv == "" {
		return nil, invalid(op, "empty conversation")
	}
	if ttl <= 0 {
		return nil, invalid(op, "ttl %v", ttl)
	}
	key := s.keys.record(conv)
	var old *redis.MapStringStringCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		old = p.HGetAll(ctx, key)
		if len(fields) > 0 {
			p.HSet(ctx, key, fields)
		}
		p.PExpire(ctx, key, time.Duration(ms(ttl))*time.Millisecond)
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	m := old.Val()
	if m == nil {
		m = map[string]string{}
	}
	return m, nil
}

// DeleteConversation deletes conv's record; deleting none is no error.
func (s *Store) DeleteConversation(ctx context.Context, conv string) error {
	if conv == "" {
		return invalid("delete conversation", "empty conversation")
	}
	return wrap("delete conversation", s.client.Del(ctx, s.keys.record(conv)).Err())
}

// Acquire takes the lease name for owner for ttl when it is free, or
// extends it when owner already holds it; it reports whether owner holds
// it now (SET NX PX, then a holder check, in one script). Leases name the
// node that owns a conversation's MSRP session; a dead node's lease expires
// and another node may take the conversation (design: scale-out).
func (s *Store) Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	return s.lease(ctx, "acquire", s.lua.acquire, name, owner, ttl)
}

// Renew extends the lease name by ttl from now if owner holds it, and
// reports whether it did. A false means the lease expired or another owner
// took it: the caller must stop acting as the owner.
func (s *Store) Renew(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	return s.lease(ctx, "renew", s.lua.renew, name, owner, ttl)
}

// RenewAll extends every lease of names that owner holds, in one round
// trip (a pipeline; in a Cluster, one per node), and returns for each
// whether it was extended. A node renews all of its conversations at once:
// off a Cluster with one script call per thousand leases, on a Cluster,
// where the leases are in other slots, with one each.
func (s *Store) RenewAll(ctx context.Context, names []string, owner string, ttl time.Duration) ([]bool, error) {
	const op = "renew"
	if ttl <= 0 {
		return nil, invalid(op, "ttl %v", ttl)
	}
	for _, n := range names {
		if err := checkLease(op, n, owner); err != nil {
			return nil, err
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	if _, ok := s.client.(*redis.ClusterClient); !ok {
		return s.renewMany(ctx, names, owner, ttl)
	}
	cmds := make([]*redis.Cmd, len(names))
	run := func(eval evalFunc) error {
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, n := range names {
				cmds[i] = eval(ctx, p, []string{s.keys.lease(n)}, owner, ms(ttl))
			}
			return nil
		})
		return err
	}
	err := run(s.lua.renew.EvalSha)
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		err = run(s.lua.renew.Eval)
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]bool, len(names))
	for i, c := range cmds {
		n, err := c.Int64()
		if err != nil {
			return nil, wrap(op, err)
		}
		out[i] = n == 1
	}
	return out, nil
}

// renewManyChunk bounds the leases of one renewMany call, so that a
// node holding many conversations does not stall Redis with one long
// script.
const renewManyChunk = 1000

// renewMany is RenewAll off a Cluster, where every lease is on the one
// master: one script call per chunk of leases, all in one pipeline.
// Redis's time per renewal is mostly that of a call (its arguments, the
// script's start), not of GET and PEXPIRE, and a node renews every
// lease it holds a few times per lease TTL.
func (s *Store) renewMany(ctx context.Context, names []string, owner string, ttl time.Duration) ([]bool, error) {
	const op = "renew"
	var cmds []*redis.Cmd
	run := func(eval evalFunc) error {
		cmds = cmds[:0]
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for c := 0; c < len(names); c += renewManyChunk {
				chunk := names[c:min(c+renewManyChunk, len(names))]
				keys := make([]string, len(chunk))
				for i, n := range chunk {
					keys[i] = s.keys.lease(n)
				}
				cmds = append(cmds, eval(ctx, p, keys, owner, ms(ttl)))
			}
			return nil
		})
		return err
	}
	err := run(s.lua.renewMany.EvalSha)
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		err = run(s.lua.renewMany.Eval)
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]bool, 0, len(names))
	for _, c := range cmds {
		vals, err := c.Int64Slice()
		if err != nil {
			return nil, wrap(op, err)
		}
		for _, v := range vals {
			out = append(out, v == 1)
		}
	}
	if len(out) != len(names) {
		return nil, corrupt(op, "%d outcomes for %d leases", len(out), len(names))
	}
	return out, nil
}

// lease runs the acquire or renew script.
func (s *Store) lease(ctx context.Context, op string, script *redis.Script, name, owner string, ttl time.Duration) (bool, error) {
	if err := checkLease(op, name, owner); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, invalid(op, "ttl %v", ttl)
	}
	n, err := script.Run(ctx, s.client, []string{s.keys.lease(name)}, owner, ms(ttl)).Int64()
	return n == 1, wrap(op, err)
}

// Release frees the lease name if owner holds it. A free lease is no
// error; one held by another owner is ErrNotHolder and stays held.
func (s *Store) Release(ctx context.Context, name, owner string) error {
	const op = "release"
	if err := checkLease(op, name, owner); err != nil {
		return err
	}
	n, err := s.lua.release.Run(ctx, s.client, []string{s.keys.lease(name)}, owner).Int64()
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return wrap(op, ErrNotHolder)
	}
	return nil
}

// Owner returns the holder of the lease name, "" when it is free.
func (s *Store) Owner(ctx context.Context, name string) (string, error) {
	if name == "" {
		return "", invalid("owner", "empty lease name")
	}
	v, err := s.client.Get(ctx, s.keys.lease(name)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, wrap("owner", err)
}

func checkLease(op, name, owner string) error {
	if name == "" || owner == "" {
		return invalid(op, "lease %q owner %q: both must be set", name, owner)
	}
	return nil
}

// Hit counts one event for key in a fixed window: the first hit starts a
// window of the given length, the count returns to zero when it ends. It
// returns the count including this hit. Promotion thresholds ("N messages
// within T") and rate limits compare it with their limit.
func (s *Store) Hit(ctx context.Context, key string, window time.Duration) (int64, error) {
	if key == "" || window <= 0 {
		return 0, invalid("hit", "key %q window %v", key, window)
	}
	n, err := s.lua.hit.Run(ctx, s.client, []string{s.keys.hit(key)}, ms(window)).Int64()
	return n, wrap("hit", err)
}

// Put stores value under key for ttl (receipt correlation: SMSC message
// id -> our message). ttl must be positive: nothing stays forever.
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if key == "" || ttl <= 0 {
		return invalid("put", "key %q ttl %v", key, ttl)
	}
	return wrap("put", s.client.Set(ctx, s.keys.kv(key), value, time.Duration(ms(ttl))*time.Millisecond).Err())
}

// Get returns the value under key and whether there is one.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if key == "" {
		return nil, false, invalid("get", "empty key")
	}
	v, err := s.client.Get(ctx, s.keys.kv(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap("get", err)
	}
	return v, true, nil
}

// Delete forgets key; deleting none is no error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if key == "" {
		return invalid("delete", "empty key")
	}
	return wrap("delete", s.client.Del(ctx, s.keys.kv(key)).Err())
}

// Notify wakes node up for conv (PUBLISH on the node's channel): a node
// that queued a message for a conversation another node owns tells the
// owner. It is a hint: a node that is not subscribed misses it, so owners
// also poll PendingConversations.
func (s *Store) Notify(ctx context.Context, node, conv string) error {
	if node == "" || conv == "" {
		return invalid("notify", "node %q and conversation must be set", node)
	}
	return wrap("notify", s.client.Publish(ctx, s.keys.node(node), conv).Err())
}

// subscribeBuffer is how many wake-ups wait for a slow reader.
const subscribeBuffer = 256

// Subscribe returns the conversations other nodes Notify node about. The
// subscription is active when Subscribe returns. The channel is closed
// when ctx ends or the store closes; a lost connection is resubscribed by
// the client, and wake-ups sent meanwhile are lost (see Notify).
func (s *Store) Subscribe(ctx context.Context, node string) (<-chan string, error) {
	const op = "subscribe"
	if node == "" {
		return nil, invalid(op, "empty node")
	}
	if !s.goroutine() {
		return nil, wrap(op, redis.ErrClosed)
	}
	ps := s.client.Subscribe(ctx, s.keys.node(node))
	// The first reply confirms the subscription: Notify after Subscribe
	// returns is never missed.
	if _, err := ps.Receive(ctx); err != nil {
		s.wg.Done()
		return nil, wrap(op, errors.Join(err, ps.Close()))
	}
	in := ps.Channel(redis.WithChannelSize(subscribeBuffer))
	out := make(chan string, subscribeBuffer)
	go func() {
		defer s.wg.Done()
		defer close(out)
		// The pubsub's close error concerns a subscription nobody reads
		// any more.
		defer func() { _ = ps.Close() }()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.done:
				return
			case m, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- m.Payload:
				case <-ctx.Done():
					return
				case <-s.done:
					return
				}
			}
		}
	}()
	return out, nil
}

// Count adds by to the cluster-wide counter name (HINCRBY).
func (s *Store) Count(ctx context.Context, name string, by int64) error {
	if name == "" {
		return invalid("count", "empty counter name")
	}
	return wrap("count", s.client.HIncrBy(ctx, s.keys.counters(), name, by).Err())
}

// Counters returns every cluster-wide counter.
func (s *Store) Counters(ctx context.Context) (map[string]int64, error) {
	m, err := s.client.HGetAll(ctx, s.keys.counters()).Result()
	if err != nil {
		return nil, wrap("counters", err)
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, corrupt("counters", "counter %q = %q", k, v)
		}
		out[k] = n
	}
	return out, nil
}
