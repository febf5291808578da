// Command iwf is the SIP MESSAGE / SMS to MSRP interworking function.
//
// This build starts the MSRP endpoint (session mode); the SMPP, SIP and
// interworking parts are wired by their own changes.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"iwf/session"
	"iwf/session/msrp"
)

func main() {
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
	cfg, err := LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log := newLogger(cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("iwf stopped", "err", err)
		os.Exit(1)
	}
	log.Info("iwf stopped")
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// run starts every part and blocks until ctx ends.
func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	m := cfg.MSRP
	ln, err := net.Listen("tcp", m.Listen)
	if err != nil {
		return fmt.Errorf("msrp listen %s: %w", m.Listen, err)
	}
	port := m.Port
	if port == 0 {
		port = ln.Addr().(*net.TCPAddr).Port
	}
	scfg := session.Config{
		Host: m.Host, Port: port,
		ChunkSize: m.ChunkSize, SoloChunkSize: m.SoloChunkSize, Window: m.Window,
		TransactionTimeout: m.TransactionTimeout, MaxMessageSize: m.MaxMessageSize,
		MaxIncomplete: m.MaxIncomplete, IncompleteTimeout: m.IncompleteTimeout,
		ConnectTimeout: m.ConnectTimeout, BindTimeout: m.BindTimeout,
		Limits: msrp.Limits{MaxHeaderBytes: m.MaxHeaderBytes, MaxHeaders: m.MaxHeaders, MaxChunk: m.MaxChunk},
		Logger: log,
	}
	if m.TLS != nil {
		cert, err := tls.LoadX509KeyPair(m.TLS.CertFile, m.TLS.KeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("msrp.tls: %w", err)
		}
		scfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		scfg.Secure = true
		ln = tls.NewListener(ln, scfg.TLS)
	}
	if r := m.Relay; r != nil {
		scfg.Relay = &session.RelayConfig{URI: r.URI, Username: r.Username, Password: r.Password, Expires: r.Expires}
	}
	ep, err := session.NewEndpoint(scfg)
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("msrp listening", "component", "msrp", "addr", ln.Addr().String(), "secure", scfg.Secure, "advertised", m.Host)
	err = ep.Serve(ctx, ln)
	return errors.Join(err, ep.Close())
}
