package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSessions is a session table of n entries with the paging and
// filtering contract of Options.Sessions; calls counts the lookups.
type fakeSessions struct {
	all   []Session
	calls atomic.Int64
}

func newFakeSessions(n int) *fakeSessions {
	f := &fakeSessions{}
	for i := range n {
		partner := "alpha"
		if i%100 == 0 {
			partner = "beta"
		}
		f.all = append(f.all, Session{
			CallID: fmt.Sprintf("call-%05d", i), Partner: partner, Direction: "incoming",
			From: fmt.Sprintf("sip:+4670%05d@rcs.test", i), To: "tel:+46700000001", Peer: "127.0.0.1:2855",
			Started: t0.Add(time.Duration(i) * time.Second), State: "established", MessagesIn: int64(i),
		})
	}
	return f
}

func (f *fakeSessions) page(_ context.Context, q SessionQuery) SessionPage {
	f.calls.Add(1)
	var match []Session
	for _, s := range f.all {
		if q.Filter == "" || strings.Contains(strings.ToLower(s.Partner+" "+s.From), strings.ToLower(q.Filter)) {
			match = append(match, s)
		}
	}
	p := SessionPage{Total: len(match)}
	if q.Offset < len(match) {
		p.Items = match[q.Offset:min(q.Offset+q.Limit, len(match))]
	}
	return p
}

// With 10,000 live sessions /status lists one page of them, in JSON and
// on the page, with the total, and filters on the server side; the page
// links to the next page with the same limit and filter.
func TestStatusSessionsPaged(t *testing.T) {
	f := newFakeSessions(10000)
	srv := serveTest(t, Options{Snapshot: fixed(testSnapshot(1)), Sessions: f.page})
	for _, tc := range []struct {
		name, query    string
		wantTotal      int
		wantItems      int
		wantFirst      string
		wantLimit      int
		wantNextOffset string
	}{
		{"default page", "", 10000, DefaultSessionLimit, "call-00000", DefaultSessionLimit, "sessions_offset=50"},
		{"second page", "?sessions_offset=20&sessions_limit=20", 10000, 20, "call-00020", 20, "sessions_offset=40"},
		{"limit capped", "?sessions_limit=100000", 10000, MaxSessionLimit, "call-00000", MaxSessionLimit, "sessions_offset=500"},
		{"filtered", "?filter=BETA&sessions_limit=10", 100, 10, "call-00000", 10, "filter=BETA"},
		{"filtered second page", "?filter=beta&sessions_limit=10&sessions_offset=10", 100, 10, "call-01000", 10, "sessions_offset=20"},
		{"past the end", "?sessions_offset=10000", 10000, 0, "", DefaultSessionLimit, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sep := "?"
			if tc.query != "" {
				sep = "&"
			}
			resp, body := get(t, srv, "/status"+tc.query+sep+"format=json")
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var s Snapshot
			if err := json.Unmarshal([]byte(body), &s); err != nil {
				t.Fatal(err)
			}
			p := s.Sessions
			if p == nil || p.Total != tc.wantTotal || len(p.Items) != tc.wantItems || p.Limit != tc.wantLimit {
				t.Fatalf("sessions %+v, want %d of %d with limit %d", p, tc.wantItems, tc.wantTotal, tc.wantLimit)
			}
			if tc.wantItems > 0 && p.Items[0].CallID != tc.wantFirst {
				t.Fatalf("first %s, want %s", p.Items[0].CallID, tc.wantFirst)
			}
			if p.Items == nil {
				t.Fatal("items null, want []")
			}

			_, page := get(t, srv, "/status"+tc.query+sep+"format=html")
			// One row per listed session, plus the template row.
			if n := strings.Count(page, `<tr class="session">`) - 1; n != tc.wantItems {
				t.Fatalf("page shows %d session rows, want %d", n, tc.wantItems)
			}
			if tc.wantItems > 0 && !strings.Contains(page, "<td>"+tc.wantFirst+"</td>") {
				t.Fatalf("page lacks %s", tc.wantFirst)
			}
			if tc.wantNextOffset != "" && !strings.Contains(page, tc.wantNextOffset) {
				t.Fatalf("page lacks a next link with %s", tc.wantNextOffset)
			}
			if len(page) > 1<<20 {
				t.Fatalf("page is %d bytes", len(page))
			}
		})
	}
}

