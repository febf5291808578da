package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"iwf/internal/listener"
	"iwf/internal/sipstack"
	"iwf/internal/status"
	"iwf/interwork"
	"iwf/pager"
	"iwf/session"
	"iwf/session/sipsession"
	"iwf/smpp"
	"iwf/smpp/concat"
	"iwf/store"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// daemon is every part of the running IWF.
type daemon struct {
	cfg     Config
	log     *slog.Logger
	started time.Time

	store    *store.Store
	ep       *session.Endpoint
	msrpLn   net.Listener
	stack    *sipstack.Stack
	trunks   *pager.Trunks
	sender   *pager.Sender
	sessions *sipsession.Manager
	inbound  *pager.Inbound
	smppSrv  *smpp.Server
	clients  map[string]*smpp.Client
	eng      *interwork.Engine
	errs     *status.Errors
	rates    *status.Rates
	statusLn net.Listener
	reg      *prometheus.Registry
	gw       *smpp.Gateway

	// reloadState is what SIGHUP replaces (reload.go); clients is under
	// its clientsMu once running.
	reloadState
}

// runOptions are what main hands run besides the configuration.
type runOptions struct {
	// Drain, when it fires first, stops taking traffic and lets queued
	// messages flow for drain.grace before the parts are stopped.
	Drain <-chan struct{}
	// Reload re-reads Path (SIGHUP).
	Reload <-chan struct{}
	// Path and Version are the configuration file and its content's
	// name (loadConfigFile).
	Path, Version string
}

// run starts every part, serves until ctx ends, and stops; o says when
// to drain and to reload.
func run(ctx context.Context, cfg Config, log *slog.Logger, o runOptions) error {
	d := &daemon{cfg: cfg, log: log, started: time.Now(), clients: map[string]*smpp.Client{}, errs: status.NewErrors(10), rates: status.NewRates(nil)}
	if err := d.build(ctx); err != nil {
		d.closeBuilt()
		return err
	}
	d.initReload(o.Path, o.Version)
	// The parts outlive ctx while draining: they stop when stop is called.
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	g, gctx := errgroup.WithContext(runCtx)
	start := func(name string, f func(context.Context) error) {
		g.Go(func() error {
			if err := f(gctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		})
	}
	d.spawn = start
	start("msrp", func(ctx context.Context) error { return d.ep.Serve(ctx, d.msrpLn) })
	start("sip", d.stack.Run)
	start("interwork", d.eng.Run)
	if d.smppSrv != nil {
		start("smpp server", d.smppSrv.Run)
	}
	for name, c := range d.clients {
		start("smpp client "+name, c.Run)
	}
	start("rates", d.sampleRates)
	if d.statusLn != nil {
		h := status.Handler(status.Options{Snapshot: d.snapshot, Sessions: d.sessionsPage, Ready: d.ready, Gatherer: d.reg, Token: cfg.Status.Token, Logger: log,
			Admin: admin{d}, AdminToken: cfg.Status.AdminToken, PprofToken: cfg.Status.PprofToken})
		start("status", func(ctx context.Context) error { return status.Serve(ctx, d.statusLn, h) })
	}
	log.Info("iwf running", "node", cfg.NodeID(), "store", d.store.Addr(), "embedded_store", d.store.Embedded(), d.listenAddrs())

wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-o.Drain:
			d.drain(ctx)
			break wait
		case <-gctx.Done():
			// A part failed; g.Wait returns its error.
			break wait
		case <-o.Reload:
			// Here, in run's goroutine: a reload starts parts on g,
			// which must not happen once g.Wait runs.
			d.reload()
		}
	}
	stop()
	failed := g.Wait()
	if failed != nil {
		log.Error("part failed, stopping", "error", failed)
	}
	closeCtx, closeCancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer closeCancel()
	return errors.Join(failed, d.sessions.Close(closeCtx), d.ep.Close(), d.stack.Close(), d.store.Close())
}

