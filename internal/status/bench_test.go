package status

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// benchStatus serves /status for a 50-partner snapshot through the full
// handler (routing, snapshot copy, rendering), without sockets.
func benchStatus(b *testing.B, target, accept string) {
	h := Handler(Options{Snapshot: fixed(testSnapshot(50)), Token: "t"})
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("Accept", accept)
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
		n = int64(w.Body.Len())
	}
	b.SetBytes(n)
}

// BenchmarkHandlerStatusJSON is /status as JSON for 50 partners.
func BenchmarkHandlerStatusJSON(b *testing.B) { benchStatus(b, "/status", "application/json") }

// BenchmarkHandlerStatusHTML is /status as HTML for 50 partners.
func BenchmarkHandlerStatusHTML(b *testing.B) { benchStatus(b, "/status?format=html", "") }

// BenchmarkHandlerMetrics is a /metrics scrape with the collector over 50
// partners and a populated message counter family.
func BenchmarkHandlerMetrics(b *testing.B) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	reg.MustRegister(NewCollector(fixed(testSnapshot(50))))
	for _, p := range testSnapshot(50).Partners {
		m.Message(p.Name, DirToSession, IngressSMPP, OutcomeAccepted)
		m.Delivery(p.Name, DirToSession, time.Second)
	}
	h := Handler(Options{Gatherer: reg})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
		_, _ = io.Copy(io.Discard, w.Body)
	}
}

// BenchmarkMetricsMessage is the per-message cost on the hot path.
func BenchmarkMetricsMessage(b *testing.B) {
	m := NewMetrics(prometheus.NewRegistry())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Message("partner-07", DirToSession, IngressSMPP, OutcomeAccepted)
		}
	})
}

// BenchmarkErrorsAdd is the cost of recording an error.
func BenchmarkErrorsAdd(b *testing.B) {
	e := NewErrors(10)
	err := errors.New("smpp: submit_sm_resp: ESME_RTHROTTLED")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.Add("partner-07", "smpp", err)
		}
	})
}
