package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"iwf/internal/testutil"
	"iwf/store/redistest"
)

// env is one backend under test: a Store on a fresh real redis-server or
// a fresh embedded miniredis.
type env struct {
	s    *Store
	real bool
	// ttl is a TTL short enough to wait out on real Redis and long enough
	// that the embedded store's own clock never reaches it in a test.
	ttl time.Duration
}

// eachBackend runs fn as a subtest against real Redis and the embedded
// store, each fresh.
func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, b := range []struct {
		name string
		real bool
	}{{"redis", true}, {"embedded", false}} {
		t.Run(b.name, func(t *testing.T) {
			e := &env{real: b.real, ttl: time.Hour}
			cfg := Config{}
			if b.real {
				cfg.Addr = redistest.Start(t)
				e.ttl = time.Second
			}
			e.s = open(t, cfg)
			fn(t, e)
		})
	}
}

// open opens a store closed at the end of the test.
func open(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(context.Background(), cfg, testutil.Logger(t))
	if err != nil {
		t.Fatalf("Open(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// second opens another Store on the same Redis, as another node (or the
// same node after a restart) would.
func (e *env) second(t *testing.T) *Store {
	t.Helper()
	return open(t, Config{Addr: e.s.Addr()})
}

// raw is a plain client on the same Redis, to look at keys.
func (e *env) raw(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: e.s.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// elapse lets e.ttl pass and waits until cond holds: the embedded store's
// clock is moved at once, real Redis is polled until its TTL fires.
func (e *env) elapse(t *testing.T, cond func() bool) {
	t.Helper()
	if !e.real {
		e.s.mini.FastForward(e.ttl)
		if !cond() {
			t.Fatal("condition false after the embedded clock moved past the TTL")
		}
		return
	}
	// Polling Redis's clock: there is no expiry event to wait on.
	testutil.Eventually(t, cond, "the condition after the %v TTL", e.ttl)
}

// nextMilli waits until the wall clock reaches the next millisecond, so
// that two pending-index scores differ.
func nextMilli() {
	for start := time.Now().UnixMilli(); time.Now().UnixMilli() == start; {
	}
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func redistestDurable(t *testing.T) *redistest.Server {
	t.Helper()
	return redistest.StartServer(t, redistest.StartOpts{Durable: true})
}

// hashTag is the part of key Redis Cluster hashes (Cluster specification,
// "Hash tags"): between the first '{' and the next '}', when not empty.
func hashTag(key string) string {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			return key[s+1 : s+1+e]
		}
	}
	return key
}

// keySlot is CLUSTER KEYSLOT: CRC16 (XMODEM) of the tag modulo 16384.
func keySlot(key string) int {
	var crc uint16
	for _, c := range []byte(hashTag(key)) {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc % 16384)
}
