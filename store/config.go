package store

import (
	"errors"
	"net"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// The topologies Config.Mode names.
const (
	// ModeSingle is one Redis (or the embedded store): Addr, or Addrs
	// with one entry.
	ModeSingle = "single"
	// ModeCluster is a Redis Cluster: Addrs are seed nodes, the client
	// learns the slots and follows MOVED and ASK.
	ModeCluster = "cluster"
	// ModeSentinel is a master watched by Redis Sentinel: Addrs are the
	// sentinels, MasterName the monitored master; the client asks them
	// for the master again after a failover.
	ModeSentinel = "sentinel"
)

// Config says where the state lives.
type Config struct {
	// Mode is the topology: single (default), cluster or sentinel.
	Mode string `yaml:"mode"`
	// Addr is the Redis "host:port" in single mode, the shorthand for
	// Addrs with one entry; Addr and Addrs both empty in single mode
	// start an embedded, in-process miniredis on 127.0.0.1:0 (not
	// durable, one node only).
	Addr string `yaml:"addr"`
	// Addrs are "host:port" seeds: cluster nodes (any of them; the
	// others are discovered), or the sentinels in sentinel mode.
	Addrs []string `yaml:"addrs"`
	// MasterName is the master the sentinels monitor (sentinel mode
	// only).
	MasterName string `yaml:"master_name"`
	// MinReplicasAck, when positive, makes Enqueue wait (WAIT) until that
	// many replicas hold the entry before it reports success, so that a
	// message the IWF acknowledged survives the loss of its master. An
	// entry stored on the master but not on enough replicas within
	// MinReplicasTimeout is reported as ErrUnavailable: the peer retries
	// and the retry is a duplicate (dedup) that waits again. 0 (default)
	// acknowledges once the master holds the entry.
	MinReplicasAck int `yaml:"min_replicas_ack"`
	// MinReplicasTimeout bounds the WAIT; default 1s.
	MinReplicasTimeout time.Duration `yaml:"min_replicas_timeout"`
	// Username is the Redis 6 ACL user; empty authenticates as "default"
	// (or not at all without Password).
	Username string `yaml:"username"`
	// Password authenticates; cmd/iwf expands ${ENV} in it.
	Password string `yaml:"password"`
	// DB is the database number (SELECT); Redis Cluster has only 0.
	DB int `yaml:"db"`
	// TLS connects with TLS (verified against the system roots, server
	// name from Addr).
	TLS bool `yaml:"tls"`
	// Prefix starts every key, so that several deployments can share one
	// Redis; default "iwf".
	Prefix string `yaml:"prefix"`
	// PoolSize bounds the connections; default 10 per GOMAXPROCS, as
	// go-redis does.
	PoolSize int `yaml:"pool_size"`
	// DialTimeout bounds connecting; default 2s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// ReadTimeout bounds waiting for a reply; default 2s. Blocking reads
	// (Read with block > 0) add their block time.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds sending a command; default 2s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// MaxRetries is how often a failed command is tried again (network
	// errors, a failover); default 1, -1 for none. Each try may take the
	// timeouts above: with Redis down, ingress is answered "try later"
	// within about (1 + max_retries) x dial_timeout.
	MaxRetries int `yaml:"max_retries"`
	// BatchWindow is how long an Enqueue (or a write of a schedule:
	// Schedule, Reschedule, Unschedule) waits for others to share its
	// round trip to Redis (group commit) when other batches are being
	// written (one that finds none goes at once): the ones that arrive
	// within it, up to BatchMax, are written in one pipeline, and each
	// caller still returns only once its own write is done. Default 200µs;
	// at most 100ms.
	BatchWindow time.Duration `yaml:"batch_window"`
	// BatchMax writes a batch at once when it holds this many entries,
	// without waiting for the rest of the window. Default 64, at most
	// 1024; 1 turns batching off (each Enqueue its own round trip).
	BatchMax int `yaml:"batch_max"`
	// AllowEviction lets the IWF start on a Redis whose maxmemory-policy
	// may evict keys (anything but noeviction). Eviction can drop queues
	// of acknowledged messages: leave it false unless this Redis holds
	// nothing that must not be lost.
	AllowEviction bool `yaml:"allow_eviction"`
}

// The defaults, in one place.
const (
	defaultPrefix  = "iwf"
	defaultTimeout = 2 * time.Second
	defaultRetries = 1
	defaultWait    = time.Second
	// defaultBatchWindow is well under a round trip on a loaded host, so
	// that a lone Enqueue hardly waits, and long enough to gather the
	// submits of a busy SMPP window.
	defaultBatchWindow = 200 * time.Microsecond
	defaultBatchMax    = 64
	// maxBatchMax bounds BatchMax: a batch is one script call of five
	// arguments per entry.
	maxBatchMax = 1024
	// maxBatchWindow bounds BatchWindow: every Enqueue may wait this long
	// before its round trip.
	maxBatchWindow = 100 * time.Millisecond
)

// Validate checks every field and returns the faults joined, each a
// *FieldError naming its YAML field ("addr", "prefix"). Nothing is clamped.
func (c Config) Validate() error {
	var errs []error
	if c.Addr != "" {
		errs = append(errs, checkAddr("addr", c.Addr)...)
	}
	for i, a := range c.Addrs {
		errs = append(errs, checkAddr("addrs["+strconv.Itoa(i)+"]", a)...)
	}
	switch c.Mode {
	case "", ModeSingle:
		if c.Addr != "" && len(c.Addrs) > 0 {
			errs = append(errs, fieldError("addrs", "set addr or addrs, not both"))
		}
		if len(c.Addrs) > 1 {
			errs = append(errs, fieldError("addrs", "single mode takes one address (mode cluster or sentinel for more)"))
		}
		if c.MasterName != "" {
			errs = append(errs, fieldError("master_name", "sentinel mode only"))
		}
		if c.embedded() && c.TLS {
			errs = append(errs, fieldError("tls", "the embedded store (empty addr) does not serve tls"))
		}
		if c.embedded() && c.MinReplicasAck > 0 {
			errs = append(errs, fieldError("min_replicas_ack", "the embedded store has no replicas"))
		}
	case ModeCluster, ModeSentinel:
		if c.Addr != "" {
			errs = append(errs, fieldError("addr", "single mode only: list the "+c.Mode+" seeds in addrs"))
		}
		if len(c.Addrs) == 0 {
			errs = append(errs, fieldError("addrs", "required in "+c.Mode+" mode"))
		}
		if c.Mode == ModeCluster && c.DB != 0 {
			errs = append(errs, fieldError("db", "redis cluster has only database 0"))
		}
		if c.Mode == ModeCluster && c.MasterName != "" {
			errs = append(errs, fieldError("master_name", "sentinel mode only"))
		}
		if c.Mode == ModeSentinel && c.MasterName == "" {
			errs = append(errs, fieldError("master_name", "required in sentinel mode"))
		}
	default:
		errs = append(errs, fieldError("mode", "want single, cluster or sentinel, not "+strconv.Quote(c.Mode)))
	}
	if c.MinReplicasAck < 0 {
		errs = append(errs, fieldError("min_replicas_ack", "negative"))
	}
	if c.MinReplicasTimeout < 0 {
		errs = append(errs, fieldError("min_replicas_timeout", "negative"))
	}
	if c.Username != "" && c.Password == "" {
		// Redis 6 ACL: AUTH takes a password with every username.
		errs = append(errs, fieldError("password", "required with username"))
	}
	if c.DB < 0 {
		errs = append(errs, fieldError("db", "negative"))
	}
	if c.MaxRetries < -1 {
		errs = append(errs, fieldError("max_retries", "-1 (none) or more"))
	}
	// A brace in the prefix would move the Cluster hash tag off the
	// conversation ({...} is the first brace pair of the key, Redis
	// Cluster specification "Hash tags").
	if strings.ContainsAny(c.Prefix, "{} \t\r\n") {
		errs = append(errs, fieldError("prefix", "must not contain braces or white space"))
	}
	if c.BatchWindow < 0 || c.BatchWindow > maxBatchWindow {
		errs = append(errs, fieldError("batch_window", "want 0 (default "+defaultBatchWindow.String()+") to "+maxBatchWindow.String()+", not "+c.BatchWindow.String()))
	}
	if c.BatchMax < 0 || c.BatchMax > maxBatchMax {
		errs = append(errs, fieldError("batch_max", "want 0 (default "+strconv.Itoa(defaultBatchMax)+") to "+strconv.Itoa(maxBatchMax)+", not "+strconv.Itoa(c.BatchMax)))
	}
	if c.PoolSize < 0 {
		errs = append(errs, fieldError("pool_size", "negative"))
	}
	for _, d := range []struct {
		path string
		v    time.Duration
	}{{"dial_timeout", c.DialTimeout}, {"read_timeout", c.ReadTimeout}, {"write_timeout", c.WriteTimeout}} {
		if d.v < 0 {
			errs = append(errs, fieldError(d.path, "negative"))
		}
	}
	return errors.Join(errs...)
}

// checkAddr validates one "host:port" at path.
func checkAddr(path, addr string) []error {
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	switch {
	case err != nil:
		return []error{fieldError(path, "want host:port: "+err.Error())}
	case host == "":
		return []error{fieldError(path, "host is empty")}
	case perr != nil || n < 1 || n > 65535:
		return []error{fieldError(path, "port "+strconv.Quote(port)+" is not 1-65535")}
	}
	return nil
}

// embedded reports whether c asks for the embedded store: single mode
// without an address.
func (c Config) embedded() bool {
	return (c.Mode == "" || c.Mode == ModeSingle) && c.Addr == "" && len(c.Addrs) == 0
}

// seeds returns the configured addresses, Addr as a list of one.
func (c Config) seeds() []string {
	if c.Addr != "" {
		return []string{c.Addr}
	}
	return c.Addrs
}

// DefaultConfig returns the settings an empty store section means: the
// embedded store, with the defaults of every field.
func DefaultConfig() Config { return Config{}.withDefaults() }

// withDefaults fills the zero fields with the defaults.
func (c Config) withDefaults() Config {
	if c.Mode == "" {
		c.Mode = ModeSingle
	}
	if c.MinReplicasTimeout == 0 {
		c.MinReplicasTimeout = defaultWait
	}
	if c.Prefix == "" {
		c.Prefix = defaultPrefix
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = defaultRetries
	}
	if c.BatchWindow == 0 {
		c.BatchWindow = defaultBatchWindow
	}
	if c.BatchMax == 0 {
		c.BatchMax = defaultBatchMax
	}
	if c.PoolSize == 0 {
		c.PoolSize = 10 * runtime.GOMAXPROCS(0)
	}
	for _, d := range []*time.Duration{&c.DialTimeout, &c.ReadTimeout, &c.WriteTimeout} {
		if *d == 0 {
			*d = defaultTimeout
		}
	}
	return c
}
