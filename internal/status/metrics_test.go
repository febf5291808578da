package status

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// newTestRegistry is an empty registry of its own (never the global one).
func newTestRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	return prometheus.NewRegistry()
}

// scrape fetches /metrics over HTTP and parses the text exposition.
func scrape(t *testing.T, o Options) map[string]*dto.MetricFamily {
	t.Helper()
	srv := serveTest(t, o)
	resp, body := get(t, srv, "/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics status %d: %s", resp.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams
}

// sample returns the value of the series of family name whose labels
// include want (name=value pairs), and whether there is one.
func sample(fams map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if have[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetricsEndpoint checks that events counted with Metrics and gauges
// from the collector reach /metrics.
func TestMetricsEndpoint(t *testing.T) {
	reg := newTestRegistry(t)
	m := NewMetrics(reg)
	if err := m.Err(); err != nil {
		t.Fatal(err)
	}
	snap := testSnapshot(2)
	snap.Partners[0].SMPPBinds = append(snap.Partners[0].SMPPBinds,
		Bind{Name: "smsc-2", Role: "client", State: "bound"})
	snap.Draining = true
	if err := reg.Register(NewCollector(fixed(snap))); err != nil {
		t.Fatal(err)
	}
	m.Message("partner-00", DirToSession, IngressSMPP, OutcomeAccepted)
	m.Message("partner-00", DirToSession, IngressSMPP, OutcomeAccepted)
	m.Message("partner-01", DirToPager, IngressMSRP, OutcomeDelivered)
	m.Message("partner-01", "sideways", "fax", "lost")
	m.Message("partner-00", DirToSession, IngressSMSIP, OutcomeAccepted)
	m.Message("partner-00", DirToPager, IngressSMSIPReport, OutcomeDelivered)
	m.SessionOpen("partner-00", true)
	m.SessionOpen("partner-00", false)
	m.SessionOpen("partner-00", false)
	m.Delivery("partner-00", DirToSession, 20*time.Millisecond)
	m.Error("partner-01", "smpp")

	fams := scrape(t, Options{Gatherer: reg})
	tests := []struct {
		name   string
		metric string
		labels []string
		want   float64
	}{
		{"accepted", "iwf_messages_total", []string{"partner", "partner-00", "direction", "to_session", "ingress", "smpp", "outcome", "accepted"}, 2},
		{"delivered", "iwf_messages_total", []string{"partner", "partner-01", "direction", "to_pager", "ingress", "msrp", "outcome", "delivered"}, 1},
		{"sms over ip", "iwf_messages_total", []string{"partner", "partner-00", "direction", "to_session", "ingress", "smsip", "outcome", "accepted"}, 1},
		{"sms over ip report", "iwf_messages_total", []string{"partner", "partner-00", "direction", "to_pager", "ingress", "smsip_report", "outcome", "delivered"}, 1},
		{"unknown labels folded", "iwf_messages_total", []string{"partner", "partner-01", "direction", "other", "ingress", "other", "outcome", "other"}, 1},
		{"open ok", "iwf_session_opens_total", []string{"partner", "partner-00", "result", "ok"}, 1},
		{"open failed", "iwf_session_opens_total", []string{"partner", "partner-00", "result", "failed"}, 2},
		{"delivery observed", "iwf_delivery_seconds", []string{"partner", "partner-00", "direction", "to_session"}, 1},
		{"errors", "iwf_errors_total", []string{"partner", "partner-01", "where", "smpp"}, 1},
		{"sessions", "iwf_sessions", []string{"partner", "partner-01"}, 3},
		{"conversations", "iwf_conversations", []string{"partner", "partner-00"}, 5},
		{"queue depth", "iwf_queue_depth", []string{"partner", "partner-00"}, 7},
		{"binds bound", "iwf_smpp_binds", []string{"partner", "partner-00", "role", "client", "state", "bound"}, 2},
		{"binds closed", "iwf_smpp_binds", []string{"partner", "partner-01", "role", "server", "state", "closed"}, 1},
		{"store up", "iwf_store_up", nil, 1},
		{"draining", "iwf_draining", nil, 1},
		{"info", "iwf_info", []string{"node", "iwf-a", "version", "1.2.3"}, 1},
		{"start time", "iwf_start_time_seconds", nil, float64(t0.Unix())},
		{"connections open", "iwf_connections_open", []string{"listener", "msrp"}, 4},
		{"connections accepted", "iwf_connections_total", []string{"listener", "msrp", "outcome", "accepted"}, 40},
		{"connections refused", "iwf_connections_total", []string{"listener", "msrp", "outcome", "refused"}, 3},
		{"accept errors", "iwf_accept_errors_total", []string{"listener", "msrp"}, 2},
		{"closed slow reader", "iwf_connections_closed_total", []string{"listener", "msrp", "reason", "slow_reader"}, 1},
		{"rcs calls", "iwf_rcs_calls", nil, 6},
		{"rcs incoming calls", "iwf_rcs_incoming_calls", nil, 4},
		{"invites forbidden", "iwf_rcs_invites_refused_total", []string{"reason", "forbidden"}, 1},
		{"invites busy", "iwf_rcs_invites_refused_total", []string{"reason", "busy"}, 2},
		{"invites overloaded", "iwf_rcs_invites_refused_total", []string{"reason", "overloaded"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := sample(fams, tc.metric, tc.labels...)
			if !ok || got != tc.want {
				t.Errorf("%s%v = %v (present %v), want %v", tc.metric, tc.labels, got, ok, tc.want)
			}
		})
	}
}

// TestDeliveryBuckets checks the histogram spans 1 ms to 60 s.
func TestDeliveryBuckets(t *testing.T) {
	reg := newTestRegistry(t)
	NewMetrics(reg).Delivery("p", DirToPager, 2*time.Minute)
	fams := scrape(t, Options{Gatherer: reg})
	b := fams["iwf_delivery_seconds"].GetMetric()[0].GetHistogram().GetBucket()
	// The text format lists +Inf as a bucket of its own.
	if len(b) > 0 && math.IsInf(b[len(b)-1].GetUpperBound(), 1) {
		b = b[:len(b)-1]
	}
	if len(b) < 2 {
		t.Fatalf("%d buckets", len(b))
	}
	if first, last := b[0].GetUpperBound(), b[len(b)-1].GetUpperBound(); first != 0.001 || last != 60 {
		t.Errorf("buckets %v .. %v, want 0.001 .. 60", first, last)
	}
	if b[len(b)-1].GetCumulativeCount() != 0 {
		t.Error("a 2 min delivery fell in the 60 s bucket")
	}
}

// TestCollectorEdges checks inputs that would break a scrape: a partner
// listed twice (duplicate series fail the whole Gather) and names that are
// not UTF-8 (client_golang panics on such label values).
func TestCollectorEdges(t *testing.T) {
	tests := []struct {
		name     string
		partners []Partner
		want     map[string]float64 // partner -> iwf_sessions
	}{
		{"duplicate partner summed", []Partner{{Name: "a", Sessions: 1}, {Name: "a", Sessions: 2}}, map[string]float64{"a": 3}},
		{"invalid utf-8", []Partner{{Name: "bad\xff", Sessions: 4, SMPPBinds: []Bind{{Role: "\xfe", State: "\xfd"}}}}, map[string]float64{"bad\uFFFD": 4}},
		{"no partners", nil, map[string]float64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := newTestRegistry(t)
			reg.MustRegister(NewCollector(fixed(Snapshot{Partners: tc.partners})))
			fams, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]*dto.MetricFamily{}
			for _, f := range fams {
				byName[f.GetName()] = f
			}
			if n := len(byName["iwf_sessions"].GetMetric()); n != len(tc.want) {
				t.Errorf("%d iwf_sessions series, want %d", n, len(tc.want))
			}
			for p, want := range tc.want {
				if got, ok := sample(byName, "iwf_sessions", "partner", p); !ok || got != want {
					t.Errorf("iwf_sessions{partner=%q} = %v (%v), want %v", p, got, ok, want)
				}
			}
		})
	}
}

// TestCollectorNilSnapshot checks a collector without a snapshot function
// still exports the node-level gauges.
func TestCollectorNilSnapshot(t *testing.T) {
	reg := newTestRegistry(t)
	reg.MustRegister(NewCollector(nil))
	fams := scrape(t, Options{Gatherer: reg})
	if v, ok := sample(fams, "iwf_store_up"); !ok || v != 0 {
		t.Errorf("iwf_store_up = %v (%v), want 0", v, ok)
	}
}

// TestCollectorDeadline checks the scrape's snapshot runs under a deadline.
func TestCollectorDeadline(t *testing.T) {
	had := make(chan bool, 1)
	c := NewCollector(func(ctx context.Context) Snapshot {
		_, ok := ctx.Deadline()
		had <- ok
		return Snapshot{}
	})
	reg := newTestRegistry(t)
	reg.MustRegister(c)
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	if !<-had {
		t.Error("collector snapshot has no deadline")
	}
}

// TestNilMetrics checks every method is a no-op on nil.
func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.Message("p", DirToSession, IngressSIP, OutcomeAccepted)
	m.SessionOpen("p", true)
	m.Delivery("p", DirToSession, time.Second)
	m.Error("p", "store")
	if m.Err() != nil {
		t.Error("Err on nil *Metrics is not nil")
	}
}

