package store

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"iwf/internal/testutil"
	"iwf/store/redistest"
)

// recorder is a slog handler that keeps every record, for tests that
// assert on what the store logged.
type recorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler { return &recorderWith{r, as} }
func (r *recorder) WithGroup(string) slog.Handler         { return r }

// recorderWith is a recorder under logger.With: its attributes (the
// component) are added to each record.
type recorderWith struct {
	r     *recorder
	attrs []slog.Attr
}

func (w *recorderWith) Enabled(context.Context, slog.Level) bool { return true }

func (w *recorderWith) Handle(ctx context.Context, rec slog.Record) error {
	rec = rec.Clone()
	rec.AddAttrs(w.attrs...)
	return w.r.Handle(ctx, rec)
}

func (w *recorderWith) WithAttrs(as []slog.Attr) slog.Handler {
	return &recorderWith{w.r, append(slices.Clone(w.attrs), as...)}
}
func (w *recorderWith) WithGroup(string) slog.Handler { return w }

// at returns the records logged at level whose message is msg.
func (r *recorder) at(level slog.Level, msg string) []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Record
	for _, rec := range r.recs {
		if rec.Level == level && rec.Message == msg {
			out = append(out, rec)
		}
	}
	return out
}

// attr returns the value of rec's attribute key, "" when absent.
func attr(rec slog.Record, key string) string {
	v := ""
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

const (
	aofWarning = "redis rewrites its append-only file every few seconds under load, a latency spike each time: see the README, \"State store\""
	aofDebug   = "cannot read the append-only file settings"
)

// openRecorded opens a store on cfg whose log is recorded.
func openRecorded(t *testing.T, cfg Config) (*Store, *recorder) {
	t.Helper()
	rec := &recorder{}
	s, err := Open(testutil.Context(t), cfg, slog.New(rec))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, rec
}

// configSet runs CONFIG SET name value on the Redis at addr.
func configSet(t *testing.T, addr, name, value string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true})
	defer func() { _ = c.Close() }()
	if err := c.ConfigSet(testutil.Context(t), name, value).Err(); err != nil {
		t.Fatalf("CONFIG SET %s %s on %s: %v", name, value, addr, err)
	}
}

