// Command iwf is the SIP MESSAGE / SMS to MSRP interworking function.
//
// It reads one YAML file (configs/iwf.yaml is the demo), starts the store
// (Redis, or an embedded one), the SIP stack, the MSRP endpoint, the SMPP
// server and client binds, the interworking engine and the status
// endpoint (wire.go), and stops on SIGINT, or drains on SIGTERM. SIGHUP
// re-reads the file (reload.go). "iwf ctl" is the operator's client of
// the admin API (ctl.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "ctl" {
		os.Exit(ctlMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	configPath := flag.String("config", "configs/iwf.yaml", "configuration file")
	check := flag.String("check-config", "", "validate this configuration file and exit")
	flag.Parse()
	if *check != "" {
		if _, err := LoadConfig(*check); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("config ok:", *check)
		return
	}
	cfg, cfgVersion, err := loadConfigFile(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log := newLogger(cfg.LogLevel)
	// SIGINT stops at once; SIGTERM drains first (stop taking traffic,
	// let queued messages reach their sessions) within drain.grace.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	drain := make(chan struct{})
	go func() {
		select {
		case <-term:
			close(drain)
		case <-ctx.Done():
		}
	}()
	if err := run(ctx, cfg, log, runOptions{Drain: drain, Reload: reloadSignals(), Path: *configPath, Version: cfgVersion}); err != nil {
		log.Error("iwf stopped", "error", err)
		os.Exit(1)
	}
	log.Info("iwf stopped")
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
