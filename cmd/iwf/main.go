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
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "ctl" {
		os.Exit(ctlMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	configPath := flag.String("config", "configs/iwf.yaml", "configuration file")
	check := flag.String("check-config", "", "validate this configuration file and exit")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile to this file when the daemon stops")
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
	stopProfiles, err := startProfiles(*cpuProfile, *memProfile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	err = run(ctx, cfg, log, runOptions{Drain: drain, Reload: reloadSignals(), Path: *configPath, Version: cfgVersion})
	if perr := stopProfiles(); perr != nil {
		log.Error("profiles", "error", perr)
	}
	if err != nil {
		log.Error("iwf stopped", "error", err)
		os.Exit(1)
	}
	log.Info("iwf stopped")
}

// startProfiles starts the CPU profile into cpuPath (when set) and
// returns what stops it and writes the allocation profile into memPath
// (when set): the profiles cover the daemon's whole run, so that a load
// test's costs can be read afterwards with go tool pprof without
// exposing an endpoint.
func startProfiles(cpuPath, memPath string) (stop func() error, err error) {
	var cpu *os.File
	if cpuPath != "" {
		if cpu, err = os.Create(cpuPath); err != nil {
			return nil, fmt.Errorf("iwf: cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			return nil, errors.Join(fmt.Errorf("iwf: cpu profile: %w", err), cpu.Close())
		}
	}
	return func() error {
		var errs []error
		if cpu != nil {
			pprof.StopCPUProfile()
			errs = append(errs, cpu.Close())
		}
		if memPath != "" {
			errs = append(errs, writeAllocs(memPath))
		}
		return errors.Join(errs...)
	}, nil
}

// writeAllocs writes the heap profile, whose alloc_space and
// alloc_objects samples count every allocation since the start.
func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("iwf: allocation profile: %w", err)
	}
	runtime.GC() // the profile is as of the last collection
	err = pprof.Lookup("allocs").WriteTo(f, 0)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("iwf: allocation profile: %w", err)
	}
	return nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
