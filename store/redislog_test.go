package store

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"

	"iwf/internal/testutil"
)

// A go-redis Printf becomes one warn record with component=go-redis, its
// arguments formatted, without the trailing newline.
func TestRedisLoggerPrintf(t *testing.T) {
	tests := []struct {
		name   string
		format string
		args   []any
		want   string
	}{
		{"failover", "sentinel: new master=%q addr=%q", []any{"iwf", "10.0.0.2:6379"}, `sentinel: new master="iwf" addr="10.0.0.2:6379"`},
		{"trailing newline", "autopipeline: recovered panic: %v\n%s\n", []any{"boom", "stack"}, "autopipeline: recovered panic: boom\nstack"},
		{"no arguments", "redis: connection pool: was not able to set read deadline", nil, "redis: connection pool: was not able to set read deadline"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			NewRedisLogger(slog.New(rec)).Printf(t.Context(), tc.format, tc.args...)
			got := rec.at(slog.LevelWarn, tc.want)
			if len(got) != 1 || len(rec.recs) != 1 {
				t.Fatalf("records %+v, want one warning %q", rec.recs, tc.want)
			}
			if c := attr(got[0], "component"); c != "go-redis" {
				t.Errorf("component = %q, want go-redis", c)
			}
		})
	}
}

// With log_format json the line is one JSON object like the daemon's own;
// below the logger's level nothing is written.
func TestRedisLoggerHandlers(t *testing.T) {
	var b bytes.Buffer
	NewRedisLogger(slog.New(slog.NewJSONHandler(&b, nil))).Printf(t.Context(), "sentinel: Sentinels master=%q failed: %s", "iwf", "EOF")
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatalf("not one JSON object: %q: %v", b.String(), err)
	}
	if m["level"] != "WARN" || m["component"] != "go-redis" || m["msg"] != `sentinel: Sentinels master="iwf" failed: EOF` {
		t.Errorf("record %v", m)
	}

	b.Reset()
	quiet := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelError}))
	NewRedisLogger(quiet).Printf(t.Context(), "sentinel: new master=%q", "iwf")
	if b.Len() != 0 {
		t.Errorf("logged below the level: %q", b.String())
	}
	NewRedisLogger(nil).Printf(t.Context(), "nothing %d", 1) // discards, does not panic
}

// Set as go-redis's logger, the adapter receives what go-redis logs by
// itself: here a sentinel that refuses the connection.
func TestRedisLoggerGetsGoRedisLines(t *testing.T) {
	dead := testutil.ClosedAddr(t)

	rec := &recorder{}
	redis.SetLogger(NewRedisLogger(slog.New(rec)))
	// The logger is go-redis's global: give the other tests its default
	// back.
	t.Cleanup(logging.Enable)

	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "iwf-redislog-test", SentinelAddrs: []string{dead},
		MaxRetries: -1, DisableIdentity: true})
	defer func() { _ = c.Close() }()
	if err := c.Ping(testutil.Context(t)).Err(); err == nil {
		t.Fatal("ping through a sentinel that is not there succeeded")
	}
	want := `sentinel: GetMasterAddrByName addr=` + dead + `, master="iwf-redislog-test" failed: `
	var found bool
	rec.mu.Lock()
	for _, r := range rec.recs {
		if r.Level == slog.LevelWarn && strings.HasPrefix(r.Message, want) && attr(r, "component") == "go-redis" {
			found = true
		}
	}
	rec.mu.Unlock()
	if !found {
		t.Fatalf("no warning starting %q among %+v", want, rec.recs)
	}
}
