package store

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// embeddedTick is how often the embedded store moves miniredis's clock by
// the real time elapsed: miniredis expires keys only when told that time
// has passed, and doing it from a ticker costs one pass over the TTL'd
// keys per tick instead of a clock reading per command (ClockTTL). TTLs are
// honoured to this precision.
const embeddedTick = 100 * time.Millisecond

// Store is the IWF's durable state in Redis. It is safe for concurrent
// use. No go-redis type crosses its API.
type Store struct {
	// client is a *redis.Client (single, sentinel) or a
	// *redis.ClusterClient.
	client redis.UniversalClient
	mini   *miniredis.Miniredis // nil with a configured Redis
	mode   string
	addr   string
	keys   keys
	log    *slog.Logger
	lua    scripts
	// batch writes Enqueues in groups, schedules the writes of
	// schedules (batch.go).
	batch     *batcher[*enqReq]
	schedules *batcher[*schedReq]
	// waitReplicas and waitTimeout are Config.MinReplicasAck and
	// MinReplicasTimeout.
	waitReplicas int
	waitTimeout  time.Duration
	// sentinels, masterName and dialTimeout let Topology ask the
	// sentinels for the master.
	sentinels   []string
	masterName  string
	dialTimeout time.Duration
	// aofFindings are set by Open's checkPersistence and only read
	// afterwards.
	aofFindings []AOFFinding

	mu     sync.Mutex
	closed bool
	done   chan struct{} // closed by Close: goroutines stop
	wg     sync.WaitGroup

	// testHookSettle, when set by a test, runs inside Settle between the
	// ZREM and the re-check, where a racing Enqueue matters.
	testHookSettle func()
}

// Open validates cfg, connects and pings. In single mode without an
// address it first starts an embedded miniredis on 127.0.0.1:0, logs that
// its state is not durable, and keeps its clock moving until Close. A
// Redis that does not answer is an error matching ErrUnavailable. On
// Redis it also warns, without failing, about a master that would rewrite
// its append-only file every few seconds (checkPersistence).
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	seeds := cfg.seeds()
	s := &Store{
		mode:         cfg.Mode,
		addr:         strings.Join(seeds, ","),
		keys:         keys{prefix: cfg.Prefix},
		log:          log.With("component", "store"),
		lua:          newScripts(),
		done:         make(chan struct{}),
		waitReplicas: cfg.MinReplicasAck,
		waitTimeout:  cfg.MinReplicasTimeout,
		masterName:   cfg.MasterName,
		dialTimeout:  cfg.DialTimeout,
	}
	s.batch = newBatcher(cfg.BatchWindow, cfg.BatchMax, s.writeEnqueues)
	s.schedules = newBatcher(cfg.BatchWindow, cfg.BatchMax, s.writeSchedules)
	if cfg.Mode == ModeSentinel {
		s.sentinels = cfg.Addrs
	}
	if cfg.embedded() {
		m := miniredis.NewMiniRedis()
		if cfg.Password != "" {
			m.RequireUserAuth(cmp.Or(cfg.Username, "default"), cfg.Password)
		}
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("store: start embedded store: %w", err)
		}
		s.mini, s.addr = m, m.Addr()
		seeds = []string{s.addr}
	}
	opts := &redis.UniversalOptions{
		Addrs:                 seeds,
		MasterName:            cfg.MasterName,
		IsClusterMode:         cfg.Mode == ModeCluster,
		Username:              cfg.Username,
		Password:              cfg.Password,
		DB:                    cfg.DB,
		PoolSize:              cfg.PoolSize,
		DialTimeout:           cfg.DialTimeout,
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		MaxRetries:            cfg.MaxRetries,
		ContextTimeoutEnabled: true,
		// CLIENT SETINFO is one more round trip per connection and
		// miniredis refuses it.
		DisableIdentity: true,
	}
	if cfg.TLS {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.Mode == ModeSingle {
			host, _, _ := net.SplitHostPort(seeds[0])
			opts.TLSConfig.ServerName = host
		}
		// Elsewhere the server name is each node's host: crypto/tls takes
		// it from the dialled address when ServerName is empty.
	}
	// MasterName selects the sentinel client, IsClusterMode the cluster
	// client even with a single seed; otherwise a plain client.
	s.client = redis.NewUniversalClient(opts)
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		cc.AddHook(reloadOnFailure{cc})
	}
	if err := s.Ping(ctx); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	if s.mini == nil {
		if err := s.checkEviction(ctx, cfg.AllowEviction); err != nil {
			return nil, errors.Join(err, s.Close())
		}
		s.checkPersistence(ctx)
	}
	if err := s.migratePending(ctx); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	if s.mini != nil {
		s.log.Warn("embedded store: state is not durable", "addr", s.addr)
		s.wg.Add(1)
		go s.tick()
	} else {
		s.log.Info("store connected", "mode", s.mode, "addr", s.addr, "master_name", cfg.MasterName,
			"db", cfg.DB, "prefix", cfg.Prefix, "min_replicas_ack", s.waitReplicas,
			"batch", s.batch.String())
	}
	return s, nil
}