// listenAddrs is the "listen" group of the "iwf running" record: the
// address each listener bound, so that a port 0 in the configuration
// (tests start daemons so, never racing another process for a port)
// shows which one the kernel picked.
func (d *daemon) listenAddrs() slog.Attr {
	attrs := []any{"msrp", d.msrpLn.Addr().String()}
	for _, tp := range []string{"udp", "tcp", "tls"} {
		if a := d.stack.Addr(tp); a != nil {
			attrs = append(attrs, "sip_"+tp, a.String())
		}
	}
	if d.smppSrv != nil {
		attrs = append(attrs, "smpp", d.smppSrv.Addr().String())
	}
	if d.statusLn != nil {
		attrs = append(attrs, "status", d.statusLn.Addr().String())
	}
	return slog.Group("listen", attrs...)
}

// drain refuses new traffic and waits, up to the grace period, for the
// local queues to empty into their sessions.
func (d *daemon) drain(ctx context.Context) {
	d.log.Info("draining", "grace", d.cfg.Drain.Grace)
	d.eng.Drain()
	deadline := time.NewTimer(d.cfg.Drain.Grace)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if d.eng.Idle(ctx) {
			d.log.Info("drained")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			d.log.Warn("drain grace over; unsent messages stay queued for the next start")
			return
		case <-tick.C:
		}
	}
}

