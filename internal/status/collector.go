package status

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// collectTimeout bounds the snapshot a scrape waits for; Prometheus' own
// default scrape timeout is 10 s, and a late answer is worth less than a
// partial one.
const collectTimeout = 5 * time.Second

// collector exports gauges read from a Snapshot at scrape time. Its fields
// are set once by NewCollector and only read afterwards.
type collector struct {
	snapshot      func(context.Context) Snapshot
	sessions      *prometheus.Desc
	conversations *prometheus.Desc
	queueDepth    *prometheus.Desc
	binds         *prometheus.Desc
	storeUp       *prometheus.Desc
	draining      *prometheus.Desc
	info          *prometheus.Desc
	started       *prometheus.Desc
	connsOpen     *prometheus.Desc
	connsTotal    *prometheus.Desc
	acceptErrors  *prometheus.Desc
	connsClosed   *prometheus.Desc
	calls         *prometheus.Desc
	callsIncoming *prometheus.Desc
	callsRefused  *prometheus.Desc
}

// NewCollector returns a collector that, at each scrape, takes a snapshot and
// exports iwf_sessions{partner}, iwf_conversations{partner},
// iwf_queue_depth{partner}, iwf_smpp_binds{partner,role,state} (binds in
// each state), iwf_store_up, iwf_draining, iwf_info{node,version} (always 1),
// iwf_start_time_seconds, and per listener iwf_connections_open,
// iwf_connections_total{outcome}, iwf_accept_errors_total and
// iwf_connections_closed_total{reason}, and for the session side
// iwf_rcs_calls, iwf_rcs_incoming_calls and
// iwf_rcs_invites_refused_total{reason}.
// Label values come from configuration (partner
// names) or fixed sets (role, state), so the series count stays bounded;
// partners a snapshot lists twice are summed rather than exported twice,
// which would fail the whole scrape.
func NewCollector(snapshot func(ctx context.Context) Snapshot) prometheus.Collector {
	partner := []string{"partner"}
	return &collector{
		snapshot:      snapshot,
		sessions:      prometheus.NewDesc("iwf_sessions", "Live MSRP sessions on this node.", partner, nil),
		conversations: prometheus.NewDesc("iwf_conversations", "Conversations this node owns.", partner, nil),
		queueDepth:    prometheus.NewDesc("iwf_queue_depth", "Messages waiting in the partner's conversation queues.", partner, nil),
		binds:         prometheus.NewDesc("iwf_smpp_binds", "SMPP binds by partner, role (client, server) and state.", []string{"partner", "role", "state"}, nil),
		storeUp:       prometheus.NewDesc("iwf_store_up", "1 when the last store check succeeded.", nil, nil),
		draining:      prometheus.NewDesc("iwf_draining", "1 once the node stopped taking new work.", nil, nil),
		info:          prometheus.NewDesc("iwf_info", "Node name and build version (value always 1).", []string{"node", "version"}, nil),
		started:       prometheus.NewDesc("iwf_start_time_seconds", "Process start time, Unix seconds.", nil, nil),
		connsOpen:     prometheus.NewDesc("iwf_connections_open", "Connections open on a listener.", []string{"listener"}, nil),
		connsTotal:    prometheus.NewDesc("iwf_connections_total", "Connections a listener accepted or refused (budget full), since start.", []string{"listener", "outcome"}, nil),
		acceptErrors:  prometheus.NewDesc("iwf_accept_errors_total", "Transient accept failures a listener waited out (out of descriptors...), since start.", []string{"listener"}, nil),
		connsClosed:   prometheus.NewDesc("iwf_connections_closed_total", "Connections the node closed, by listener and reason, since start.", []string{"listener", "reason"}, nil),
		calls:         prometheus.NewDesc("iwf_rcs_calls", "SIP calls carrying MSRP sessions with the RCS network, up now, both directions.", nil, nil),
		callsIncoming: prometheus.NewDesc("iwf_rcs_incoming_calls", "Calls the RCS side opened, admitted and not ended (those being answered included).", nil, nil),
		callsRefused: prometheus.NewDesc("iwf_rcs_invites_refused_total",
			"Incoming INVITEs refused since start, by reason: forbidden (403, source not allowed), busy (486, per-source cap), overloaded (503, node cap).", []string{"reason"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.sessions, c.conversations, c.queueDepth,
		c.binds, c.storeUp, c.draining, c.info, c.started,
		c.connsOpen, c.connsTotal, c.acceptErrors, c.connsClosed, c.calls, c.callsIncoming, c.callsRefused} {
		ch <- d
	}
}

// partnerGauges are one partner's gauge values, summed over duplicates.
type partnerGauges struct {
	sessions, conversations, queueDepth float64
}

// bindKey is one iwf_smpp_binds series.
type bindKey struct{ partner, role, state string }

// Collect implements prometheus.Collector. The Collector interface carries
// no context, so the snapshot runs under its own deadline.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := takeSnapshot(context.Background(), c.snapshot, collectTimeout)

	order := make([]string, 0, len(s.Partners))
	gauges := make(map[string]*partnerGauges, len(s.Partners))
	binds := make(map[bindKey]float64)
	for _, p := range s.Partners {
		name := labelValue(p.Name)
		g, ok := gauges[name]
		if !ok {
			g = &partnerGauges{}
			gauges[name] = g
			order = append(order, name)
		}
		g.sessions += float64(p.Sessions)
		g.conversations += float64(p.Conversations)
		g.queueDepth += float64(p.QueueDepth)
		for _, b := range p.SMPPBinds {
			binds[bindKey{name, oneOf(b.Role, "client", "server"), labelValue(b.State)}]++
		}
	}
	for _, name := range order {
		g := gauges[name]
		gauge(ch, c.sessions, g.sessions, name)
		gauge(ch, c.conversations, g.conversations, name)
		gauge(ch, c.queueDepth, g.queueDepth, name)
	}
	for k, n := range binds {
		gauge(ch, c.binds, n, k.partner, k.role, k.state)
	}
	gauge(ch, c.storeUp, boolGauge(s.Store.OK))
	gauge(ch, c.draining, boolGauge(s.Draining))
	gauge(ch, c.info, 1, labelValue(s.Node), labelValue(s.Version))
	if !s.Started.IsZero() {
		gauge(ch, c.started, float64(s.Started.UnixNano())/1e9)
	}
	seen := map[string]bool{}
	for _, l := range s.Listeners {
		name := labelValue(l.Name)
		if l.Connections == nil || seen[name] {
			continue
		}
		seen[name] = true
		cs := l.Connections
		gauge(ch, c.connsOpen, float64(cs.Open), name)
		counterSample(ch, c.connsTotal, float64(cs.Accepted), name, "accepted")
		counterSample(ch, c.connsTotal, float64(cs.Refused), name, "refused")
		counterSample(ch, c.acceptErrors, float64(cs.AcceptErrors), name)
		for reason, n := range cs.Closed {
			counterSample(ch, c.connsClosed, float64(n), name, labelValue(reason))
		}
	}
	c.collectCalls(ch, s.RCSCalls)
}

// collectCalls exports the session side's calls: every refusal reason,
// zero included, so that a rate over it starts at the first refusal.
func (c *collector) collectCalls(ch chan<- prometheus.Metric, rc *RCSCalls) {
	if rc == nil {
		return
	}
	gauge(ch, c.calls, float64(rc.Live))
	gauge(ch, c.callsIncoming, float64(rc.Incoming))
	for _, reason := range []string{RefusedForbidden, RefusedBusy, RefusedOverloaded} {
		counterSample(ch, c.callsRefused, float64(rc.Refused[reason]), reason)
	}
}

// counterSample sends one counter sample, guarded as gauge is.
func counterSample(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, prometheus.CounterValue, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}

// boolGauge is 1 for true, 0 for false.
func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// gauge sends one gauge sample. Label values are made valid before they get
// here, so the error branch is a guard: a bad sample is reported to the
// registry (which logs it and serves the rest) instead of panicking as
// MustNewConstMetric would.
func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}
