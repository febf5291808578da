package status

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestStatusJSON checks the JSON shape twice: byte for byte against a golden
// file (field names, nesting, empty lists as []), and by decoding it back
// into a Snapshot.
func TestStatusJSON(t *testing.T) {
	want := testSnapshot(2)
	want.Partners[1].SIPTrunk = nil
	want.Partners[1].LastErrors = nil // shown as []
	want.Partners[1].SMPPBinds = nil
	srv := serveTest(t, Options{Snapshot: fixed(want)})

	resp, body := get(t, srv, "/status")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	golden := filepath.Join("testdata", "status.golden.json")
	if *update {
		if err := os.WriteFile(golden, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if body != string(g) {
		t.Errorf("body differs from %s (run with -update to accept):\n%s", golden, body)
	}

	var got Snapshot
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want.Partners[1].LastErrors = []ErrorEntry{}
	want.Partners[1].SMPPBinds = []Bind{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded snapshot differs:\n got %+v\nwant %+v", got, want)
	}
}

// TestStatusJSONEmpty checks that a nil snapshot function and empty
// snapshot give [] and {} rather than null, and a current "now".
func TestStatusJSONEmpty(t *testing.T) {
	tests := []struct {
		name string
		fn   func(context.Context) Snapshot
	}{
		{"nil function", nil},
		{"zero snapshot", fixed(Snapshot{})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now()
			srv := serveTest(t, Options{Snapshot: tc.fn})
			_, body := get(t, srv, "/status")
			var m map[string]any
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatal(err)
			}
			for key, want := range map[string]string{"listeners": "[]any", "partners": "[]any", "totals": "map"} {
				switch want {
				case "[]any":
					if _, ok := m[key].([]any); !ok {
						t.Errorf("%s = %#v, want a list", key, m[key])
					}
				case "map":
					if _, ok := m[key].(map[string]any); !ok {
						t.Errorf("%s = %#v, want an object", key, m[key])
					}
				}
			}
			// A store without warnings has no warnings field.
			if st, ok := m["store"].(map[string]any); !ok {
				t.Errorf("store = %#v, want an object", m["store"])
			} else if w, ok := st["warnings"]; ok {
				t.Errorf("store.warnings = %#v, want it left out", w)
			}
			now, err := time.Parse(time.RFC3339Nano, m["now"].(string))
			if err != nil || now.Before(before.Truncate(time.Second)) {
				t.Errorf("now = %v (%v), want a current time", m["now"], err)
			}
		})
	}
}

// TestStatusDoesNotMutateSnapshot checks that filling in empty lists does
// not write into the caller's partners (its live state).
func TestStatusDoesNotMutateSnapshot(t *testing.T) {
	s := testSnapshot(1)
	s.Partners[0].LastErrors = nil
	srv := serveTest(t, Options{Snapshot: fixed(s)})
	get(t, srv, "/status")
	if s.Partners[0].LastErrors != nil {
		t.Error("handler wrote into the caller's Partners slice")
	}
}

// TestStatusFormat checks content negotiation over HTTP.
func TestStatusFormat(t *testing.T) {
	tests := []struct {
		name, query, accept string
		wantCode            int
		wantType            string
	}{
		{"no accept", "", "", 200, "application/json"},
		{"curl", "", "*/*", 200, "application/json"},
		{"browser", "", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 200, "text/html; charset=utf-8"},
		{"json preferred", "", "application/json, text/html;q=0.5", 200, "application/json"},
		{"query html wins", "?format=html", "application/json", 200, "text/html; charset=utf-8"},
		{"query json wins", "?format=json", "text/html", 200, "application/json"},
		{"unknown format", "?format=xml", "", 400, "text/plain; charset=utf-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serveTest(t, Options{Snapshot: fixed(testSnapshot(1))})
			resp, _ := get(t, srv, "/status"+tc.query, "Accept", tc.accept)
			if resp.StatusCode != tc.wantCode || resp.Header.Get("Content-Type") != tc.wantType {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, resp.Header.Get("Content-Type"), tc.wantCode, tc.wantType)
			}
			if v := resp.Header.Get("Vary"); tc.wantCode == 200 && v != "Accept" {
				t.Errorf("Vary = %q, want Accept", v)
			}
		})
	}
}

