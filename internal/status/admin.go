package status

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// adminTimeout bounds one admin action (a BYE, an unbind waiting for its
// unbind_resp).
const adminTimeout = 15 * time.Second

// ErrNotFound is what an Admin method wraps when the call, session or
// partner it was given does not exist: the endpoint answers 404.
var ErrNotFound = errors.New("status: not found")

// ErrConflict is what an Admin method wraps when the action does not
// apply to its target as it is (unbind of a partner with no client
// binds): the endpoint answers 409.
var ErrConflict = errors.New("status: action does not apply")

// Admin is what the admin endpoints act on. Each method returns a value
// shown to the operator as JSON, or an error wrapping ErrNotFound or
// ErrConflict (any other is a 500).
type Admin interface {
	// Sessions lists the live MSRP sessions (their SIP calls).
	Sessions(ctx context.Context) any
	// EndSession ends one by Call-ID or MSRP session id, with a BYE.
	EndSession(ctx context.Context, id string) (any, error)
	// Suspend and Resume stop and restart a partner's new traffic.
	Suspend(ctx context.Context, partner string) (any, error)
	Resume(ctx context.Context, partner string) (any, error)
	// Unbind unbinds a partner's SMPP client binds and keeps them down;
	// Rebind lets them bind again.
	Unbind(ctx context.Context, partner string) (any, error)
	Rebind(ctx context.Context, partner string) (any, error)
	// Drain stops the node taking new work (as SIGTERM does, without
	// the exit).
	Drain(ctx context.Context) (any, error)
}

// AdminResult is the JSON answer of an admin action.
type AdminResult struct {
	Action string `json:"action"`
	Target string `json:"target,omitempty"`
	// Result is what the action returned; Error why it failed.
	Result any    `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
}

// registerAdmin adds the admin endpoints to mux when o has an Admin and
// an AdminToken; without them the paths are unknown (404). Reads are GET;
// actions are POST only (the mux answers 405 with Allow otherwise), so
// that a link followed or a page prefetched changes nothing. Every
// request needs "Authorization: Bearer <AdminToken>" (401 otherwise),
// and every action is logged with the caller's address.
func registerAdmin(mux *http.ServeMux, o Options, snapshot func(context.Context) Snapshot, log *slog.Logger) {
	if o.Admin == nil || o.AdminToken == "" {
		return
	}
	a := o.Admin
	guard := func(h http.HandlerFunc) http.Handler { return requireToken(o.AdminToken, log, h) }
	mux.Handle("GET /admin/sessions", guard(func(w http.ResponseWriter, r *http.Request) {
		writeAdmin(w, http.StatusOK, a.Sessions(r.Context()))
	}))
	mux.Handle("GET /admin/status", guard(func(w http.ResponseWriter, r *http.Request) {
		writeAdmin(w, http.StatusOK, takeSnapshot(r.Context(), snapshot, snapshotTimeout))
	}))
	action := func(name string, target func(*http.Request) string, do func(context.Context, string) (any, error)) http.Handler {
		return guard(func(w http.ResponseWriter, r *http.Request) {
			t := target(r)
			ctx, cancel := context.WithTimeout(r.Context(), adminTimeout)
			res, err := do(ctx, t)
			cancel()
			out, code := AdminResult{Action: name, Target: t, Result: res}, http.StatusOK
			if err != nil {
				out.Result, out.Error = nil, err.Error()
				switch {
				case errors.Is(err, ErrNotFound):
					code = http.StatusNotFound
				case errors.Is(err, ErrConflict):
					code = http.StatusConflict
				default:
					code = http.StatusInternalServerError
				}
			}
			attrs := []any{"action", name, "target", t, "remote", r.RemoteAddr, "token", "admin", "status", code}
			if out.Error != "" {
				attrs = append(attrs, "error", out.Error)
			}
			log.Info("admin action", attrs...)
			writeAdmin(w, code, out)
		})
	}
	pathID := func(r *http.Request) string { return r.PathValue("id") }
	partner := func(r *http.Request) string { return r.PathValue("partner") }
	mux.Handle("POST /admin/sessions/{id}/end", action("end", pathID, a.EndSession))
	mux.Handle("POST /admin/partners/{partner}/suspend", action("suspend", partner, a.Suspend))
	mux.Handle("POST /admin/partners/{partner}/resume", action("resume", partner, a.Resume))
	mux.Handle("POST /admin/partners/{partner}/unbind", action("unbind", partner, a.Unbind))
	mux.Handle("POST /admin/partners/{partner}/rebind", action("rebind", partner, a.Rebind))
	mux.Handle("POST /admin/drain", action("drain", func(*http.Request) string { return "" },
		func(ctx context.Context, _ string) (any, error) { return a.Drain(ctx) }))
}

func writeAdmin(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "admin: cannot encode the answer", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
