package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// Defaults, in one place; the flags show them.
const (
	defaultSMPP          = "127.0.0.1:2775"
	defaultRCS           = "127.0.0.1:5070"
	defaultMSRP          = "127.0.0.1:0"
	defaultSystemID      = "demo"
	defaultPassword      = "demo"
	defaultBinds         = 2
	defaultWindow        = 100
	defaultN             = 20000
	defaultConversations = 50
	defaultTimeout       = 60 * time.Second
	defaultBindTimeout   = 10 * time.Second
	defaultReceiptWait   = 5 * time.Second
	defaultSource        = "+46700000000"
	// destPrefix and destDigits make the destination of conversation i:
	// "+4671" and i in six digits.
	destPrefix = "+4671"
	destDigits = 6
	// maxWindow is SMPP 3.4's practical cap as package smpp enforces it.
	maxWindow = 1000
	// maxBinds keeps a typo from opening thousands of connections.
	maxBinds = 64
	// maxMessages bounds -n: a run keeps about 100 bytes a message in
	// memory.
	maxMessages = 1_000_000
)

// Config is one load run. The zero value of a field takes its default
// (withDefaults); validate says what cannot be used.
type Config struct {
	// SMPP is the daemon's SMPP server, SystemID and Password the ESME
	// credentials (SMPP 3.4 5.2.1, 5.2.2: at most 15 and 8 octets).
	SMPP     string
	SystemID string
	Password string
	// Binds transceivers with Window outstanding submit_sm each.
	Binds  int
	Window int
	// N messages over Conversations (source, destination) pairs.
	N             int
	Conversations int
	// Rate is submits per second over all binds; 0 sends as fast as the
	// windows allow.
	Rate float64
	// Source is the fixed originator of every message.
	Source string
	// RCS is where the RCS side listens for SIP (UDP and TCP), MSRP its
	// MSRP listener (port 0 picks one; the SDP answer names it).
	RCS  string
	MSRP string
	// Timeout bounds the run from the first submit to the last message
	// received; BindTimeout the wait for every bind to come up;
	// ReceiptWait the wait for delivery receipts once every message was
	// received (0: do not wait).
	Timeout     time.Duration
	BindTimeout time.Duration
	ReceiptWait time.Duration
	// Baseline first submits N messages to an in-process test SMSC with
	// the same client, for a same-run reference rate.
	Baseline bool
	// RunID tags this run's texts; empty draws a random one.
	RunID string
	// Logger receives the logs of the parts (default: discarded).
	Logger *slog.Logger

	// rcsReady, when set, is told the RCS side's SIP addresses once it
	// listens (tests run it on port 0).
	rcsReady func(udp, tcp net.Addr)
	// expire, when set, ends the Timeout when it closes instead of the
	// clock: a test's stand-in daemon closes it once it has passed on
	// all it ever will, so that a run that cannot complete (a loss)
	// times out on that event, however slow a busy machine is.
	expire <-chan struct{}
}

// timeoutContext is ctx bounded by Timeout, or by expire when that is
// set. Either way its cause is context.DeadlineExceeded once the
// timeout passed.
func (c Config) timeoutContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.expire == nil {
		return context.WithTimeout(ctx, c.Timeout)
	}
	tctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-c.expire:
			cancel(context.DeadlineExceeded)
		case <-tctx.Done():
		}
	}()
	return tctx, func() { cancel(context.Canceled) }
}

