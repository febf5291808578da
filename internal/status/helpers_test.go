package status

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// t0 is a fixed instant, so that golden output does not move.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// testSnapshot builds a snapshot with n partners, every field set.
func testSnapshot(n int) Snapshot {
	s := Snapshot{
		Node:    "iwf-a",
		Version: "1.2.3",
		Started: t0,
		Now:     t0.Add(90 * time.Minute),
		Store: StoreStatus{Addr: "127.0.0.1:6379", OK: true, Topology: TopologySingle,
			Warnings: []StoreWarning{{Master: "127.0.0.1:6379", Problem: "redis rewrites its append-only file every few seconds under load",
				Settings:       map[string]string{"appendonly": "yes", "auto-aof-rewrite-min-size": "67108864"},
				Recommendation: "CONFIG SET auto-aof-rewrite-min-size 4gb"}}},
		Listeners: []Listener{{Name: "sip-udp", Addr: "127.0.0.1:5060"}, {Name: "status", Addr: "127.0.0.1:8080"},
			{Name: "msrp", Addr: "127.0.0.1:2855", Connections: &Connections{Open: 4, Accepted: 40, Refused: 3, AcceptErrors: 2,
				Closed: map[string]uint64{"bind_timeout": 5, "slow_reader": 1}}}},
		Totals:   map[string]int64{CounterInSMPP: 100, CounterOutMSRP: 98},
		RCSCalls: &RCSCalls{Live: 6, Incoming: 4, Refused: map[string]uint64{RefusedForbidden: 1, RefusedBusy: 2}},
		Sessions: &SessionPage{Total: 1, Limit: DefaultSessionLimit, Items: []Session{{
			CallID: "c1@rcs", MSRPSession: "s1", Direction: "incoming", Partner: "rcs",
			From: "sip:+46700000001@rcs.test", To: "tel:+46700000002", Peer: "127.0.0.1:2855",
			Started: t0.Add(80 * time.Minute), State: "established",
			MessagesIn: 3, MessagesOut: 4, BytesIn: 30, BytesOut: 40,
		}}},
		LastErrors: []ErrorEntry{{Partner: "partner-00", Time: t0.Add(time.Minute), Where: "smpp", Error: "smpp: bind refused"}},
	}
	for i := range n {
		s.Partners = append(s.Partners, Partner{
			Name: fmt.Sprintf("partner-%02d", i),
			SMPPBinds: []Bind{
				{Name: "smsc-1", Role: "client", Mode: "transceiver", State: "bound", Remote: "127.0.0.1:2775",
					Since: t0, Submitted: 10, Delivered: 20, Errors: 1, Window: 10, Outstanding: 2,
					RateIn: Rate{PerSec1m: 0.5, PerSec5m: 0.25}, RateOut: Rate{PerSec1m: 1.5, PerSec5m: 1}},
				{Name: "esme-1", Role: "server", Mode: "receiver", State: "closed", Remote: "127.0.0.1:40000", Since: t0},
			},
			SIPTrunk:      &Trunk{NextHop: "sip:127.0.0.1:5070", Transport: "udp", AllowedSources: []string{"127.0.0.0/8"}},
			Sessions:      3,
			Conversations: 5,
			QueueDepth:    7,
			Counters: map[string]int64{CounterInSMPP: 10, CounterInSIP: 2, CounterInMSRP: 4, CounterOutMSRP: 11,
				CounterOutSMPP: 3, CounterOutSIP: 1, CounterFailed: 1, CounterDuplicates: 2, CounterRefused: 0},
			LastErrors: []ErrorEntry{{Time: t0.Add(time.Minute), Where: "smpp", Error: "smpp: bind refused"}},
			Rates:      PartnerRates{In: Rate{PerSec1m: 2.5, PerSec5m: 1.25}, Out: Rate{PerSec1m: 0.05, PerSec5m: 0.01}},
		})
	}
	return s
}

// fixed returns a snapshot function that always returns s.
func fixed(s Snapshot) func(context.Context) Snapshot {
	return func(context.Context) Snapshot { return s }
}

// get sends a GET for path (with optional headers as name, value pairs) to
// srv and returns the response with its body read.
func get(t *testing.T, srv *httptest.Server, path string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// serveTest starts Handler(o) on an httptest server on loopback.
func serveTest(t *testing.T, o Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(Handler(o))
	t.Cleanup(srv.Close)
	return srv
}
