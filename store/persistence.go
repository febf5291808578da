package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
)

// aofRewriteMinSizeFloor is the smallest auto-aof-rewrite-min-size that
// Open accepts without a warning. Each message appends about 2 KB to the
// AOF (measured: 1.9-2.3 KB, its writes from ingress to acknowledgement)
// while the data set stays tiny, as entries live milliseconds; so the
// rewrite percentage, relative to the size after the last rewrite, never
// holds a rewrite back, and min-size alone sets how often Redis forks to
// rewrite. At 5,000 msg/s Redis's default of 64 MB lasts about 7 s, and
// each rewrite (the fork, then a child competing for the CPU) measured a
// 200-400 ms bump in latency: p99 54 ms with the default against 27 ms
// with 4 GB. 1 GB lasts about 100 s at that rate.
const aofRewriteMinSizeFloor = 1 << 30

// aofRecommendation is the warning's advice: 4 GB lasts about 7 minutes
// at 5,000 msg/s.
const aofRecommendation = "CONFIG SET auto-aof-rewrite-min-size 4gb (or more, disk permitting), and the same in redis.conf"

// aofProblem is what the warning says, in the log and on the status page.
const aofProblem = "redis rewrites its append-only file every few seconds under load, a latency spike each time: see the README, \"State store\""

// AOFFinding is one master whose append-only file Redis would rewrite
// every few seconds under the IWF's load, as Open found it. It is a plain
// value: copies share nothing.
type AOFFinding struct {
	// Master is the master's address.
	Master string
	// Problem says what is wrong and where the README explains it.
	Problem string
	// AppendOnly, AppendFsync, RewriteMinSize (bytes) and
	// RewritePercentage are the master's appendonly, appendfsync,
	// auto-aof-rewrite-min-size and auto-aof-rewrite-percentage.
	AppendOnly        string
	AppendFsync       string
	RewriteMinSize    int64
	RewritePercentage int64
	// Recommendation is what to change.
	Recommendation string
}

// AOFFindings returns what Open's check of the append-only file settings
// found, one finding per master, ordered by address; nil when nothing
// (and always for the embedded store). The check runs once, at Open:
// a CONFIG SET since is not seen until a restart.
func (s *Store) AOFFindings() []AOFFinding {
	return slices.Clone(s.aofFindings)
}

// aofSettings are the persistence parameters of one master, as CONFIG
// GET reports them.
type aofSettings struct {
	appendonly  string
	appendfsync string
	minSize     int64 // auto-aof-rewrite-min-size, in bytes
	percentage  int64 // auto-aof-rewrite-percentage; 0 turns automatic rewrites off
}

// rewritesOften reports an AOF that Redis rewrites automatically once it
// passes a size the IWF's traffic reaches within seconds.
func (a aofSettings) rewritesOften() bool {
	return a.appendonly == "yes" && a.percentage > 0 && a.minSize < aofRewriteMinSizeFloor
}

// checkPersistence warns, once per master, about an append-only file that
// Redis rewrites every few seconds under load (see
// aofRewriteMinSizeFloor). It is advice, never a reason to refuse the
// store: a master whose CONFIG is renamed, disabled (managed Redis) or
// refused by an ACL is logged at debug level and skipped. It costs one
// pipelined round trip per master, bounded by the read timeout, and runs
// on the masters of a cluster concurrently. What it warns about is kept
// for AOFFindings (the status page).
func (s *Store) checkPersistence(ctx context.Context) {
	var (
		mu       sync.Mutex // the cluster's masters report concurrently
		findings []AOFFinding
	)
	defer func() {
		slices.SortFunc(findings, func(a, b AOFFinding) int { return cmp.Compare(a.Master, b.Master) })
		s.aofFindings = findings
	}()
	_ = s.eachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		addr := c.Options().Addr
		a, err := readAOFSettings(ctx, c)
		if err != nil {
			s.log.Debug("cannot read the append-only file settings", "master", addr, "error", err)
			return nil
		}
		if !a.rewritesOften() {
			return nil
		}
		if s.mode == ModeSentinel {
			// The failover client's Addr is a placeholder, not the
			// master's; the sentinels know which one it is.
			if m, err := s.sentinelMaster(ctx); err == nil {
				addr = m
			} else {
				addr = "master_name " + s.masterName
			}
		}
		mu.Lock()
		findings = append(findings, AOFFinding{Master: addr, Problem: aofProblem,
			AppendOnly: a.appendonly, AppendFsync: a.appendfsync,
			RewriteMinSize: a.minSize, RewritePercentage: a.percentage, Recommendation: aofRecommendation})
		mu.Unlock()
		s.log.Warn(aofProblem, "master", addr, "appendonly", a.appendonly, "appendfsync", a.appendfsync,
			"auto_aof_rewrite_min_size", a.minSize, "auto_aof_rewrite_percentage", a.percentage,
			"recommendation", aofRecommendation)
		return nil
	})
}

// readAOFSettings reads the parameters with one CONFIG GET each, in one
// pipeline: CONFIG GET of several parameters at once needs Redis 7.
func readAOFSettings(ctx context.Context, c *redis.Client) (aofSettings, error) {
	names := []string{"appendonly", "appendfsync", "auto-aof-rewrite-min-size", "auto-aof-rewrite-percentage"}
	cmds := make([]*redis.MapStringStringCmd, len(names))
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			cmds[i] = p.ConfigGet(ctx, n)
		}
		return nil
	})
	if err != nil {
		return aofSettings{}, fmt.Errorf("store: config get: %w", err)
	}
	v := make(map[string]string, len(names))
	for i, n := range names {
		val, ok := cmds[i].Val()[n]
		if !ok {
			// A server that hides a parameter has its own persistence
			// story (managed Redis): nothing to advise.
			return aofSettings{}, fmt.Errorf("store: config get %s: not reported", n)
		}
		v[n] = val
	}
	a := aofSettings{appendonly: v["appendonly"], appendfsync: v["appendfsync"]}
	if a.minSize, err = strconv.ParseInt(v["auto-aof-rewrite-min-size"], 10, 64); err != nil {
		return aofSettings{}, fmt.Errorf("store: auto-aof-rewrite-min-size %q: %w", v["auto-aof-rewrite-min-size"], err)
	}
	if a.percentage, err = strconv.ParseInt(v["auto-aof-rewrite-percentage"], 10, 64); err != nil {
		return aofSettings{}, fmt.Errorf("store: auto-aof-rewrite-percentage %q: %w", v["auto-aof-rewrite-percentage"], err)
	}
	return a, nil
}
