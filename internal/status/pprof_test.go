package status

import (
	"io"
	"net/http"
	rpprof "runtime/pprof"
	"strings"
	"testing"
)

// gzipMagic starts every profile runtime/pprof writes (gzipped protobuf).
const gzipMagic = "\x1f\x8b"

// TestPprofOff: without a pprof token nothing under /debug/pprof/ exists,
// whatever the request carries, and the status token opens nothing there.
func TestPprofOff(t *testing.T) {
	srv := serveTest(t, Options{Token: "status-secret"})
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1", "/debug/pprof/cmdline", "/debug/pprof/trace?seconds=1"} {
		t.Run(path, func(t *testing.T) {
			for _, auth := range []string{"", "Bearer status-secret", "Bearer anything"} {
				resp, body := get(t, srv, path, "Authorization", auth)
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("Authorization %q: status %d, want 404: %.80q", auth, resp.StatusCode, body)
				}
			}
		})
	}
}

// TestPprofToken: with a pprof token, a request without it or with
// another (the status token included) gets 401 and a Bearer challenge,
// and no profile.
func TestPprofToken(t *testing.T) {
	srv := serveTest(t, Options{Token: "status-secret", PprofToken: "pprof-secret-0123456789"})
	tests := []struct {
		name, auth, challenge string
	}{
		{"none", "", `Bearer realm="iwf"`},
		{"wrong", "Bearer pprof-secret-012345678", `Bearer realm="iwf", error="invalid_token"`},
		{"status token", "Bearer status-secret", `Bearer realm="iwf", error="invalid_token"`},
		{"other scheme", "Basic pprof-secret-0123456789", `Bearer realm="iwf"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, srv, "/debug/pprof/heap", "Authorization", tc.auth)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.challenge)
			}
			if strings.HasPrefix(body, gzipMagic) {
				t.Error("a profile was served")
			}
		})
	}
}

// TestPprofServed: the right token gets the index, a heap profile and a
// one-second CPU profile, each a real profile.
func TestPprofServed(t *testing.T) {
	const token = "pprof-secret-0123456789"
	srv := serveTest(t, Options{PprofToken: token})
	auth := []string{"Authorization", "Bearer " + token}

	resp, body := get(t, srv, "/debug/pprof/", auth...)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "allocs") {
		t.Fatalf("index: status %d: %.200q", resp.StatusCode, body)
	}
	for _, path := range []string{"/debug/pprof/heap", "/debug/pprof/allocs", "/debug/pprof/profile?seconds=1"} {
		resp, body := get(t, srv, path, auth...)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %.200q", path, resp.StatusCode, body)
		}
		if !strings.HasPrefix(body, gzipMagic) {
			t.Errorf("%s: not a profile: %.40q", path, body)
		}
	}
	resp, body = get(t, srv, "/debug/pprof/trace?seconds=1", auth...)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "go 1.") {
		t.Errorf("trace: status %d: %.40q", resp.StatusCode, body)
	}
}

// TestPprofBadRequests: a duration out of range is refused before any
// sampling, and a second CPU profile while one runs is a conflict, not a
// broken profile.
func TestPprofBadRequests(t *testing.T) {
	const token = "pprof-secret-0123456789"
	srv := serveTest(t, Options{PprofToken: token})
	auth := []string{"Authorization", "Bearer " + token}
	for _, sec := range []string{"0", "-1", "301", "x"} {
		resp, _ := get(t, srv, "/debug/pprof/profile?seconds="+sec, auth...)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("seconds=%s: status %d, want 400", sec, resp.StatusCode)
		}
	}
	if err := rpprof.StartCPUProfile(io.Discard); err != nil {
		t.Fatal(err)
	}
	defer rpprof.StopCPUProfile()
	resp, body := get(t, srv, "/debug/pprof/profile?seconds=1", auth...)
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("while profiling: status %d, want 409: %.80q", resp.StatusCode, body)
	}
}