// Session query parameters that are not counts are refused, and the
// table is not even read.
func TestStatusSessionsBadQuery(t *testing.T) {
	f := newFakeSessions(3)
	srv := serveTest(t, Options{Sessions: f.page})
	for _, q := range []string{"sessions_offset=-1", "sessions_limit=x", "sessions_offset=1e3", "filter=" + strings.Repeat("a", maxFilterLen+1)} {
		if resp, body := get(t, srv, "/status?"+q); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", q, resp.StatusCode, body)
		}
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("the table was read %d times for bad queries", n)
	}
}

// The page shows the rates, the window use, the store's topology, the
// live sessions and the errors of all partners; it loads its own script
// and marks what the script refreshes.
func TestStatusPageContent(t *testing.T) {
	srv := serveTest(t, Options{Snapshot: fixed(testSnapshot(1))})
	resp, body := get(t, srv, "/status?format=html")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{
		`<td class="n rate">2.50</td><td class="n">1.25</td><td class="n rate">0.05</td><td class="n">0.01</td>`,
		`<td class="n">0.50</td><td class="n">1.50</td><td class="n">10</td><td class="n">2/10 (20%)</td>`,
		"127.0.0.1:6379 (single)",
		`<span class="warn">127.0.0.1:6379: redis rewrites its append-only file every few seconds under load</span> (appendonly yes, auto-aof-rewrite-min-size 67108864) &middot; CONFIG SET auto-aof-rewrite-min-size 4gb</td>`,
		"<td>c1@rcs</td><td>incoming</td><td>rcs</td><td>sip:&#43;46700000001@rcs.test</td><td>tel:&#43;46700000002</td><td>127.0.0.1:2855</td><td class=\"n\">10m0s</td><td class=\"ok\">established</td><td class=\"n\">3</td><td class=\"n\">4</td><td class=\"n\">30</td><td class=\"n\">40</td>",
		"sessions 1-1 of 1",
		"<td>partner-00</td><td>smpp</td><td>smpp: bind refused</td>",
		`data-rows="sessions.items"`, `data-rows="partners.0.smpp_binds"`, `data-k="partners.0.counters.in_smpp"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
		t.Errorf("Content-Security-Policy %q allows inline or eval'd script", csp)
	}
}

// page.js is served without a token (it is a constant), as JavaScript,
// and fetches /status as JSON; /status itself still needs the token.
func TestStatusPageScript(t *testing.T) {
	srv := serveTest(t, Options{Token: "secret"})
	resp, body := get(t, srv, "/status/page.js")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("page.js: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(body, `params.set("format", "json")`) || strings.Contains(body, "innerHTML") {
		t.Error("page.js does not fetch JSON, or writes markup")
	}
	if resp, _ := get(t, srv, "/status"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/status without the token: %d", resp.StatusCode)
	}
}

// Recent merges the partners' errors, newest first, each naming its
// partner, and keeps n.
func TestErrorsRecent(t *testing.T) {
	e := NewErrors(3)
	e.Add("a", "smpp", errors.New("a1"))
	e.Add("b", "msrp", errors.New("b1"))
	e.Add("a", "smpp", errors.New("a2"))
	got := e.Recent(2)
	if len(got) != 2 || got[0].Error != "a2" || got[0].Partner != "a" || got[1].Error != "b1" || got[1].Partner != "b" {
		t.Fatalf("Recent(2) = %+v, want a2 (a), b1 (b)", got)
	}
	if got := e.Recent(10); len(got) != 3 {
		t.Fatalf("Recent(10) = %d entries, want 3", len(got))
	}
	if got := NewErrors(1).Recent(5); got == nil || len(got) != 0 {
		t.Fatalf("Recent of nothing = %#v, want empty", got)
	}
}

// BenchmarkStatusSessionsPage is /status as HTML with 10,000 live
// sessions: the cost is the page asked for, not the table.
func BenchmarkStatusSessionsPage(b *testing.B) {
	f := newFakeSessions(10000)
	h := Handler(Options{Snapshot: fixed(testSnapshot(5)), Sessions: f.page})
	benchHandler(b, h, "/status?format=html")
}

// benchHandler serves GET target through h, without sockets.
func benchHandler(b *testing.B, h http.Handler, target string) {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}
