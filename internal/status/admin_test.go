package status

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// fakeAdmin records the actions it was asked for; partner "nobody" is
// unknown and "sip-only" has no binds to unbind.
type fakeAdmin struct {
	mu   sync.Mutex
	done []string
}

func (f *fakeAdmin) record(action, target string) (any, error) {
	switch target {
	case "nobody":
		return nil, fmt.Errorf("partner %q: %w", target, ErrNotFound)
	case "sip-only":
		return nil, fmt.Errorf("partner %q has no client binds: %w", target, ErrConflict)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.done = append(f.done, action+" "+target)
	return map[string]string{"state": action}, nil
}

func (f *fakeAdmin) actions() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.done, ",")
}

func (f *fakeAdmin) Sessions(context.Context) any { return []string{"call-1"} }
func (f *fakeAdmin) EndSession(_ context.Context, id string) (any, error) {
	return f.record("end", id)
}
func (f *fakeAdmin) Suspend(_ context.Context, p string) (any, error) { return f.record("suspend", p) }
func (f *fakeAdmin) Resume(_ context.Context, p string) (any, error)  { return f.record("resume", p) }
func (f *fakeAdmin) Unbind(_ context.Context, p string) (any, error)  { return f.record("unbind", p) }
func (f *fakeAdmin) Rebind(_ context.Context, p string) (any, error)  { return f.record("rebind", p) }
func (f *fakeAdmin) Drain(context.Context) (any, error)               { return f.record("drain", "") }

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func do(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestAdminEndpoints(t *testing.T) {
	tests := []struct {
		name, method, path, token string
		code                      int
		action                    string // recorded by the fake, "" for none
	}{
		{"suspend", "POST", "/admin/partners/demo/suspend", "sesame", 200, "suspend demo"},
		{"resume", "POST", "/admin/partners/demo/resume", "sesame", 200, "resume demo"},
		{"unbind", "POST", "/admin/partners/demo/unbind", "sesame", 200, "unbind demo"},
		{"rebind", "POST", "/admin/partners/demo/rebind", "sesame", 200, "rebind demo"},
		{"end", "POST", "/admin/sessions/abc@host/end", "sesame", 200, "end abc@host"},
		{"drain", "POST", "/admin/drain", "sesame", 200, "drain "},
		{"sessions", "GET", "/admin/sessions", "sesame", 200, ""},
		{"status", "GET", "/admin/status", "sesame", 200, ""},
		{"unknown partner", "POST", "/admin/partners/nobody/suspend", "sesame", 404, ""},
		{"not applicable", "POST", "/admin/partners/sip-only/unbind", "sesame", 409, ""},
		{"GET of an action", "GET", "/admin/drain", "sesame", 405, ""},
		{"PUT of an action", "PUT", "/admin/partners/demo/suspend", "sesame", 405, ""},
		{"no token", "POST", "/admin/drain", "", 401, ""},
		{"wrong token", "POST", "/admin/drain", "sesam", 401, ""},
		{"status token is not the admin token", "POST", "/admin/drain", "viewer", 401, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fa := &fakeAdmin{}
			var logs syncBuffer
			srv := serveTest(t, Options{Admin: fa, AdminToken: "sesame", Token: "viewer",
				Snapshot: fixed(testSnapshot(1)), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			code, body := do(t, tc.method, srv.URL+tc.path, tc.token)
			if code != tc.code {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, code, body, tc.code)
			}
			if got := fa.actions(); got != tc.action {
				t.Fatalf("actions %q, want %q", got, tc.action)
			}
			if tc.method == "POST" && code != 401 && code != 405 {
				// Every action is logged with who asked.
				if l := logs.String(); !strings.Contains(l, `msg="admin action"`) || !strings.Contains(l, "remote=127.0.0.1:") {
					t.Fatalf("action not logged:\n%s", l)
				}
			}
		})
	}
}

// Without an admin token the admin API does not exist.
func TestAdminOffWithoutToken(t *testing.T) {
	fa := &fakeAdmin{}
	srv := serveTest(t, Options{Admin: fa})
	for _, p := range []string{"/admin/drain", "/admin/partners/demo/suspend"} {
		if code, _ := do(t, "POST", srv.URL+p, "x"); code != 404 {
			t.Fatalf("POST %s: %d, want 404", p, code)
		}
	}
	if fa.actions() != "" {
		t.Fatalf("actions %q", fa.actions())
	}
}