// TestStatusHTML checks the page shows every partner and escapes what the
// snapshot carries.
func TestStatusHTML(t *testing.T) {
	s := testSnapshot(3)
	s.Partners[1].Name = `<script>alert("name")</script>`
	s.Partners[2].LastErrors = []ErrorEntry{{Time: t0, Where: "msrp", Error: `<img src=x onerror=alert(1)>`}}
	s.Store = StoreStatus{Addr: "127.0.0.1:1", Embedded: true, Error: "dial tcp: <b>refused</b>",
		Warnings: []StoreWarning{{Master: "127.0.0.1:1", Problem: "<i>rewrites</i>", Settings: map[string]string{"<b>": "<b>"}, Recommendation: "<b>set</b>"}}}
	s.Draining = true
	srv := serveTest(t, Options{Snapshot: fixed(s)})
	resp, body := get(t, srv, "/status?format=html")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{
		`<meta http-equiv="refresh" content="5">`,
		"<h1>IWF iwf-a</h1>",
		"1.2.3",
		"up 1h30m0s",
		"partner-00", "partner-02",
		"&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;",
		"&lt;img src=x onerror=alert(1)&gt;",
		"dial tcp: &lt;b&gt;refused&lt;/b&gt;",
		"127.0.0.1:1: &lt;i&gt;rewrites&lt;/i&gt;", "(&lt;b&gt; &lt;b&gt;)", "&lt;b&gt;set&lt;/b&gt;",
		"embedded",
		`<td class="ok">bound</td>`, `<td class="bad">closed</td>`,
		"sip:127.0.0.1:5070", "127.0.0.0/8",
		"smpp: bind refused",
		`<a href="#p1">&lt;script&gt;`, `<h2 id="p1">`, `<td class="bad">1/2</td>`,
		"<th>in_smpp</th><th>in_sip</th><th>in_msrp</th><th>out_msrp</th>",
		"msrp 127.0.0.1:2855 &middot; 4 open, 40 accepted, 3 refused",
		"2 accept errors", "5 closed (bind_timeout)", "1 closed (slow_reader)",
		"6 up, 4 incoming &middot; INVITEs refused: 1 forbidden (403), 2 busy (486), 0 overloaded (503)",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The page's one script is its own file; none comes from the data.
	if n := strings.Count(body, "<script"); n != 1 || !strings.Contains(body, `<script src="/status/page.js" defer></script>`) {
		t.Errorf("page has %d script elements, want only page.js", n)
	}
	for _, bad := range []string{"<script>", "<img", "<b>", "<i>"} {
		if strings.Contains(body, bad) {
			t.Errorf("page holds unescaped %q", bad)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}

// TestStatusRenderError checks that a snapshot JSON cannot encode (a year
// past 9999) is a 500, not a half-written 200 or a panic.
func TestStatusRenderError(t *testing.T) {
	s := testSnapshot(1)
	s.Started = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := serveTest(t, Options{Snapshot: fixed(s)})
	resp, body := get(t, srv, "/status")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d: %s", resp.StatusCode, body)
	}
}

// TestAuth checks the bearer token on /status and /metrics and the open
// probes.
func TestAuth(t *testing.T) {
	const token = "s3cret-token"
	tests := []struct {
		name, path, auth string
		wantCode         int
		wantChallenge    string
	}{
		{"status without token", "/status", "", 401, `Bearer realm="iwf"`},
		{"status wrong token", "/status", "Bearer nope", 401, `Bearer realm="iwf", error="invalid_token"`},
		{"status token prefix", "/status", "Bearer s3cret", 401, `Bearer realm="iwf", error="invalid_token"`},
		{"status basic scheme", "/status", "Basic czNjcmV0LXRva2Vu", 401, `Bearer realm="iwf"`},
		{"status empty bearer", "/status", "Bearer ", 401, `Bearer realm="iwf"`},
		{"status right token", "/status", "Bearer " + token, 200, ""},
		{"scheme case-insensitive", "/status", "bearer " + token, 200, ""},
		{"metrics without token", "/metrics", "", 401, `Bearer realm="iwf"`},
		{"metrics wrong token", "/metrics", "Bearer " + token + "x", 401, `Bearer realm="iwf", error="invalid_token"`},
		{"metrics right token", "/metrics", "Bearer " + token, 200, ""},
		{"healthz open", "/healthz", "", 200, ""},
		{"readyz open", "/readyz", "", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serveTest(t, Options{Snapshot: fixed(testSnapshot(1)), Gatherer: newTestRegistry(t), Token: token})
			resp, _ := get(t, srv, tc.path, "Authorization", tc.auth)
			if resp.StatusCode != tc.wantCode {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantCode)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tc.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.wantChallenge)
			}
		})
	}
}

// TestProbes checks /healthz and /readyz.
func TestProbes(t *testing.T) {
	tests := []struct {
		name     string
		ready    func(context.Context) error
		path     string
		wantCode int
		wantBody string
	}{
		{"healthz", nil, "/healthz", 200, "ok\n"},
		{"healthz while not ready", func(context.Context) error { return errors.New("draining") }, "/healthz", 200, "ok\n"},
		{"readyz without check", nil, "/readyz", 200, "ready\n"},
		{"readyz ready", func(context.Context) error { return nil }, "/readyz", 200, "ready\n"},
		{"readyz store down", func(context.Context) error { return errors.New("store: dial tcp 127.0.0.1:6379: connection refused") },
			"/readyz", 503, "not ready: store: dial tcp 127.0.0.1:6379: connection refused\n"},
		{"readyz has a deadline", func(ctx context.Context) error {
			if _, ok := ctx.Deadline(); !ok {
				return errors.New("no deadline")
			}
			return nil
		}, "/readyz", 200, "ready\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serveTest(t, Options{Ready: tc.ready})
			resp, body := get(t, srv, tc.path)
			if resp.StatusCode != tc.wantCode || body != tc.wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tc.wantCode, tc.wantBody)
			}
		})
	}
}

// TestRouting checks the paths and methods around the endpoints.
func TestRouting(t *testing.T) {
	tests := []struct {
		name, method, path string
		gatherer           bool
		wantCode           int
	}{
		{"root redirects", "GET", "/", false, http.StatusFound},
		{"unknown path", "GET", "/nope", false, http.StatusNotFound},
		{"post refused", "POST", "/status", false, http.StatusMethodNotAllowed},
		{"head allowed", "HEAD", "/healthz", false, http.StatusOK},
		{"metrics without gatherer", "GET", "/metrics", false, http.StatusNotFound},
		{"metrics with gatherer", "GET", "/metrics", true, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{}
			if tc.gatherer {
				o.Gatherer = newTestRegistry(t)
			}
			srv := serveTest(t, o)
			req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			client := srv.Client()
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantCode)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
			}
		})
	}
}

// TestSnapshotDeadline checks that the snapshot function runs under a
// deadline derived from the request.
func TestSnapshotDeadline(t *testing.T) {
	had := make(chan bool, 1)
	srv := serveTest(t, Options{Snapshot: func(ctx context.Context) Snapshot {
		_, ok := ctx.Deadline()
		had <- ok
		return Snapshot{}
	}})
	get(t, srv, "/status")
	if !<-had {
		t.Error("snapshot context has no deadline")
	}
}
