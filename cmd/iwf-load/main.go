// Command iwf-load is the end-to-end load tool of the IWF: it plays the
// SMS side (an ESME submitting over SMPP) and the RCS side (a SIP UAS
// accepting the MSRP sessions the IWF opens) on loopback, drives messages
// through the daemon between them and reports messages per second,
// end-to-end latency percentiles and losses.
//
// Exit status: 0 when every acknowledged message arrived once and to its
// party, 1 when one was lost, duplicated or misrouted or the run failed,
// 2 for bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/emiago/sipgo/sip"
)

func main() {
	// sipgo logs some transport events through its package logger
	// (connection reference counts going negative at close): errors only.
	// It is process state, so it is set here and not in cli.
	sip.SetDefaultLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

// cli runs the command with args and returns its exit status.
func cli(args []string, stdout, stderr io.Writer) int {
	return cliWith(args, stdout, stderr, nil)
}

// cliWith is cli with tune, when set, adjusting the configuration the
// flags made: tests hook the run to their stand-in daemon.
func cliWith(args []string, stdout, stderr io.Writer, tune func(*Config)) int {
	cfg, opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	level := slog.LevelWarn
	if opts.Verbose {
		level = slog.LevelInfo
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if tune != nil {
		tune(&cfg)
	}
	// SIGINT and SIGTERM stop the run; the partial report is printed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg)
	if err != nil && rep.Submitted == 0 {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if opts.JSON {
		err = errors.Join(err, rep.writeJSON(stdout))
	} else {
		err = errors.Join(err, rep.writeText(stdout))
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if rep.Failed() {
		return 1
	}
	return 0
}