func TestOpenWarnsAboutFrequentAOFRewrites(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the config to open, on a server of its own.
		setup    func(t *testing.T) Config
		warnings int
		// refused: CONFIG GET fails, which is logged at debug level.
		refused bool
	}{
		{
			name: "aof with redis's defaults",
			setup: func(t *testing.T) Config {
				return Config{Addr: redistest.StartServer(t, redistest.StartOpts{EverySec: true}).Addr()}
			},
			warnings: 1,
		},
		{
			name: "aof with a 4gb min size",
			setup: func(t *testing.T) Config {
				addr := redistest.StartServer(t, redistest.StartOpts{EverySec: true}).Addr()
				configSet(t, addr, "auto-aof-rewrite-min-size", "4gb")
				return Config{Addr: addr}
			},
		},
		{
			name: "automatic rewrites off",
			setup: func(t *testing.T) Config {
				addr := redistest.StartServer(t, redistest.StartOpts{EverySec: true}).Addr()
				configSet(t, addr, "auto-aof-rewrite-percentage", "0")
				return Config{Addr: addr}
			},
		},
		{
			name:  "no aof",
			setup: func(t *testing.T) Config { return Config{Addr: redistest.Start(t)} },
		},
		{
			name: "config refused by acl",
			setup: func(t *testing.T) Config {
				addr := redistest.StartServer(t, redistest.StartOpts{EverySec: true}).Addr()
				c := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true})
				defer func() { _ = c.Close() }()
				err := c.Do(testutil.Context(t), "ACL", "SETUSER", "iwf", "on", ">secret", "~*", "&*", "+@all", "-config").Err()
				if err != nil {
					t.Fatalf("ACL SETUSER: %v", err)
				}
				return Config{Addr: addr, Username: "iwf", Password: "secret"}
			},
			refused: true,
		},
		{
			name:  "embedded store",
			setup: func(*testing.T) Config { return Config{} },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.setup(t)
			s, rec := openRecorded(t, cfg)
			warns := rec.at(slog.LevelWarn, aofWarning)
			if len(warns) != tc.warnings {
				t.Fatalf("got %d warnings about AOF rewrites, want %d", len(warns), tc.warnings)
			}
			for _, w := range warns {
				if got := attr(w, "master"); got != cfg.Addr {
					t.Errorf("master = %q, want %q", got, cfg.Addr)
				}
				if got := attr(w, "auto_aof_rewrite_min_size"); got != "67108864" {
					t.Errorf("auto_aof_rewrite_min_size = %q, want Redis's default 67108864", got)
				}
				if got := attr(w, "appendfsync"); got != "everysec" {
					t.Errorf("appendfsync = %q, want everysec", got)
				}
				if got := attr(w, "recommendation"); got != aofRecommendation {
					t.Errorf("recommendation = %q", got)
				}
			}
			// What was logged is kept for the status page, the same.
			findings := s.AOFFindings()
			if len(findings) != tc.warnings {
				t.Fatalf("AOFFindings = %+v, want %d findings", findings, tc.warnings)
			}
			for _, f := range findings {
				want := AOFFinding{Master: cfg.Addr, Problem: aofWarning, AppendOnly: "yes", AppendFsync: "everysec",
					RewriteMinSize: 64 << 20, RewritePercentage: 100, Recommendation: aofRecommendation}
				if f != want {
					t.Errorf("finding %+v, want %+v", f, want)
				}
			}
			if len(findings) > 0 {
				// The caller gets a copy, not the store's own.
				findings[0].Master = "changed"
				if got := s.AOFFindings()[0].Master; got != cfg.Addr {
					t.Errorf("after changing the copy, master = %q", got)
				}
			}
			if got := len(rec.at(slog.LevelDebug, aofDebug)) > 0; got != tc.refused {
				t.Errorf("debug record %q logged: %v, want %v", aofDebug, got, tc.refused)
			}
		})
	}
}

// On a cluster every master is checked, each warned about once; replicas
// are not masters.
func TestOpenWarnsAboutFrequentAOFRewritesPerClusterMaster(t *testing.T) {
	c := redistest.StartCluster(t, redistest.ClusterOpts{Replicas: 1})
	for _, a := range c.Addrs() {
		configSet(t, a, "appendonly", "yes")
	}
	s, rec := openRecorded(t, Config{Mode: ModeCluster, Addrs: c.Addrs()[:1]})
	var got []string
	for _, w := range rec.at(slog.LevelWarn, aofWarning) {
		got = append(got, attr(w, "master"))
	}
	slices.Sort(got)
	want := slices.Clone(c.Addrs()[:3]) // masters come first
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("warned for masters %q, want one warning each for %q", got, want)
	}
	// The findings are ordered by master, whatever order the masters
	// answered in.
	var found []string
	for _, f := range s.AOFFindings() {
		found = append(found, f.Master)
	}
	if !slices.Equal(found, want) {
		t.Fatalf("AOFFindings for masters %q, want %q", found, want)
	}
}

// Behind Sentinel, the warning names the master the sentinels know, not
// the failover client's placeholder address.
func TestOpenWarnsAboutFrequentAOFRewritesSentinel(t *testing.T) {
	cfg := topology(t, ModeSentinel)
	master, err := shared.sentinel.Master()
	if err != nil {
		t.Fatal(err)
	}
	// The sentinel set is shared by the package's tests: put its master
	// back as it was.
	configSet(t, master, "appendonly", "yes")
	t.Cleanup(func() { configSet(t, master, "appendonly", "no") })
	s, rec := openRecorded(t, cfg)
	warns := rec.at(slog.LevelWarn, aofWarning)
	if len(warns) != 1 {
		t.Fatalf("got %d warnings about AOF rewrites, want 1", len(warns))
	}
	if got := attr(warns[0], "master"); got != master {
		t.Errorf("master = %q, want %q", got, master)
	}
	if f := s.AOFFindings(); len(f) != 1 || f[0].Master != master {
		t.Errorf("AOFFindings = %+v, want one for %s", f, master)
	}
}