// tick advances the embedded store's clock by the real elapsed time until
// Close, so that TTLs (leases, dedup, windows) expire as on Redis.
func (s *Store) tick() {
	defer s.wg.Done()
	t := time.NewTicker(embeddedTick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			now := time.Now()
			s.mini.FastForward(now.Sub(last))
			last = now
		}
	}
}

// Close stops the store's goroutines (the embedded clock, subscriptions),
// writes the Enqueues waiting for their batch and waits for those in
// flight, so that each gets its outcome, then closes the connections and
// the embedded server. An Enqueue after Close fails with ErrUnavailable.
// It is idempotent; later calls return nil.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.batch.close()
	s.schedules.close()
	s.wg.Wait()
	var err error
	if s.client != nil {
		if cerr := s.client.Close(); cerr != nil {
			err = fmt.Errorf("store: close: %w", cerr)
		}
	}
	if s.mini != nil {
		s.mini.Close()
	}
	return err
}

// Embedded reports whether the store runs the in-process miniredis.
func (s *Store) Embedded() bool { return s.mini != nil }

// Addr returns the Redis "host:port" (the embedded server's when
// Embedded); in cluster and sentinel mode the configured seeds, joined
// by commas.
func (s *Store) Addr() string { return s.addr }

// Mode returns the topology: ModeSingle, ModeCluster or ModeSentinel.
func (s *Store) Mode() string { return s.mode }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return wrap("ping", s.client.Ping(ctx).Err())
}

// Writable checks that the store takes writes, with a SET that expires:
// a Redis at maxmemory under noeviction answers OOM, a replica READONLY,
// and a node that cannot write cannot acknowledge anything (/readyz).
func (s *Store) Writable(ctx context.Context) error {
	return wrap("write check", s.client.Set(ctx, s.keys.prefix+":ready", time.Now().UnixMilli(), 10*time.Second).Err())
}

// checkEviction refuses a Redis that may evict keys (maxmemory-policy
// other than noeviction): it could drop the queue of a message the IWF
// acknowledged. INFO memory is read rather than CONFIG GET, which managed
// Redis services often disable; a server that shows no policy passes.
func (s *Store) checkEviction(ctx context.Context, allow bool) error {
	// Every master of a cluster holds queues.
	var mu sync.Mutex
	policy := ""
	err := s.eachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "memory").Result()
		if err != nil {
			return err
		}
		if p := infoField(info, "maxmemory_policy"); p != "" && p != "noeviction" {
			mu.Lock()
			policy = p
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		s.log.Warn("cannot read the eviction policy", "error", err)
		return nil
	}
	if policy == "" {
		return nil
	}
	if allow {
		s.log.Warn("redis may evict keys: acknowledged messages can be lost", "maxmemory_policy", policy)
		return nil
	}
	return fmt.Errorf("store: redis maxmemory-policy is %s, which may evict queued messages: set it to noeviction, or store.allow_eviction: true: %w", policy, ErrEviction)
}

// eachMaster runs fn on every master: each of a cluster (concurrently),
// else the one client.
func (s *Store) eachMaster(ctx context.Context, fn func(context.Context, *redis.Client) error) error {
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, fn)
	case *redis.Client:
		return fn(ctx, c)
	}
	return fmt.Errorf("store: unexpected client %T", s.client)
}

// infoField returns the value of name in an INFO reply ("name:value" lines).
func infoField(info, name string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// goroutine registers a goroutine that Close waits for; false once the
// store is closed.
func (s *Store) goroutine() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// ms is d in whole milliseconds for PX/PEXPIRE, at least 1 so that a
// positive sub-millisecond TTL does not mean "no TTL".
func ms(d time.Duration) int64 { return max(d.Milliseconds(), 1) }
