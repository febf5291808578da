package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"iwf/internal/sipstack"
	"iwf/session"
	"iwf/session/sipsession"
)

// The RCS side: a SIP UAS on UDP and TCP that answers every INVITE with
// an MSRP answer (sipsession, RFC 4975 section 8 offer/answer) and counts
// what arrives on the sessions. Built from the IWF's own packages: the
// stack, the MSRP endpoint and the session manager the daemon uses too.

const (
	userAgent = "iwf-load"
	// closeTimeout bounds the BYEs of the sessions still open at the end.
	closeTimeout = 5 * time.Second
)

// responder is the RCS side.
type responder struct {
	tr    *tracker
	log   *slog.Logger
	st    *sipstack.Stack
	ln    net.Listener // MSRP
	ep    *session.Endpoint
	m     *sipsession.Manager
	calls sync.WaitGroup // one reader per call's events
}

// newResponder opens the SIP and MSRP listeners, so that a busy port
// shows before the run starts, and serves nothing until Run.
func newResponder(cfg Config, tr *tracker) (*responder, error) {
	r := &responder{tr: tr, log: cfg.Logger.With("component", "rcs")}
	st, err := sipstack.New(sipstack.Config{
		Listen: []sipstack.Listener{
			{Transport: sipstack.UDP, Address: cfg.RCS},
			{Transport: sipstack.TCP, Address: cfg.RCS},
		},
		UserAgent: userAgent,
	}, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("iwf-load: rcs sip: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.MSRP)
	if err != nil {
		return nil, fmt.Errorf("iwf-load: rcs msrp listen %s: %w", cfg.MSRP, err)
	}
	fail := func(err error) (*responder, error) {
		return nil, errors.Join(err, ln.Close(), st.Close())
	}
	addr := ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		// The a=path must name an address the daemon can reach.
		host = "127.0.0.1"
	}
	ep, err := session.NewEndpoint(session.Config{Host: host, Port: addr.Port, Logger: cfg.Logger})
	if err != nil {
		return fail(fmt.Errorf("iwf-load: rcs msrp: %w", err))
	}
	m, err := sipsession.New(sipsession.Config{
		Stack:      st,
		Endpoint:   ep,
		UserAgent:  userAgent,
		OnIncoming: r.accept,
		Logger:     cfg.Logger,
	})
	if err != nil {
		return fail(errors.Join(fmt.Errorf("iwf-load: rcs sessions: %w", err), ep.Close()))
	}
	// Handlers before serving: sipgo reads its table without a lock.
	m.Register(st.Server())
	if err := st.Listen(); err != nil {
		return fail(errors.Join(fmt.Errorf("iwf-load: rcs sip listen %s: %w", cfg.RCS, err), ep.Close()))
	}
	r.st, r.ln, r.ep, r.m = st, ln, ep, m
	return r, nil
}

// sipAddrs are the bound SIP addresses (port 0 resolved).
func (r *responder) sipAddrs() (udp, tcp net.Addr) {
	return r.st.Addr(sipstack.UDP), r.st.Addr(sipstack.TCP)
}

// ready is closed once SIP is served (or Run ended).
func (r *responder) ready() <-chan struct{} { return r.st.Ready() }

// Run serves SIP and MSRP until ctx ends, then ends the sessions still
// open with BYE while the stack still runs, and stops everything.
func (r *responder) Run(ctx context.Context) error {
	inner, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	errc := make(chan error, 2)
	go func() { errc <- r.st.Run(inner) }()
	go func() { errc <- r.ep.Serve(inner, r.ln) }()
	left := 2
	var early error
	select {
	case <-ctx.Done():
	case early = <-errc:
		left--
		if early == nil {
			early = errors.New("iwf-load: rcs side stopped")
		}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	closeErr := r.m.Close(cctx)
	cancel()
	stop()
	errs := []error{early, closeErr}
	for range left {
		errs = append(errs, <-errc)
	}
	errs = append(errs, r.ep.Close())
	// Close ended every call, so every reader sees its Events closed.
	r.calls.Wait()
	return errors.Join(errs...)
}

// accept takes every incoming call (RFC 3261 200 with our MSRP answer)
// and reads its events until it ends.
func (r *responder) accept(c *sipsession.Call) error {
	r.tr.session()
	toURI := c.To()
	to := toURI.String()
	r.log.Debug("session accepted", "call_id", c.CallID(), "to", to)
	r.calls.Go(func() {
		// Read steadily: a full Events channel holds back the MSRP 200.
		for ev := range c.Events() {
			if ev.Kind != sipsession.EventMessage {
				continue
			}
			at := time.Now()
			text, err := unwrap(ev.Message.ContentType, ev.Message.Body)
			r.tr.receive(text, err, to, at)
		}
		switch c.Reason() {
		case sipsession.ReasonLocal, sipsession.ReasonShutdown:
		default:
			r.tr.sessionEnded()
		}
	})
	return nil
}