// build makes every part, in the order their dependencies need: the
// sides first, then the engine, which then becomes their handler. Nothing
// serves yet.
func (d *daemon) build(ctx context.Context) error {
	for _, part := range []func(context.Context) error{
		d.buildStore, d.buildMSRP, d.buildSIP, d.buildSMPP, d.buildEngine, d.buildStatus,
	} {
		if err := part(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (d *daemon) buildStore(ctx context.Context) error {
	st, err := store.Open(ctx, d.cfg.Store, d.log)
	if err != nil {
		return err
	}
	d.store = st
	return nil
}

// buildSIP makes the process's SIP stack, the pager trunks and sender,
// and the session manager; their handlers come with the engine.
func (d *daemon) buildSIP(context.Context) error {
	cfg := d.cfg
	sipCfg := cfg.SIP.Stack
	var err error
	if t := cfg.SIP.TLS; t != nil {
		if sipCfg.TLS, err = loadTLS("sip.tls", t); err != nil {
			return err
		}
	}
	if d.stack, err = sipstack.New(sipCfg, d.log); err != nil {
		return err
	}
	if err := d.stack.Listen(); err != nil {
		return err
	}
	if d.trunks, err = pager.NewTrunks(append(cfg.PagerTrunks(), cfg.RCSPagerTrunk())); err != nil {
		return err
	}
	if d.sender, err = pager.NewSender(pager.SenderConfig{Trunks: d.trunks, Clients: d.stack, Domain: d.stack.Domain(), Logger: d.log}); err != nil {
		return err
	}
	d.sessions, err = sipsession.New(sipsession.Config{
		Stack: d.stack, Endpoint: d.ep, Logger: d.log,
		AcceptTypes: cfg.RCS.AcceptTypes, MaxSize: cfg.RCSMaxSize(), ManualReports: true,
		Partner: func(req *sip.Request) string { return sourcePartner(d.trunks, req) },
		// INVITEs come only from the RCS network
		// (rcs.pager.allowed_sources); a partner's SIP trunk opens no
		// sessions.
		Allow: func(req *sip.Request) bool { return sourcePartner(d.trunks, req) == RCSName },
		// The same sources are the RCS core, our trust domain: their
		// P-Asserted-Identity names the caller (RFC 3325).
		Trusted:      func(req *sip.Request) bool { return sourcePartner(d.trunks, req) == RCSName },
		Limits:       cfg.RCS.Limits,
		SessionTimer: cfg.RCS.SessionTimer,
	})
	return err
}

// buildSMPP makes the server partner ESMEs bind to and our clients to
// partners' SMSCs; their handler comes with the engine.
func (d *daemon) buildSMPP(context.Context) error {
	cfg := d.cfg
	if sa := cfg.SMPP.Server.Listen; sa != "" {
		ln, err := net.Listen("tcp", sa)
		if err != nil {
			return fmt.Errorf("smpp.server.listen %s: %w", sa, err)
		}
		if t := cfg.SMPP.Server.TLS; t != nil {
			tc, err := loadTLS("smpp.server.tls", t)
			if err != nil {
				ln.Close()
				return err
			}
			ln = tls.NewListener(ln, tc)
		}
		if d.smppSrv, err = smpp.NewServer(ln, cfg.SMPPServerConfig(), nil, d.log); err != nil {
			ln.Close()
			return err
		}
	}
	for _, cc := range cfg.SMPPClients() {
		c, err := smpp.NewClient(cc, nil, d.log)
		if err != nil {
			return err
		}
		d.clients[cc.Partner] = c
	}
	return nil
}

// buildEngine makes the interworking core over the sides and hands it to
// them as their handler.
func (d *daemon) buildEngine(ctx context.Context) error {
	cfg := d.cfg
	d.reg = prometheus.NewRegistry()
	d.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := status.NewMetrics(d.reg)
	metrics.CountRates(d.rates)
	d.reg.MustRegister(status.NewCollector(d.snapshot))
	d.gw = &smpp.Gateway{Server: d.smppSrv, Clients: d.clients}
	var partners []interwork.Partner
	for _, p := range cfg.Partners {
		partners = append(partners, interworkPartner(p))
		metrics.InitPartner(p.Name)
	}
	eng, err := interwork.New(interwork.Config{
		Node: cfg.NodeID(), Queue: d.store, Leases: d.store, Records: d.store, Cluster: d.store,
		Parts: concat.NewSharedStore(d.store, d.log), Refs: concat.NewSharedRefs(d.store),
		Partners: partners,
		RCS: interwork.RCS{
			Sessions: interwork.ManagerSessions{Manager: d.sessions}, Trunk: cfg.RCS.Trunk,
			Domain: d.stack.Domain(), PagerPartner: RCSName,
		},
		SMS:     d.gw,
		Pager:   d.sender,
		Metrics: metrics, OnError: d.errs.Add, Logger: d.log,
	})
	if err != nil {
		return err
	}
	d.eng = eng
	if d.smppSrv != nil {
		d.smppSrv.SetHandler(eng)
	}
	for _, c := range d.clients {
		c.SetHandler(eng)
	}
	d.sessions.SetHandler(eng)
	if d.inbound, err = pager.NewInbound(pager.InboundConfig{Trunks: d.trunks, Store: eng, Replies: d.sender, Logger: d.log}); err != nil {
		return err
	}
	d.inbound.RegisterStack(ctx, d.stack)
	d.sessions.Register(d.stack.Server())
	return nil
}

func (d *daemon) buildStatus(context.Context) error {
	if a := d.cfg.Status.Listen; a != "" {
		var err error
		if d.statusLn, err = net.Listen("tcp", a); err != nil {
			return fmt.Errorf("status.listen %s: %w", a, err)
		}
	}
	return nil
}

func interworkPartner(p PartnerConfig) interwork.Partner {
	ip := interwork.Partner{
		Name: p.Name, Policy: p.Policy(),
		Numbers: p.Routing.Numbers, Domains: p.Routing.Domains,
		DeliverVia: interwork.Via(p.DeliverVia),
		SMS:        p.SMPP.SMS,
		Numbering:  p.SMPP.Numbering,
	}
	if p.SIP != nil && p.SIP.SMSOverIP {
		ip.SMSOverIP, ip.SCAddress = true, p.SIP.SCAddress
	}
	return ip
}

func (d *daemon) buildMSRP(context.Context) error {
	m := d.cfg.MSRP
	ln, err := net.Listen("tcp", m.Listen)
	if err != nil {
		return fmt.Errorf("msrp listen %s: %w", m.Listen, err)
	}
	scfg := m.Endpoint
	if scfg.Port == 0 {
		scfg.Port = ln.Addr().(*net.TCPAddr).Port
	}
	scfg.Logger = d.log
	if m.TLS != nil {
		if scfg.TLS, err = loadTLS("msrp.tls", m.TLS); err != nil {
			ln.Close()
			return err
		}
		// Peers that connect show their certificate, checked against
		// their a=fingerprint (msrp.tls_verify), self-signed or not.
		scfg.TLS.ClientAuth = tls.RequestClientCert
		scfg.Secure = true
		ln = tls.NewListener(ln, scfg.TLS)
	}
	ln = listener.Wrap(ln, scfg.Budget, d.log.With("component", "msrp"))
	if d.ep, err = session.NewEndpoint(scfg); err != nil {
		ln.Close()
		return err
	}
	d.msrpLn = ln
	d.log.Info("msrp listening", "component", "msrp", "addr", ln.Addr().String(), "secure", scfg.Secure, "advertised", scfg.Host)
	return nil
}

// closeBuilt releases what build opened before it failed.
func (d *daemon) closeBuilt() {
	for _, c := range []interface{ Close() error }{d.statusLn, d.msrpLn} {
		if c != nil && c != (net.Listener)(nil) {
			_ = c.Close()
		}
	}
	if d.stack != nil {
		_ = d.stack.Close()
	}
	if d.smppSrv != nil {
		_ = d.smppSrv.Close()
	}
	if d.ep != nil {
		_ = d.ep.Close()
	}
	if d.store != nil {
		_ = d.store.Close()
	}
}

func loadTLS(field string, t *TLSConfig) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", field, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// ready is /readyz: the node is not draining and the store takes writes
// (a Redis at maxmemory or a read-only replica answers pings but cannot
// hold a message this node would acknowledge).
func (d *daemon) ready(ctx context.Context) error {
	if d.eng.Draining() {
		return errors.New("draining")
	}
	return d.store.Writable(ctx)
}

// snapshot is /status.
func (d *daemon) snapshot(ctx context.Context) status.Snapshot {
	s := status.Snapshot{
		Node: d.cfg.NodeID(), Version: version, Started: d.started, Now: time.Now(),
		Draining: d.eng != nil && d.eng.Draining(),
		Config:   d.configInfo(),
		Store: status.StoreStatus{Addr: d.store.Addr(), Embedded: d.store.Embedded(), OK: true, Topology: status.TopologySingle,
			Warnings: storeWarnings(d.store.AOFFindings())},
		LastErrors: d.errs.Recent(recentErrors),
	}
	if d.store.Embedded() {
		s.Store.Topology = status.TopologyEmbedded
	} else if d.store.Mode() != store.ModeSingle {
		s.Store.Topology, s.Store.Nodes = storeLayout(ctx, d.store)
	}
	s.Nodes = d.clusterNodes(ctx)
	if err := d.store.Ping(ctx); err != nil {
		s.Store.OK, s.Store.Error = false, err.Error()
	}
	ms := d.ep.Stats()
	s.Listeners = append(s.Listeners, status.Listener{Name: "msrp", Addr: d.msrpLn.Addr().String(),
		Connections: &status.Connections{Open: int64(ms.Connections), Accepted: ms.ConnsAccepted, Refused: ms.ConnsRefused, AcceptErrors: ms.AcceptErrors,
			Closed: map[string]uint64{"bind_timeout": ms.ClosedBindTimeout, "idle": ms.ClosedIdle, "slow_reader": ms.ClosedSlowReader, "malformed": ms.ClosedMalformed}}})
	sipStats := d.stack.Stats()
	for _, tp := range []string{"udp", "tcp", "tls"} {
		if a := d.stack.Addr(tp); a != nil {
			l := status.Listener{Name: "sip-" + tp, Addr: a.String()}
			if cs, ok := sipStats[tp]; ok {
				l.Connections = &status.Connections{Open: cs.Open, Accepted: cs.Accepted, Refused: cs.Refused, AcceptErrors: cs.AcceptErrors,
					Closed: map[string]uint64{"no_request": cs.ClosedNoRequest, "idle": cs.ClosedIdle, "write_stalled": cs.ClosedStalled}}
			}
			s.Listeners = append(s.Listeners, l)
		}
	}
	if d.smppSrv != nil {
		st := d.smppSrv.Stats()
		s.Listeners = append(s.Listeners, status.Listener{Name: "smpp", Addr: d.smppSrv.Addr().String(),
			Connections: &status.Connections{Open: st.Open, Accepted: st.Accepted, Refused: st.Refused, AcceptErrors: st.AcceptErrors,
				Closed: map[string]uint64{"bind_timeout": st.ClosedBindTimeout, "idle": st.ClosedIdle, "slow_reader": st.ClosedSlowReader,
					"bind_refused_source": st.BindsRefusedSource, "bind_failed": st.BindFailures}}})
	}
	if d.statusLn != nil {
		s.Listeners = append(s.Listeners, status.Listener{Name: "status", Addr: d.statusLn.Addr().String()})
	}
	if d.sessions != nil {
		cs := d.sessions.Stats()
		s.RCSCalls = &status.RCSCalls{Live: cs.Calls, Incoming: cs.Incoming, Refused: map[string]uint64{
			status.RefusedForbidden: cs.Forbidden, status.RefusedBusy: cs.Busy, status.RefusedOverloaded: cs.Overloaded}}
	}
	if totals, err := d.store.Counters(ctx); err == nil {
		s.Totals = totals
	}
	var binds []status.Bind
	var owners []string
	if d.smppSrv != nil {
		for _, b := range d.smppSrv.Status() {
			binds, owners = append(binds, d.bindStatus(b, "server")), append(owners, b.Partner)
		}
	}
	for _, c := range d.clientList() {
		for _, b := range c.Status() {
			binds, owners = append(binds, d.bindStatus(b, "client")), append(owners, b.Partner)
		}
	}
	byName := map[string]PartnerConfig{}
	for _, p := range d.partnerConfigs() {
		byName[p.Name] = p
	}
	if d.eng == nil {
		return s
	}
	for _, ps := range d.eng.Status(ctx) {
		p := status.Partner{Name: ps.Name, Sessions: ps.Sessions, Conversations: ps.Conversations,
			QueueDepth: ps.QueueDepth, Counters: ps.Counters, LastErrors: d.errs.Last(ps.Name),
			Rates: d.rates.PartnerRates(ps.Name)}
		for i, b := range binds {
			if owners[i] == ps.Name {
				p.SMPPBinds = append(p.SMPPBinds, b)
			}
		}
		if pc := byName[ps.Name]; pc.SIP != nil {
			p.SIPTrunk = &status.Trunk{NextHop: pc.SIP.NextHop, Transport: pc.SIP.Transport, AllowedSources: pc.SIP.AllowedSources}
		}
		s.Partners = append(s.Partners, p)
	}
	return s
}

// bindStatus is one bind as /status shows it, with its rates and its
// configured window.
func (d *daemon) bindStatus(b smpp.BindStatus, role string) status.Bind {
	c := b.Counters
	in, out := bindRateKeys(b, role)
	return status.Bind{
		Name: b.Name, Role: role, Mode: b.Kind, State: string(b.State), Remote: b.Remote, Since: b.Since,
		Submitted: int64(c.Sent + c.Received), Delivered: int64(c.Accepted),
		Errors:      int64(c.Rejected + c.Lost + c.ReceivedFailed + c.BindFailures),
		Outstanding: b.Outstanding, Window: d.bindWindow(b, role),
		RateIn: d.rates.Rate(in), RateOut: d.rates.Rate(out),
	}
}

// sourcePartner names the trunk whose allowed_sources hold the request's
// source address, "" when none does.
func sourcePartner(trunks *pager.Trunks, req *sip.Request) string {
	host, _, err := net.SplitHostPort(req.Source())
	if err != nil {
		host = req.Source()
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return ""
	}
	name, _ := trunks.BySource(ip.Unmap())
	return name
}

// storeLayout is /status's view of a cluster or Sentinel store: its mode
// and each master with its slots and replicas. A failed read still names
// the mode; the ping below reports the fault.
func storeLayout(ctx context.Context, st *store.Store) (string, []string) {
	t, err := st.Topology(ctx)
	if err != nil {
		return st.Mode(), nil
	}
	nodes := make([]string, 0, len(t.Masters))
	for _, m := range t.Masters {
		n := m.Addr
		if len(m.Slots) > 0 {
			n += " slots " + strings.Join(m.Slots, ",")
		}
		if len(m.Replicas) > 0 {
			n += " replicas " + strings.Join(m.Replicas, ",")
		}
		nodes = append(nodes, n)
	}
	return t.Mode, nodes
}

// clusterNodes are the IWF nodes alive on the store, for /status; nil
// when their heartbeats could not be read.
func (d *daemon) clusterNodes(ctx context.Context) []status.ClusterNode {
	if d.eng == nil {
		return nil
	}
	nodes, err := d.eng.Nodes(ctx)
	if err != nil {
		return nil
	}
	out := make([]status.ClusterNode, 0, len(nodes))
	for _, n := range nodes {
		sessions := 0
		for _, c := range n.Sessions {
			sessions += c
		}
		out = append(out, status.ClusterNode{Name: n.Name, Conversations: n.Conversations, Sessions: sessions, Heartbeat: n.At})
	}
	return out
}
