package status

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Time limits of the handler's callbacks. A store that hangs must turn into
// a slow page, not a stuck one: probes and people both retry.
const (
	// snapshotTimeout bounds Options.Snapshot for /status.
	snapshotTimeout = 5 * time.Second
	// readyTimeout bounds Options.Ready; orchestrator probes usually
	// give up after a few seconds.
	readyTimeout = 2 * time.Second
	// metricsInFlight caps concurrent /metrics scrapes, each of which
	// takes a snapshot.
	metricsInFlight = 4
)

// Options configure Handler.
type Options struct {
	// Snapshot returns what /status shows. It is called once per request,
	// possibly concurrently (and concurrently with NewCollector's), under
	// a 5 s deadline; it must return values the handler may read after it
	// returns, which the handler never modifies. nil shows an empty
	// snapshot.
	Snapshot func(ctx context.Context) Snapshot
	// Ready reports whether the node takes traffic: nil error when the
	// store is reachable, listeners are up and it is not draining. nil
	// means always ready.
	Ready func(ctx context.Context) error
	// Gatherer is the registry /metrics serves; nil leaves /metrics out
	// (404).
	Gatherer prometheus.Gatherer
	// Token, when not empty, is the bearer token /status and /metrics
	// demand.
	Token string
	// PprofToken, when not empty, serves the runtime profiles under
	// /debug/pprof/ to requests bearing it (pprof.go); empty answers 404.
	PprofToken string
	// Logger receives refused requests and serving failures; nil discards.
	Logger *slog.Logger
	// Admin, with AdminToken, serves the admin endpoints under /admin/
	// (admin.go); either empty leaves them out (404).
	Admin      Admin
	AdminToken string
	// Sessions, when set, lists one page of the live MSRP sessions for
	// /status (its sessions_offset, sessions_limit and filter query
	// parameters). It runs under the snapshot's deadline and must cost
	// no more than the page it returns plus one pass over the table.
	Sessions func(ctx context.Context, q SessionQuery) SessionPage
}

// handler serves the endpoints; its fields are set by Handler and only read
// afterwards.
type handler struct {
	snapshot func(context.Context) Snapshot
	sessions func(context.Context, SessionQuery) SessionPage
	ready    func(context.Context) error
	page     *template.Template
	pageErr  error
	log      *slog.Logger
}

// Handler serves /status (JSON; HTML when the Accept header prefers
// text/html or with ?format=html), /metrics, /healthz (200 "ok" while the
// process runs) and /readyz (200, or 503 with the reason). With a Token,
// /status and /metrics need "Authorization: Bearer <token>" (compared in
// constant time; 401 with WWW-Authenticate: Bearer otherwise); /healthz and
// /readyz stay open for probes. "/" redirects to /status.
func Handler(o Options) http.Handler {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "status")
	h := &handler{snapshot: o.Snapshot, sessions: o.Sessions, ready: o.Ready, log: log}
	h.page, h.pageErr = newPage()

	mux := http.NewServeMux()
	// Method patterns: GET also matches HEAD, and anything else gets 405
	// with an Allow header (RFC 9110 section 15.5.6) from the mux.
	mux.Handle("GET /{$}", http.RedirectHandler("/status", http.StatusFound))
	mux.Handle("GET /status", requireToken(o.Token, log, http.HandlerFunc(h.status)))
	// The page's script is a constant: no token, so that a browser
	// that reached the page through an authenticating proxy loads it
	// however the proxy treats sub-resources.
	mux.HandleFunc("GET /status/page.js", servePageScript)
	if o.Gatherer != nil {
		mux.Handle("GET /metrics", requireToken(o.Token, log, promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{
			ErrorLog: promLogger{log},
			// A collector failing must not hide every other metric.
			ErrorHandling:       promhttp.ContinueOnError,
			MaxRequestsInFlight: metricsInFlight,
			Timeout:             collectTimeout + time.Second,
		})))
	}
	mux.Handle("/debug/pprof/", pprofHandler(o.PprofToken, log))
	mux.HandleFunc("GET /healthz", h.healthz)
	mux.HandleFunc("GET /readyz", h.readyz)
	registerAdmin(mux, o, o.Snapshot, log)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Nothing here may be cached by a proxy or sniffed into another
		// type by a browser: it is live state, possibly behind a token.
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		mux.ServeHTTP(w, r)
	})
}

