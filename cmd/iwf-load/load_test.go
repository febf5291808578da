package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"iwf/internal/testutil"
)

func TestRunThroughBridge(t *testing.T) {
	seqOf := func(text string) int {
		p, err := parseText(text)
		if err != nil {
			return -1
		}
		return p.Seq
	}
	tests := []struct {
		name     string
		n, convs int
		rate     float64
		baseline bool
		timeout  time.Duration
		// expireAfter, when set, ends the run's timeout once the bridge
		// has passed on (or dropped) that many submits, instead of the
		// clock: a busy machine takes as long as it needs.
		expireAfter int
		// forwardFirst has the bridge acknowledge a submit only once it
		// passed it on.
		forwardFirst bool
		fault        func(text string) int
		// want
		lost, dups int
		timedOut   bool
		// cut: the timeout ends the submits early
		cut bool
	}{
		{name: "clean", n: 2000, convs: 10, timeout: time.Minute},
		{name: "paced with baseline", n: 400, convs: 4, rate: 2000, baseline: true, timeout: time.Minute},
		{
			name: "every 100th dropped after its ack", n: 500, convs: 5, expireAfter: 500,
			fault: func(text string) int {
				if seqOf(text)%100 == 7 {
					return 0
				}
				return 1
			},
			lost: 5, timedOut: true,
		},
		{
			// The timeout passes after 50 of 5000 submits (25 s of
			// pacing); the bridge answers a submit once the RCS side has
			// it, so that what the cut-off leaves acknowledged has
			// arrived.
			name: "timeout during paced submits", n: 5000, convs: 5, rate: 200, expireAfter: 50, forwardFirst: true,
			timedOut: true, cut: true,
		},
		{
			name: "every 50th sent twice", n: 500, convs: 5, timeout: time.Minute,
			fault: func(text string) int {
				if seqOf(text)%50 == 3 {
					return 2
				}
				return 1
			},
			dups: 10,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			testutil.CheckLeaks(t)
			b := startBridge(t, tc.fault)
			b.forwardFirst.Store(tc.forwardFirst)
			cfg := Config{
				SMPP: b.addr(), RCS: "127.0.0.1:0",
				N: tc.n, Conversations: tc.convs, Binds: 2, Window: 50, Rate: tc.rate,
				Timeout: tc.timeout, ReceiptWait: time.Minute, Baseline: tc.baseline,
				Logger: testutil.Logger(t), rcsReady: b.rcsReady,
			}
			if tc.expireAfter > 0 {
				cfg.expire = b.passedOn(tc.expireAfter)
			}
			start := time.Now()
			rep, err := run(testutil.Context(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d messages in %v: %.0f/s end to end, p50 %v p99 %v", rep.Received, time.Since(start), rep.ReceiveRate, rep.Latency.P50, rep.Latency.P99)
			wantRecv := tc.n - tc.lost
			if tc.cut {
				// About rate*timeout submitted; whatever was acknowledged
				// arrived.
				if rep.Submitted == 0 || rep.Submitted >= tc.n || rep.Acknowledged+rep.Unconfirmed != rep.Submitted {
					t.Fatalf("submitted %d acknowledged %d unconfirmed %d of %d", rep.Submitted, rep.Acknowledged, rep.Unconfirmed, tc.n)
				}
				tc.n, wantRecv = rep.Acknowledged, rep.Acknowledged
				// A submit whose response the cut-off left unread may have
				// been delivered all the same.
				if rep.Received > wantRecv && rep.Received <= rep.Submitted {
					wantRecv = rep.Received
				}
			}
			if !tc.cut && (rep.Submitted != tc.n || rep.Unconfirmed != 0) || rep.Acknowledged != tc.n || rep.Refused != 0 {
				t.Errorf("submitted %d acknowledged %d refused %d unconfirmed %d, want %d acknowledged",
					rep.Submitted, rep.Acknowledged, rep.Refused, rep.Unconfirmed, tc.n)
			}
			if rep.Received != wantRecv || rep.Lost != tc.lost || rep.Duplicates != tc.dups || rep.TimedOut != tc.timedOut {
				t.Errorf("received %d lost %d duplicates %d timed out %v, want %d %d %d %v",
					rep.Received, rep.Lost, rep.Duplicates, rep.TimedOut, wantRecv, tc.lost, tc.dups, tc.timedOut)
			}
			if rep.OutOfOrder != 0 || rep.Misrouted != 0 || rep.Foreign != 0 {
				t.Errorf("out of order %d misrouted %d foreign %d, want none", rep.OutOfOrder, rep.Misrouted, rep.Foreign)
			}
			if rep.Sessions != tc.convs && !tc.cut {
				t.Errorf("%d sessions, want one per conversation (%d)", rep.Sessions, tc.convs)
			}
			if rep.Latency.Samples != wantRecv || rep.Latency.P50 <= 0 || rep.Latency.P50 > rep.Latency.P99 || rep.Latency.P99 > rep.Latency.Max {
				t.Errorf("latency %+v over %d messages", rep.Latency, wantRecv)
			}
			if !tc.timedOut && !tc.cut && (rep.Receipts < wantRecv || rep.ReceiptsMatched < wantRecv || rep.ReceiptStates["DELIVRD"] < wantRecv) {
				t.Errorf("receipts %d matched %d states %v, want %d delivered", rep.Receipts, rep.ReceiptsMatched, rep.ReceiptStates, wantRecv)
			}
			if rep.ReceiveRate <= 0 || rep.AckRate <= 0 || rep.Elapsed <= 0 {
				t.Errorf("rates %v / %v over %v", rep.AckRate, rep.ReceiveRate, rep.Elapsed)
			}
			if tc.baseline && (rep.Baseline == nil || rep.Baseline.Acknowledged != tc.n || rep.Baseline.Ratio <= 0) {
				t.Errorf("baseline %+v", rep.Baseline)
			}
			if tc.rate > 0 && !tc.cut {
				// Paced: the last submit is due at (n-1)/rate (a millisecond of
				// slack for the start of the timing).
				if min := time.Duration(float64(tc.n-1) / tc.rate * float64(time.Second)); time.Duration(rep.SubmitElapsed) < min-time.Millisecond {
					t.Errorf("submits took %v, pacing at %g/s needs %v", time.Duration(rep.SubmitElapsed), tc.rate, min)
				}
			}
			if got := rep.Failed(); got != (tc.lost > 0 || tc.dups > 0) {
				t.Errorf("Failed() = %v", got)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(b *bridge) Config
		want error
	}{
		{
			name: "wrong password",
			cfg: func(b *bridge) Config {
				return Config{SMPP: b.addr(), Password: "wrong", BindTimeout: 300 * time.Millisecond}
			},
			want: errNotBound,
		},
		{
			name: "invalid config",
			cfg:  func(*bridge) Config { return Config{Window: -1} },
			want: &flagError{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			testutil.CheckLeaks(t)
			b := startBridge(t, nil)
			cfg := tc.cfg(b)
			cfg.RCS, cfg.Logger, cfg.rcsReady = "127.0.0.1:0", testutil.Logger(t), b.rcsReady
			_, err := run(testutil.Context(t), cfg)
			var fe *flagError
			switch {
			case err == nil:
				t.Fatal("no error")
			case errors.As(tc.want, &fe):
				if !errors.As(err, &fe) {
					t.Errorf("error %v, want a flag error", err)
				}
			case !errors.Is(err, tc.want):
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestRunInterrupted(t *testing.T) {
	testutil.CheckLeaks(t)
	ctx, cancel := context.WithCancel(testutil.Context(t))
	const n = 10
	var forwarded atomic.Int32
	// The bridge acknowledges and drops everything; once it has taken the
	// last submit, the run is stopped as Ctrl-C would.
	b := startBridge(t, func(string) int {
		if forwarded.Add(1) == n {
			cancel()
		}
		return 0
	})
	cfg := Config{SMPP: b.addr(), RCS: "127.0.0.1:0", N: n, Conversations: 1, Logger: testutil.Logger(t), rcsReady: b.rcsReady}
	rep, err := run(ctx, cfg)
	if !errors.Is(err, errInterrupted) {
		t.Fatalf("error %v, want errInterrupted", err)
	}
	if rep.Submitted != n || rep.Received != 0 || rep.RunID == "" {
		t.Errorf("partial report %+v, want %d submitted and none received", rep, n)
	}
}

func TestCLIThroughBridge(t *testing.T) {
	tests := []struct {
		name  string
		json  bool
		fault func(string) int
		// lossy runs end when the bridge has passed every message on
		// (Config.expire), others when all arrived.
		lossy  bool
		status int
		check  func(t *testing.T, stdout string)
	}{
		{
			name: "json report, exit 0", json: true, status: 0,
			check: func(t *testing.T, stdout string) {
				var r Report
				if err := json.Unmarshal([]byte(stdout), &r); err != nil {
					t.Fatalf("%v in %q", err, stdout)
				}
				if r.Received != 100 || r.Lost != 0 || r.Sessions != 4 || r.Latency.Samples != 100 {
					t.Errorf("report %+v", r)
				}
			},
		},
		{
			name: "a loss fails the run with exit 1", status: 1, lossy: true,
			fault: func(text string) int {
				if p, _ := parseText(text); p.Seq == 42 {
					return 0
				}
				return 1
			},
			check: func(t *testing.T, stdout string) {
				for _, want := range []string{"lost           1\n", "FAIL", "(timed out)"} {
					if !strings.Contains(stdout, want) {
						t.Errorf("report does not say %q:\n%s", want, stdout)
					}
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			testutil.CheckLeaks(t)
			b := startBridge(t, tc.fault)
			// The RCS side on port 0 tells the bridge where it is; the
			// timeout only bounds a run that hangs, unless lossy.
			args := []string{"-smpp", b.addr(), "-rcs", "127.0.0.1:0",
				"-n", "100", "-conversations", "4", "-timeout", "60s", "-receipt-wait", "0"}
			if tc.json {
				args = append(args, "-json")
			}
			tune := func(c *Config) {
				c.rcsReady = b.rcsReady
				if tc.lossy {
					c.expire = b.passedOn(100)
				}
			}
			var stdout, stderr bytes.Buffer
			if got := cliWith(args, &stdout, &stderr, tune); got != tc.status {
				t.Errorf("exit %d, want %d; stderr %s", got, tc.status, stderr.String())
			}
			tc.check(t, stdout.String())
		})
	}
}
