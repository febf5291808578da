package session_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"iwf/internal/cfgerr"
	"iwf/session"
	"iwf/session/msrp"
)

// faults lists the field paths of the *cfgerr.FieldErrors in err.
func faults(err error) []string {
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			var fe *cfgerr.FieldError
			if errors.As(e, &fe) {
				out = append(out, fe.Path)
			}
		}
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	valid := func() session.Config {
		c := session.DefaultConfig()
		c.Host = "127.0.0.1"
		return c
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("defaults with a host: %v", err)
	}
	tests := []struct {
		name   string
		mod    func(*session.Config)
		fields []string // none: still valid
		want   string
	}{
		{"relay", func(c *session.Config) {
			c.Relay = &session.RelayConfig{URI: "msrps://relay.example.net;tcp", Username: "u", Password: "p"}
		}, nil, ""},
		{"port", func(c *session.Config) { c.Port = 65536 }, []string{"port"}, "out of range"},
		{"no host", func(c *session.Config) { c.Host = "" }, []string{"host"}, "peers need an address"},
		{"window", func(c *session.Config) { c.Window = 0 }, []string{"window"}, "must be positive"},
		{"timeout", func(c *session.Config) { c.TransactionTimeout = -time.Second }, []string{"transaction_timeout"}, "must be positive"},
		{"max chunk", func(c *session.Config) { c.Limits.MaxChunk = 0 }, []string{"max_chunk"}, "must be positive"},
		{"solo below chunk", func(c *session.Config) { c.ChunkSize, c.SoloChunkSize = 4096, 1024 }, []string{"solo_chunk_size"}, "below chunk_size 4096"},
		{"header bytes", func(c *session.Config) { c.Limits.MaxHeaderBytes = 512 }, []string{"max_header_bytes"}, "at least 1024"},
		{"no header bytes", func(c *session.Config) { c.Limits.MaxHeaderBytes = 0 }, []string{"max_header_bytes", "max_header_bytes"}, "must be positive"},
		{"idle timeout", func(c *session.Config) { c.IdleTimeout = 0 }, []string{"idle_timeout"}, "must be positive"},
		{"queued messages", func(c *session.Config) { c.MaxQueuedMessages = 0 }, []string{"max_queued_messages"}, "must be positive"},
		{"keepalive negative", func(c *session.Config) { c.KeepaliveInterval = -time.Second }, []string{"keepalive_interval"}, "negative"},
		{"keepalive off", func(c *session.Config) { c.KeepaliveInterval = 0 }, nil, ""},
		{"keepalive above idle timeout", func(c *session.Config) { c.KeepaliveInterval = c.IdleTimeout }, []string{"keepalive_interval"}, "below idle_timeout"},
		{"write queue below a frame", func(c *session.Config) { c.MaxWriteQueue = 4096 }, []string{"max_write_queue"}, "below max_header_bytes 16384"},
		{"incomplete bytes below max-size", func(c *session.Config) { c.MaxIncompleteBytes = c.MaxMessageSize - 1 }, []string{"max_incomplete_bytes"}, "could never be reassembled"},
		{"incomplete total below per session", func(c *session.Config) { c.MaxIncompleteBytesTotal = c.MaxIncompleteBytes / 2 }, []string{"max_incomplete_bytes_total"}, "below max_incomplete_bytes"},
		{"no incomplete bytes", func(c *session.Config) { c.MaxIncompleteBytes, c.MaxIncompleteBytesTotal = 0, 0 }, []string{"max_incomplete_bytes", "max_incomplete_bytes_total"}, "must be positive"},
		{"negative budget", func(c *session.Config) { c.Budget.MaxConnections, c.Budget.MaxPerSource = -1, -2 }, []string{"max_connections", "max_per_source"}, "negative"},
		{"no budget", func(c *session.Config) { c.Budget.MaxConnections = 0 }, nil, ""},
		{"tls_verify fingerprint", func(c *session.Config) { c.TLSVerify = session.VerifyFingerprint }, nil, ""},
		{"tls_verify ca", func(c *session.Config) { c.TLSVerify = session.VerifyCA }, nil, ""},
		{"tls_verify unknown", func(c *session.Config) { c.TLSVerify = "none" }, []string{"tls_verify"}, "not one of either, fingerprint, ca"},
		{"tls_verify empty", func(c *session.Config) { c.TLSVerify = "" }, []string{"tls_verify"}, "not one of"},
		{"relay uri", func(c *session.Config) {
			c.Relay = &session.RelayConfig{URI: "http://x", Username: "u", Password: "p"}
		}, []string{"relay.uri"}, ""},
		{"relay credentials", func(c *session.Config) {
			c.Relay = &session.RelayConfig{URI: "msrps://relay.example.net;tcp", Expires: -time.Second}
		}, []string{"relay.username", "relay.password", "relay.expires"}, "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mod(&c)
			err := c.Validate()
			if len(tc.fields) == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if got := faults(err); !slices.Equal(got, tc.fields) || !errors.Is(err, session.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v (fields %q), want faults at %q saying %q", err, got, tc.fields, tc.want)
			}
		})
	}
}

// TestNewEndpointConfig: zero fields take the defaults, a fault that
// remains is refused.
func TestNewEndpointConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  session.Config
		want string // "" = accepted
	}{
		{"zero with a host", session.Config{Host: "127.0.0.1"}, ""},
		{"large shared chunks", session.Config{Host: "127.0.0.1", ChunkSize: 1 << 20}, ""},
		{"relay without expiry", session.Config{Host: "127.0.0.1", Relay: &session.RelayConfig{URI: "msrp://127.0.0.1:1;tcp", Username: "u", Password: "p"}}, ""},
		{"large max-size raises the reassembly bounds", session.Config{Host: "127.0.0.1", MaxMessageSize: 1 << 30}, ""},
		{"incomplete bytes below max-size", session.Config{Host: "127.0.0.1", MaxMessageSize: 1 << 30, MaxIncompleteBytes: 1 << 20}, "max_incomplete_bytes"},
		{"no host", session.Config{}, "host"},
		{"solo below chunk", session.Config{Host: "127.0.0.1", ChunkSize: 4096, SoloChunkSize: 1024}, "solo_chunk_size"},
		{"negative window", session.Config{Host: "127.0.0.1", Window: -1}, "window"},
		{"unknown tls_verify", session.Config{Host: "127.0.0.1", TLSVerify: "off"}, "tls_verify"},
		{"small header limit", session.Config{Host: "127.0.0.1", Limits: msrp.Limits{MaxHeaderBytes: 100}}, "max_header_bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep, err := session.NewEndpoint(tc.cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if err := ep.Close(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, session.ErrInvalidConfig) || !slices.Contains(faults(err), tc.want) {
				t.Fatalf("got %v, want a fault at %s", err, tc.want)
			}
		})
	}
}
