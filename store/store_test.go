package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"iwf/internal/testutil"
	"iwf/store/redistest"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		paths []string
	}{
		{"zero is embedded", Config{}, nil},
		{"full", Config{Addr: "redis.example:6380", Username: "iwf", Password: "pw", DB: 3, TLS: true, Prefix: "iwf-eu", PoolSize: 20, DialTimeout: time.Second}, nil},
		{"ipv6", Config{Addr: "[::1]:6379"}, nil},
		{"no port", Config{Addr: "localhost"}, []string{"addr"}},
		{"port zero", Config{Addr: "localhost:0"}, []string{"addr"}},
		{"port name", Config{Addr: "localhost:redis"}, []string{"addr"}},
		{"no host", Config{Addr: ":6379"}, []string{"addr"}},
		{"tls embedded", Config{TLS: true}, []string{"tls"}},
		{"user without password", Config{Addr: "h:1", Username: "u"}, []string{"password"}},
		{"brace prefix", Config{Prefix: "iwf{x}"}, []string{"prefix"}},
		{"space prefix", Config{Prefix: "i w"}, []string{"prefix"}},
		{"negatives", Config{DB: -1, PoolSize: -1, DialTimeout: -1, ReadTimeout: -1, WriteTimeout: -1},
			[]string{"db", "pool_size", "dial_timeout", "read_timeout", "write_timeout"}},
		{"single addrs", Config{Mode: ModeSingle, Addrs: []string{"h:1"}}, nil},
		{"cluster", Config{Mode: ModeCluster, Addrs: []string{"a:1", "b:2"}, TLS: true, MinReplicasAck: 1}, nil},
		{"sentinel", Config{Mode: ModeSentinel, Addrs: []string{"a:26379"}, MasterName: "m", DB: 1}, nil},
		{"bad mode", Config{Mode: "ring"}, []string{"mode"}},
		{"addr and addrs", Config{Addr: "h:1", Addrs: []string{"h:2"}}, []string{"addrs"}},
		{"single two addrs", Config{Addrs: []string{"h:1", "h:2"}}, []string{"addrs"}},
		{"bad seed", Config{Mode: ModeCluster, Addrs: []string{"a:1", "b"}}, []string{"addrs[1]"}},
		{"cluster without seeds", Config{Mode: ModeCluster, Addr: "a:1", DB: 1, MasterName: "m"},
			[]string{"addr", "addrs", "db", "master_name"}},
		{"sentinel without master", Config{Mode: ModeSentinel, Addrs: []string{"a:1"}}, []string{"master_name"}},
		{"master name in single", Config{Addr: "a:1", MasterName: "m"}, []string{"master_name"}},
		{"replicas embedded", Config{MinReplicasAck: 1}, []string{"min_replicas_ack"}},
		{"replicas negative", Config{Addr: "a:1", MinReplicasAck: -1, MinReplicasTimeout: -1},
			[]string{"min_replicas_ack", "min_replicas_timeout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			var paths []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var fe *FieldError
					if !errors.As(e, &fe) || !errors.Is(e, ErrInvalidConfig) || !strings.HasPrefix(e.Error(), "store: "+fe.Path+": ") {
						t.Fatalf("error %v is not a store FieldError", e)
					}
					paths = append(paths, fe.Path)
				}
			}
			if fmt.Sprint(paths) != fmt.Sprint(tc.paths) {
				t.Fatalf("Validate() = %v, want faults at %v", err, tc.paths)
			}
		})
	}
}

func TestConfigYAML(t *testing.T) {
	src := "addr: 127.0.0.1:6379\nusername: iwf\npassword: secret\ndb: 2\ntls: true\nprefix: iwf2\npool_size: 7\ndial_timeout: 1s\nread_timeout: 3s\nwrite_timeout: 500ms\n"
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	var c Config
	must(t, dec.Decode(&c))
	want := Config{Addr: "127.0.0.1:6379", Username: "iwf", Password: "secret", DB: 2, TLS: true, Prefix: "iwf2",
		PoolSize: 7, DialTimeout: time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 500 * time.Millisecond}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("decoded %+v, want %+v", c, want)
	}
	src = "mode: sentinel\naddrs: [a:26379, b:26379]\nmaster_name: iwf\nmin_replicas_ack: 1\nmin_replicas_timeout: 250ms\n"
	dec = yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	c = Config{}
	must(t, dec.Decode(&c))
	want = Config{Mode: ModeSentinel, Addrs: []string{"a:26379", "b:26379"}, MasterName: "iwf", MinReplicasAck: 1,
		MinReplicasTimeout: 250 * time.Millisecond}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("decoded %+v, want %+v", c, want)
	}
}

func TestDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.Mode != ModeSingle || c.MinReplicasTimeout != time.Second || c.Prefix != "iwf" || c.PoolSize <= 0 || c.DialTimeout != 2*time.Second || c.ReadTimeout != 2*time.Second || c.WriteTimeout != 2*time.Second {
		t.Fatalf("defaults %+v", c)
	}
	if c := (Config{Prefix: "x", ReadTimeout: time.Second}).withDefaults(); c.Prefix != "x" || c.ReadTimeout != time.Second {
		t.Fatalf("defaults overrode a setting: %+v", c)
	}
}

