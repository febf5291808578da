package sipstack

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/listener"
	"iwf/internal/testutil"
)

// startStack runs a Stack on loopback ports picked by the system, after
// register has added its handlers, and stops it when the test ends.
func startStack(t testing.TB, cfg Config, register func(*Stack)) *Stack {
	t.Helper()
	s, err := New(cfg, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if register != nil {
		register(s)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	<-s.Ready()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

func loopback(advertise string) Config {
	return Config{Listen: []Listener{
		{Transport: "udp", Address: "127.0.0.1:0", Advertise: advertise},
		{Transport: "tcp", Address: "127.0.0.1:0", Advertise: advertise},
	}}
}

// do sends a request of method from client stack c to server stack s over
// transport and returns the final response.
func do(t *testing.T, c, s *Stack, transport string, method sip.RequestMethod) *sip.Response {
	t.Helper()
	cl, err := c.Client(transport)
	if err != nil {
		t.Fatal(err)
	}
	uri := sip.Uri{Scheme: "sip", User: "iwf", Host: "127.0.0.1", Port: portOf(t, s, transport)}
	req := sip.NewRequest(method, uri)
	req.SetTransport(strings.ToUpper(transport))
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "test", Host: c.Domain()}, Params: tagParams("t1")})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := cl.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func tagParams(tag string) sip.HeaderParams {
	p := sip.NewParams()
	p.Add("tag", tag)
	return p
}

func portOf(t *testing.T, s *Stack, transport string) int {
	t.Helper()
	a := s.Addr(transport)
	if a == nil {
		t.Fatalf("no %s listener", transport)
	}
	_, p, err := splitHostPort(a.String(), true)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOptionsAndNotAllowed(t *testing.T) {
	server := startStack(t, loopback(""), func(s *Stack) {
		s.Server().OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 202, "Accepted", nil))
		})
	})
	client := startStack(t, loopback(""), nil)
	for _, tp := range []string{"udp", "tcp"} {
		t.Run(tp, func(t *testing.T) {
			res := do(t, client, server, tp, sip.OPTIONS)
			allow := res.GetHeader("Allow")
			if res.StatusCode != 200 || allow == nil || !strings.Contains(allow.Value(), "MESSAGE") || !strings.Contains(allow.Value(), "OPTIONS") {
				t.Fatalf("OPTIONS: %v", res)
			}
			res = do(t, client, server, tp, sip.SUBSCRIBE)
			if res.StatusCode != 405 || res.GetHeader("Allow") == nil {
				t.Fatalf("SUBSCRIBE: %v", res)
			}
		})
	}
}

// TestAdvertise checks that Via carries the advertised address, and that
// UDP requests leave from the listening socket.
func TestAdvertise(t *testing.T) {
	var mu sync.Mutex
	var vias, sources []string
	server := startStack(t, loopback(""), func(s *Stack) {
		s.Server().OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
			mu.Lock()
			vias = append(vias, req.Via().Host)
			sources = append(sources, req.Source())
			mu.Unlock()
			_ = tx.Respond(sip.NewResponseFromRequest(req, 202, "Accepted", nil))
		})
	})
	client := startStack(t, loopback("iwf.example.net"), nil)
	res := do(t, client, server, "udp", sip.MESSAGE)
	if res.StatusCode != 202 {
		t.Fatal(res)
	}
	res = do(t, client, server, "tcp", sip.MESSAGE)
	if res.StatusCode != 202 {
		t.Fatal(res)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(vias) != 2 || vias[0] != "iwf.example.net" || vias[1] != "iwf.example.net" {
		t.Fatalf("Via hosts %q", vias)
	}
	if sources[0] != client.Addr("udp").String() {
		t.Fatalf("UDP request came from %s, not the listener %s", sources[0], client.Addr("udp"))
	}
	c := client.Contact("tcp", "iwf")
	if c.Host != "iwf.example.net" || c.Port != portOf(t, client, "tcp") || c.UriParams.GetOr("transport", "") != "tcp" {
		t.Fatalf("Contact %s", c.String())
	}
	if client.Domain() != "iwf.example.net" {
		t.Fatal(client.Domain())
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		path string
	}{
		{"default", DefaultConfig(), ""},
		{"no listener", Config{}, "listen"},
		{"bad transport", Config{Listen: []Listener{{Transport: "sctp", Address: "127.0.0.1:5060"}}}, "listen[0].transport"},
		{"two udp", Config{Listen: []Listener{{Transport: "udp", Address: "127.0.0.1:5060"}, {Transport: "UDP", Address: "127.0.0.1:5062"}}}, "listen[1].transport"},
		{"no port", Config{Listen: []Listener{{Transport: "udp", Address: "127.0.0.1"}}}, "listen[0].address"},
		{"bad advertise", Config{Listen: []Listener{{Transport: "udp", Address: "127.0.0.1:0", Advertise: "h:x"}}}, "listen[0].advertise"},
		{"tls without files", Config{Listen: []Listener{{Transport: "tls", Address: "127.0.0.1:0"}}}, "listen[0].cert_file"},
		{"bad domain", Config{Listen: DefaultConfig().Listen, Domain: "a b"}, "domain"},
		{"negative budget", Config{Listen: DefaultConfig().Listen, Budget: listener.Budget{MaxConnections: -1}}, "max_connections"},
		{"negative budget per source", Config{Listen: DefaultConfig().Listen, Budget: listener.Budget{MaxPerSource: -1}}, "max_per_source"},
		{"negative first request timeout", Config{Listen: DefaultConfig().Listen, FirstRequestTimeout: -time.Second}, "first_request_timeout"},
		{"negative idle timeout", Config{Listen: DefaultConfig().Listen, IdleTimeout: -time.Second}, "idle_timeout"},
		{"negative write timeout", Config{Listen: DefaultConfig().Listen, WriteTimeout: -time.Second}, "write_timeout"},
		{"negative pending requests", Config{Listen: DefaultConfig().Listen, MaxPendingRequests: -1}, "max_pending_requests"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.path == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Path != tc.path || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("%v, want a fault at %s", err, tc.path)
			}
			if p := Prefix("sip", err); !strings.Contains(p.Error(), "sipstack: sip."+tc.path) {
				t.Fatalf("Prefix: %v", p)
			}
		})
	}
}

func TestListenErrorsAndClose(t *testing.T) {
	a, err := New(loopback(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	taken := Config{Listen: []Listener{{Transport: "udp", Address: a.Addr("udp").String()}}}
	b, err := New(taken, nil)
	if err != nil {
		t.Fatal(err)
	}
	var le *ListenError
	if err := b.Listen(); !errors.As(err, &le) || le.Transport != "udp" {
		t.Fatalf("second bind: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := a.Listen(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Listen after Close: %v", err)
	}
	if _, err := a.Client("udp"); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCloseStopsRun(t *testing.T) {
	s, err := New(loopback(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Run(context.Background()) }()
	<-s.Ready()
	client := startStack(t, loopback(""), nil)
	if res := do(t, client, s, "udp", sip.OPTIONS); res.StatusCode != 200 {
		t.Fatal(res)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
}