func (c Config) withDefaults() Config {
	setDefault(&c.SMPP, defaultSMPP)
	setDefault(&c.SystemID, defaultSystemID)
	setDefault(&c.Password, defaultPassword)
	setDefault(&c.Source, defaultSource)
	setDefault(&c.RCS, defaultRCS)
	setDefault(&c.MSRP, defaultMSRP)
	setDefault(&c.Binds, defaultBinds)
	setDefault(&c.Window, defaultWindow)
	setDefault(&c.N, defaultN)
	setDefault(&c.Conversations, defaultConversations)
	setDefault(&c.Timeout, defaultTimeout)
	setDefault(&c.BindTimeout, defaultBindTimeout)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// setDefault gives *v the value d when it is zero.
func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// validate checks a config with its defaults applied and joins one
// *flagError per unusable value; nothing is clamped silently.
func (c Config) validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, &flagError{Flag: name, Reason: fmt.Sprintf(format, args...)})
	}
	for _, a := range []struct{ name, v string }{{"smpp", c.SMPP}, {"rcs", c.RCS}, {"msrp", c.MSRP}} {
		if err := checkHostPort(a.v); err != nil {
			bad(a.name, "%v", err)
		}
	}
	// SMPP 3.4 5.2.1 and 5.2.2: C-Octet Strings of at most 16 and 9
	// octets, the NUL included.
	if n := len(c.SystemID); n > 15 {
		bad("system-id", "%d octets, SMPP 3.4 allows at most 15", n)
	}
	if n := len(c.Password); n > 8 {
		bad("password", "%d octets, SMPP 3.4 allows at most 8", n)
	}
	if c.Binds < 1 || c.Binds > maxBinds {
		bad("binds", "want 1 to %d, got %d", maxBinds, c.Binds)
	}
	if c.Window < 1 || c.Window > maxWindow {
		bad("window", "want 1 to %d, got %d", maxWindow, c.Window)
	}
	if c.N < 1 || c.N > maxMessages {
		bad("n", "want 1 to %d, got %d", maxMessages, c.N)
	}
	maxConv := 1
	for range destDigits {
		maxConv *= 10
	}
	switch {
	case c.Conversations < 1 || c.Conversations > maxConv:
		bad("conversations", "want 1 to %d, got %d", maxConv, c.Conversations)
	case c.N >= 1 && c.Conversations > c.N:
		bad("conversations", "%d conversations for %d messages would leave some empty", c.Conversations, c.N)
	}
	if c.Rate < 0 || c.Rate != c.Rate {
		bad("rate", "want 0 (unlimited) or a positive number, got %v", c.Rate)
	}
	// SMPP 3.4 5.2.8: source_addr is at most 20 octets.
	if !isNumber(c.Source) || len(c.Source) > 20 {
		bad("source", "want a number such as +46700000000 (at most 20 characters), got %q", c.Source)
	}
	if c.Timeout <= 0 {
		bad("timeout", "want a positive duration, got %v", c.Timeout)
	}
	if c.BindTimeout <= 0 {
		bad("bind-timeout", "want a positive duration, got %v", c.BindTimeout)
	}
	if c.ReceiptWait < 0 {
		bad("receipt-wait", "want zero or a positive duration, got %v", c.ReceiptWait)
	}
	if c.RunID != "" && !isRunID(c.RunID) {
		bad("run-id", "want 1 to %d letters and digits, got %q", maxRunID, c.RunID)
	}
	return errors.Join(errs...)
}

// checkHostPort accepts host:port with a numeric port, 0 included.
func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("want host:port, got %q", s)
	}
	if host == "" {
		return fmt.Errorf("want a host in %q", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("want a port 0 to 65535 in %q", s)
	}
	return nil
}

// isNumber: an optional "+" and 1 to 19 digits.
func isNumber(s string) bool {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// options are what the command line holds beyond Config.
type options struct {
	JSON    bool
	Verbose bool
}

// parseFlags reads the command line into a Config with its defaults and
// checks it. Usage and errors go to out.
func parseFlags(args []string, out io.Writer) (Config, options, error) {
	var c Config
	var o options
	fs := flag.NewFlagSet("iwf-load", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(out, "usage: iwf-load [flags]\n\nDrives SMPP submits through the IWF into MSRP sessions on loopback and reports\nmessages/s, latency percentiles and losses. Exit status 1 when a message was\nlost, duplicated or misrouted, 2 for bad flags.\n\nflags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.SMPP, "smpp", defaultSMPP, "the IWF's SMPP server (host:port)")
	fs.StringVar(&c.SystemID, "system-id", defaultSystemID, "ESME system_id")
	fs.StringVar(&c.Password, "password", defaultPassword, "ESME password")
	fs.IntVar(&c.Binds, "binds", defaultBinds, "transceiver binds")
	fs.IntVar(&c.Window, "window", defaultWindow, "outstanding submit_sm per bind")
	fs.IntVar(&c.N, "n", defaultN, "messages to submit")
	fs.IntVar(&c.Conversations, "conversations", defaultConversations, "conversations (destinations +4671000000...) the messages are spread over")
	fs.Float64Var(&c.Rate, "rate", 0, "submits per second over all binds; 0 = as fast as the windows allow")
	fs.StringVar(&c.Source, "source", defaultSource, "originator of every message")
	fs.StringVar(&c.RCS, "rcs", defaultRCS, "where the RCS side listens for SIP, UDP and TCP (host:port)")
	fs.StringVar(&c.MSRP, "msrp", defaultMSRP, "the RCS side's MSRP listener (host:port, port 0 picks one)")
	fs.DurationVar(&c.Timeout, "timeout", defaultTimeout, "bound from the first submit to the last message received")
	fs.DurationVar(&c.BindTimeout, "bind-timeout", defaultBindTimeout, "wait for every SMPP bind to come up")
	fs.DurationVar(&c.ReceiptWait, "receipt-wait", defaultReceiptWait, "wait for delivery receipts after the last message (0: none)")
	fs.BoolVar(&c.Baseline, "baseline", false, "first submit -n messages to an in-process test SMSC and report end-to-end/baseline")
	fs.StringVar(&c.RunID, "run-id", "", "tag of this run's texts (default random)")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON")
	fs.BoolVar(&o.Verbose, "v", false, "log the parts' info messages to stderr")
	if err := fs.Parse(args); err != nil {
		return c, o, err
	}
	if fs.NArg() > 0 {
		return c, o, fmt.Errorf("iwf-load: unexpected argument %q: every setting is a flag", fs.Arg(0))
	}
	// Checked as typed: a flag set to 0 is an error, not the default.
	if err := c.validate(); err != nil {
		return c, o, err
	}
	return c.withDefaults(), o, nil
}
