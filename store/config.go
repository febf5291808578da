package store

import (
	"errors"
	"net"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Config says where the state lives.
type Config struct {
	// Addr is the Redis "host:port"; empty starts an embedded, in-process
	// miniredis on 127.0.0.1:0 (not durable, one node only).
	Addr string `yaml:"addr"`
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
)

// Validate checks every field and returns the faults joined, each a
// *FieldError naming its YAML field ("addr", "prefix"). Nothing is clamped.
func (c Config) Validate() error {
	var errs []error
	if c.Addr != "" {
		host, port, err := net.SplitHostPort(c.Addr)
		n, perr := strconv.Atoi(port)
		switch {
		case err != nil:
			errs = append(errs, fieldError("addr", "want host:port: "+err.Error()))
		case host == "":
			errs = append(errs, fieldError("addr", "host is empty"))
		case perr != nil || n < 1 || n > 65535:
			errs = append(errs, fieldError("addr", "port "+strconv.Quote(port)+" is not 1-65535"))
		}
	} else if c.TLS {
		errs = append(errs, fieldError("tls", "the embedded store (empty addr) does not serve tls"))
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

// DefaultConfig returns the settings an empty store section means: the
// embedded store, with the defaults of every field.
func DefaultConfig() Config { return Config{}.withDefaults() }

// withDefaults fills the zero fields with the defaults.
func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = defaultPrefix
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = defaultRetries
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
