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
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	"iwf/store"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "ctl" {
		os.Exit(ctlMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	configPath := flag.String("config", "configs/iwf.yaml", "configuration file")
	check := flag.String("check-config", "", "validate this configuration file and exit")
	showVersion := flag.Bool("version", false, "print the version and build information and exit")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile to this file when the daemon stops")
	flag.Parse()
	if *showVersion {
		info, _ := debug.ReadBuildInfo()
		fmt.Print(buildInfo(version, info))
		return
	}
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
	log := newLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	// go-redis logs failovers, pool and cluster trouble on its own,
	// through a process-wide logger (stderr by default): send those
	// lines to ours, in log_format, once, before any client exists.
	redis.SetLogger(store.NewRedisLogger(log))
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

// newLogger writes records at level and above to w, as slog's text
// (key=value) or JSON lines; Validate has checked both names.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// buildInfo is what -version prints: the version set at link time, then
// what the Go toolchain recorded in the binary (module version, Go
// version, and the VCS revision, time and dirty flag when it was built
// from a checkout with VCS stamping on). info may be nil (a binary built
// without module support).
func buildInfo(version string, info *debug.BuildInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "iwf %s\n", version)
	if info == nil {
		fmt.Fprintf(&b, "go %s\n", runtime.Version())
		return b.String()
	}
	fmt.Fprintf(&b, "module %s %s\n", info.Main.Path, cmp.Or(info.Main.Version, "(devel)"))
	fmt.Fprintf(&b, "go %s\n", info.GoVersion)
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs", "vcs.revision", "vcs.time", "vcs.modified", "GOOS", "GOARCH", "-race":
			fmt.Fprintf(&b, "%s %s\n", s.Key, s.Value)
		}
	}
	return b.String()
}