// status serves /status as JSON or HTML.
func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	// The answer depends on Accept: a cache keyed on the URL alone would
	// hand a browser JSON (RFC 9110 section 12.5.5).
	w.Header().Add("Vary", "Accept")
	var html bool
	switch f := r.URL.Query().Get("format"); f {
	case "html":
		html = true
	case "json":
	case "":
		html = prefersHTML(r.Header.Values("Accept"))
	default:
		http.Error(w, "status: unknown format (want html or json)", http.StatusBadRequest)
		return
	}
	q, err := parseSessionQuery(r.URL.Query())
	if err != nil {
		http.Error(w, "status: "+err.Error(), http.StatusBadRequest)
		return
	}
	s := takeSnapshot(r.Context(), h.snapshotWithSessions(q), snapshotTimeout)

	// Render into a buffer first, so that a failure is a clean 500 and
	// not half a page under a 200.
	var buf bytes.Buffer
	contentType := "application/json"
	switch {
	case html && h.pageErr != nil:
		err = h.pageErr
	case html:
		contentType = "text/html; charset=utf-8"
		err = h.page.Execute(&buf, s)
	default:
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		err = enc.Encode(s)
	}
	if err != nil {
		h.log.Error("render status", "html", html, "error", err)
		http.Error(w, "status: cannot render the snapshot", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	if html {
		// Nothing from elsewhere and no inline script: the inline style
		// sheet, the page's own script file, and its fetches of /status.
		w.Header().Set("Content-Security-Policy", pageCSP)
	}
	_, _ = w.Write(buf.Bytes())
}

// snapshotWithSessions is the snapshot function of one /status request:
// the node's snapshot and, when the node lists sessions, the page q asks
// for, both under the one deadline.
func (h *handler) snapshotWithSessions(q SessionQuery) func(context.Context) Snapshot {
	if h.sessions == nil {
		return h.snapshot
	}
	return func(ctx context.Context) Snapshot {
		var s Snapshot
		if h.snapshot != nil {
			s = h.snapshot(ctx)
		}
		page := h.sessions(ctx, q)
		page.Offset, page.Limit, page.Filter = q.Offset, q.Limit, q.Filter
		s.Sessions = &page
		return s
	}
}

// parseSessionQuery reads the session page a /status request asks for.
// A value that is not a number, or out of range, is the client's mistake
// and answered 400 rather than guessed at; a limit over MaxSessionLimit
// is a page size this endpoint does not serve, and is cut to it (the
// answer's limit says so).
func parseSessionQuery(v url.Values) (SessionQuery, error) {
	q := SessionQuery{Limit: DefaultSessionLimit, Filter: v.Get("filter")}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"sessions_offset", &q.Offset}, {"sessions_limit", &q.Limit}} {
		raw := v.Get(p.name)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return SessionQuery{}, fmt.Errorf("%s %q: want a number from 0", p.name, raw)
		}
		*p.dst = n
	}
	if len(q.Filter) > maxFilterLen {
		return SessionQuery{}, fmt.Errorf("filter: longer than %d bytes", maxFilterLen)
	}
	q.Limit = min(q.Limit, MaxSessionLimit)
	return q, nil
}

// maxFilterLen bounds the filter text: it is matched against every
// session's fields, so its cost multiplies with the table.
const maxFilterLen = 256

// healthz answers 200 while the process can serve HTTP at all: a liveness
// probe that fails only when restarting is the cure.
func (h *handler) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz answers 200 when Options.Ready says the node takes traffic, else
// 503 with the reason, so a load balancer stops sending to a draining node
// or one that lost its store.
func (h *handler) readyz(w http.ResponseWriter, r *http.Request) {
	if h.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		err := h.ready(ctx)
		cancel()
		if err != nil {
			h.log.Debug("not ready", "error", err)
			http.Error(w, "not ready: "+clip(err.Error(), MaxErrorLen), http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ready\n"))
}

// requireToken wraps next so that it runs only for requests that carry
// "Authorization: Bearer <token>" (RFC 6750 section 2.1). An empty token
// requires nothing.
func requireToken(token string, log *slog.Logger, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	// Compare digests, not the strings: subtle.ConstantTimeCompare
	// returns early on a length mismatch, which would leak the token's
	// length.
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, present := bearerToken(r.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(got))
		if present && subtle.ConstantTimeCompare(sum[:], want[:]) == 1 {
			next.ServeHTTP(w, r)
			return
		}
		// RFC 6750 section 3: a request without credentials gets a bare
		// challenge; one with a bad token is told error="invalid_token".
		challenge := `Bearer realm="iwf"`
		if present {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		log.Info("unauthorized request", "path", r.URL.Path, "remote", r.RemoteAddr, "token_present", present)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	})
}

// bearerToken extracts the token of an Authorization header value of the
// Bearer scheme. The scheme name is case-insensitive (RFC 9110 section
// 11.1); the token is not.
func bearerToken(header string) (string, bool) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok := strings.TrimLeft(rest, " ")
	return tok, tok != ""
}

// promLogger feeds promhttp's error log into slog.
type promLogger struct{ log *slog.Logger }

// Println implements promhttp.Logger.
func (l promLogger) Println(v ...any) {
	l.log.Warn("serve metrics", "error", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