// TestMetricsRegistration checks registering twice shares the collectors,
// a clash with a foreign metric is reported by Err, and a nil registry
// counts without registering.
func TestMetricsRegistration(t *testing.T) {
	t.Run("twice shares", func(t *testing.T) {
		reg := newTestRegistry(t)
		a, b := NewMetrics(reg), NewMetrics(reg)
		if a.Err() != nil || b.Err() != nil {
			t.Fatalf("errors: %v, %v", a.Err(), b.Err())
		}
		a.Error("p", "smpp")
		b.Error("p", "smpp")
		fams := scrape(t, Options{Gatherer: reg})
		if v, _ := sample(fams, "iwf_errors_total", "partner", "p"); v != 2 {
			t.Errorf("iwf_errors_total = %v, want 2", v)
		}
	})
	t.Run("clash reported", func(t *testing.T) {
		reg := newTestRegistry(t)
		reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "iwf_errors_total", Help: "not ours"}))
		m := NewMetrics(reg)
		if err := m.Err(); err == nil || !strings.Contains(err.Error(), "status: register iwf_errors_total") {
			t.Errorf("Err() = %v, want a registration error naming iwf_errors_total", err)
		}
		m.Error("p", "smpp") // still safe
	})
	t.Run("nil registry", func(t *testing.T) {
		m := NewMetrics(nil)
		m.Message("p", DirToPager, IngressMSRP, OutcomeRelayed)
		if m.Err() != nil {
			t.Error(m.Err())
		}
	})
}

// TestMetricsInvalidUTF8 checks label values that are not UTF-8 are
// repaired rather than panicking inside client_golang.
func TestMetricsInvalidUTF8(t *testing.T) {
	reg := newTestRegistry(t)
	m := NewMetrics(reg)
	m.Message("p\xff", DirToSession, IngressSIP, OutcomeAccepted)
	m.SessionOpen("p\xff", true)
	m.Delivery("p\xff", DirToSession, time.Millisecond)
	m.Error("p\xff", "w\xff")
	fams := scrape(t, Options{Gatherer: reg})
	if v, ok := sample(fams, "iwf_errors_total", "partner", "p\uFFFD", "where", "w\uFFFD"); !ok || v != 1 {
		t.Errorf("iwf_errors_total = %v (%v), want 1", v, ok)
	}
	if v, _ := sample(fams, "iwf_delivery_seconds", "partner", "p\uFFFD"); math.IsNaN(v) || v != 1 {
		t.Errorf("iwf_delivery_seconds count = %v, want 1", v)
	}
}