func TestOpenEmbedded(t *testing.T) {
	var logs bytes.Buffer
	s, err := Open(context.Background(), Config{}, slog.New(slog.NewTextHandler(&logs, nil)))
	must(t, err)
	if !s.Embedded() || !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("Embedded %v at %q", s.Embedded(), s.Addr())
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "embedded store: state is not durable") || !strings.Contains(logs.String(), "component=store") {
		t.Fatalf("log %q lacks the durability warning", logs.String())
	}
	must(t, s.Ping(context.Background()))
	must(t, s.Close())
	must(t, s.Close()) // idempotent
	// The embedded server is gone with the store.
	if c, err := net.Dial("tcp", s.Addr()); err == nil {
		c.Close()
		t.Fatal("embedded server still listening after Close")
	}
	if err := s.Ping(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping after Close: %v", err)
	}
}

// The embedded store's clock follows real time on its own: a TTL expires
// without anyone moving it.
func TestEmbeddedClockMoves(t *testing.T) {
	s := open(t, Config{})
	ctx := testutil.Context(t)
	must(t, s.Put(ctx, "k", []byte("v"), 50*time.Millisecond))
	// Polling the store's clock, which has no event.
	testutil.Eventually(t, func() bool {
		_, ok, err := s.Get(ctx, "k")
		must(t, err)
		return !ok
	}, "the embedded TTL to expire in real time")
}

func TestEmbeddedPassword(t *testing.T) {
	s := open(t, Config{Password: "pw"})
	ctx := testutil.Context(t)
	must(t, s.Ping(ctx))
	_, err := Open(ctx, Config{Addr: s.Addr(), Password: "wrong"}, nil)
	if err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("wrong password: %v, want an authentication error", err)
	}
}

func TestOpenUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := l.Addr().String()
	l.Close()
	ctx := testutil.Context(t)
	_, err = Open(ctx, Config{Addr: addr, DialTimeout: 200 * time.Millisecond}, nil)
	var ue *UnavailableError
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &ue) || ue.Op != "ping" {
		t.Fatalf("Open on a closed port: %v, want ErrUnavailable", err)
	}
	if _, err := Open(ctx, Config{Addr: "nohost"}, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Open with a bad config: %v", err)
	}
}

func TestOpenRealRedis(t *testing.T) {
	addr := redistest.Start(t)
	var logs bytes.Buffer
	s, err := Open(testutil.Context(t), Config{Addr: addr, Prefix: "t1"}, slog.New(slog.NewTextHandler(&logs, nil)))
	must(t, err)
	t.Cleanup(func() { _ = s.Close() })
	if s.Embedded() || s.Addr() != addr || strings.Contains(logs.String(), "not durable") {
		t.Fatalf("Embedded %v Addr %q log %q", s.Embedded(), s.Addr(), logs.String())
	}
	// Prefixes keep deployments apart on one Redis.
	other := open(t, Config{Addr: addr, Prefix: "t2"})
	enqueue(t, s, conv, "m")
	if n, _ := other.QueueLen(testutil.Context(t), conv); n != 0 {
		t.Fatalf("prefix t2 sees %d entries of t1", n)
	}
}

func TestWrap(t *testing.T) {
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, tc := range []struct {
		name        string
		err         error
		unavailable bool
	}{
		{"net", opErr, true},
		{"deadline", context.DeadlineExceeded, true},
		{"canceled", context.Canceled, false},
		{"loading", redisErr("LOADING Redis is loading the dataset in memory"), true},
		{"readonly", redisErr("READONLY You can't write against a read only replica."), true},
		{"wrong type", redisErr("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := wrap("op", tc.err)
			if errors.Is(err, ErrUnavailable) != tc.unavailable || !errors.Is(err, tc.err) || !strings.HasPrefix(err.Error(), "store: op: ") {
				t.Fatalf("wrap(%v) = %v", tc.err, err)
			}
		})
	}
	if wrap("op", nil) != nil {
		t.Fatal("wrap(nil) is not nil")
	}
}

// redisErr is an error as go-redis returns a server's error reply.
type redisErr string

func (e redisErr) Error() string { return string(e) }
func (e redisErr) RedisError()   {}

// TestWritable: a Redis that answers but refuses writes (maxmemory under
// noeviction) is not writable, and its refusal is a temporary one.
func TestWritable(t *testing.T) {
	addr := redistest.Start(t)
	s := open(t, Config{Addr: addr})
	ctx := testutil.Context(t)
	must(t, s.Writable(ctx))
	raw := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = raw.Close() })
	must(t, raw.ConfigSet(ctx, "maxmemory", "1").Err())
	err := s.Writable(ctx)
	if err == nil || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Writable at maxmemory = %v, want an ErrUnavailable", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping still answers: %v", err)
	}
	if _, err := s.Enqueue(ctx, conv, "m", nil, time.Hour, 10); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Enqueue at maxmemory = %v, want an ErrUnavailable (try later)", err)
	}
	must(t, raw.ConfigSet(ctx, "maxmemory", "0").Err())
	must(t, s.Writable(ctx))
	if err := open(t, Config{}).Writable(ctx); err != nil {
		t.Fatalf("embedded store: %v", err)
	}
}

// TestOpenRefusesEviction: a Redis that may evict keys could drop queued
// messages; Open refuses it unless allowed.
func TestOpenRefusesEviction(t *testing.T) {
	addr := redistest.Start(t)
	ctx := testutil.Context(t)
	raw := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = raw.Close() })
	must(t, raw.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err())
	if s, err := Open(ctx, Config{Addr: addr}, testutil.Logger(t)); !errors.Is(err, ErrEviction) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open = %v, want ErrEviction", err)
	} else if !strings.Contains(err.Error(), "allkeys-lru") || !strings.Contains(err.Error(), "allow_eviction") {
		t.Fatalf("error does not say what to do: %v", err)
	}
	open(t, Config{Addr: addr, AllowEviction: true})
	must(t, raw.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err())
	open(t, Config{Addr: addr})
}
