package status

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// clock is a settable time source for Rates.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// Rates average what the last 1 and 5 minutes counted, forget what is
// older, and reuse a bucket a full turn later without counting its old
// content.
func TestRates(t *testing.T) {
	c := &clock{t: t0}
	r := NewRates(c.now)
	r.Add("k", 60) // t0
	c.t = t0.Add(59 * time.Second)
	r.Add("k", 60)
	if got := r.Rate("k"); got.PerSec1m != 2 || got.PerSec5m != 120.0/300 {
		t.Fatalf("at 59 s: %+v, want 2/s over 1 min, 0.4/s over 5 min", got)
	}
	c.t = t0.Add(60 * time.Second) // t0's bucket is out of the minute
	if got := r.Rate("k"); got.PerSec1m != 1 || got.PerSec5m != 120.0/300 {
		t.Fatalf("at 60 s: %+v, want 1/s over 1 min", got)
	}
	c.t = t0.Add(300 * time.Second) // t0's bucket, a turn later
	r.Add("k", 3)
	if got := r.Rate("k"); got.PerSec1m != 3.0/60 || got.PerSec5m != 63.0/300 {
		t.Fatalf("a turn later: %+v, want only the new 3 and the 60 of 59 s", got)
	}
	c.t = t0.Add(time.Hour)
	if got := r.Rate("k"); got != (Rate{}) {
		t.Fatalf("an hour later: %+v, want 0", got)
	}
	if got := r.Rate("unknown"); got != (Rate{}) {
		t.Fatalf("unknown key: %+v", got)
	}
	var nilRates *Rates
	nilRates.Add("k", 1)
	nilRates.Observe("k", 1)
	if got := nilRates.Rate("k"); got != (Rate{}) {
		t.Fatalf("nil Rates: %+v", got)
	}
}

// Observe turns a cumulative counter into a rate: the first value is a
// baseline, growth counts, a reset is a new baseline.
func TestRatesObserve(t *testing.T) {
	c := &clock{t: t0}
	r := NewRates(c.now)
	r.Observe("bind", 1000)
	if got := r.Rate("bind"); got.PerSec1m != 0 {
		t.Fatalf("baseline counted: %+v", got)
	}
	c.t = t0.Add(time.Second)
	r.Observe("bind", 1030)
	c.t = t0.Add(2 * time.Second)
	r.Observe("bind", 5) // the bind was made anew
	c.t = t0.Add(3 * time.Second)
	r.Observe("bind", 35)
	if got := r.Rate("bind"); got.PerSec1m != 1 {
		t.Fatalf("%+v, want (30+30)/60 = 1/s", got)
	}
}

// Metrics feed the partner rates: accepted toward the session side is
// in, delivered toward the pager side is out, nothing else counts.
func TestMetricsFeedPartnerRates(t *testing.T) {
	c := &clock{t: t0}
	r := NewRates(c.now)
	m := NewMetrics(prometheus.NewRegistry())
	m.CountRates(r)
	for range 6 {
		m.Message("p", DirToSession, IngressSMPP, OutcomeAccepted)
	}
	for range 3 {
		m.Message("p", DirToPager, IngressMSRP, OutcomeDelivered)
	}
	for _, o := range []string{OutcomeDuplicate, OutcomeFailed, OutcomeRefused, OutcomeDelivered} {
		m.Message("p", DirToSession, IngressSMPP, o)
	}
	m.Message("p", DirToPager, IngressMSRP, OutcomeAccepted)
	got := r.PartnerRates("p")
	if got.In.PerSec1m != 6.0/60 || got.Out.PerSec1m != 3.0/60 {
		t.Fatalf("%+v, want 6 in and 3 out in the minute", got)
	}
}

// A Rates holds at most MaxRateKeys keys, whatever it is fed.
func TestRatesBounded(t *testing.T) {
	r := NewRates(nil)
	for i := range MaxRateKeys + 10 {
		r.Add(string(rune(i)), 1)
		r.Observe(string(rune(i)), 1)
	}
	if len(r.rings) != MaxRateKeys || len(r.totals) != MaxRateKeys {
		t.Fatalf("%d rings, %d totals, want %d", len(r.rings), len(r.totals), MaxRateKeys)
	}
}

// InitPartner makes the series the alert rules read exist at zero, so
// that a rate over them is defined before the first event.
func TestMetricsInitPartner(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.InitPartner("p")
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]int{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			if s.GetCounter().GetValue() != 0 {
				t.Errorf("%s starts at %v", f.GetName(), s.GetCounter().GetValue())
			}
			series[f.GetName()]++
		}
	}
	// 2 directions x 4 ingresses x 4 outcomes; ok and failed; lease and ack.
	want := map[string]int{"iwf_messages_total": 32, "iwf_session_opens_total": 2, "iwf_errors_total": 2}
	for name, n := range want {
		if series[name] != n {
			t.Errorf("%s: %d series, want %d", name, series[name], n)
		}
	}
	var nilMetrics *Metrics
	nilMetrics.InitPartner("p")
	nilMetrics.CountRates(NewRates(nil))
}
