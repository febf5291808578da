package smpp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func fieldPaths(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, fe.Path)
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

func TestClientConfigValidate(t *testing.T) {
	good := func() ClientConfig { return clientConfig("smsc.example.net:2775") }
	tests := []struct {
		name  string
		edit  func(*ClientConfig)
		paths []string
	}{
		{"good", func(*ClientConfig) {}, nil},
		{"defaults only", func(c *ClientConfig) { *c = DefaultClientConfig(); c.Partner, c.Address, c.SystemID = "p", "h:1", "id" }, nil},
		{"no partner", func(c *ClientConfig) { c.Partner = "" }, []string{"partner"}},
		{"address without port", func(c *ClientConfig) { c.Address = "smsc" }, []string{"address"}},
		{"port out of range", func(c *ClientConfig) { c.Address = "smsc:70000" }, []string{"address"}},
		{"system_id too long", func(c *ClientConfig) { c.SystemID = strings.Repeat("s", 16) }, []string{"system_id"}},
		{"password too long", func(c *ClientConfig) { c.Password = "123456789" }, []string{"password"}},
		{"bad mode", func(c *ClientConfig) { c.Mode = "duplex" }, []string{"mode"}},
		{"window too big", func(c *ClientConfig) { c.Window = 5000 }, []string{"window"}},
		{"negative throughput", func(c *ClientConfig) { c.Throughput = -1 }, []string{"throughput"}},
		{"rebind max below min", func(c *ClientConfig) { c.RebindMin, c.RebindMax = time.Minute, time.Second }, []string{"rebind_max"}},
		{"negative throttle", func(c *ClientConfig) { c.ThrottleMin = -time.Second }, []string{"throttle_min"}},
		{"too many retries", func(c *ClientConfig) { c.MsgQFullRetries = 1000 }, []string{"msgqful_retries"}},
		{"several at once", func(c *ClientConfig) { c.Window, c.Binds = -1, 100 }, []string{"binds", "window"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.edit(&c)
			err := c.Validate()
			got := fieldPaths(err)
			if strings.Join(got, ",") != strings.Join(tc.paths, ",") {
				t.Fatalf("paths %v, want %v (%v)", got, tc.paths, err)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("%v does not match ErrInvalidConfig", err)
			}
		})
	}
}

func TestServerConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   ServerConfig
		paths []string
	}{
		{"good", serverConfig(acme()), nil},
		{"no partners is allowed", ServerConfig{}, nil},
		{"partner without password", serverConfig(ServerPartner{Name: "a", SystemID: "a"}), []string{"partners[0].password"}},
		{"duplicate system_id", serverConfig(acme(), ServerPartner{Name: "b", SystemID: "acme", Password: "x"}), []string{"partners[1].system_id"}},
		{"duplicate name", serverConfig(acme(), ServerPartner{Name: "acme", SystemID: "b", Password: "x"}), []string{"partners[1].name"}},
		{"bad window and binds", serverConfig(ServerPartner{Name: "a", SystemID: "a", Password: "p", Window: -2, MaxBinds: 5000}),
			[]string{"partners[0].max_binds", "partners[0].window"}},
		{"negative timeout", ServerConfig{IdleTimeout: -time.Second}, []string{"idle_timeout"}},
		{"negative budget", ServerConfig{MaxConnections: -1, MaxPerSource: -2}, []string{"max_connections", "max_per_source"}},
		{"write queue too small", ServerConfig{WriteQueue: 2}, []string{"write_queue"}},
		{"bind back-off max below min", ServerConfig{BindBackoffMin: time.Minute, BindBackoffMax: time.Second}, []string{"bind_backoff_max"}},
		{"allowed sources", serverConfig(ServerPartner{Name: "a", SystemID: "a", Password: "p",
			AllowedSources: []string{"192.0.2.0/24", "10.0.0.0/33", "2001:db8::1", "smsc.example.net"}}),
			[]string{"partners[0].allowed_sources[1]", "partners[0].allowed_sources[3]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := fieldPaths(tc.cfg.Validate())
			if strings.Join(got, ",") != strings.Join(tc.paths, ",") {
				t.Fatalf("paths %v, want %v", got, tc.paths)
			}
		})
	}
}

func TestPrefix(t *testing.T) {
	err := Prefix("partners[2].smpp.client", ClientConfig{Address: "x:1", SystemID: "s"}.Validate())
	if got := fieldPaths(err); len(got) != 1 || got[0] != "partners[2].smpp.client.partner" {
		t.Errorf("paths %v", got)
	}
	if !strings.Contains(err.Error(), "smpp: partners[2].smpp.client.partner: required") {
		t.Errorf("message %q", err)
	}
}

// TestConfigYAML decodes testdata/config.yaml the way the config loader
// does (unknown keys rejected) and validates it.
func TestConfigYAML(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Server ServerConfig `yaml:"server"`
		Client ClientConfig `yaml:"client"`
	}
	doc.Client = DefaultClientConfig()
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if err := doc.Server.Validate(); err != nil {
		t.Error(err)
	}
	if err := doc.Client.Validate(); err != nil {
		t.Error(err)
	}
	if doc.Client.EnquireLink != 45*time.Second || doc.Client.Mode != ModeTxRx || doc.Client.MsgQFullRetries != 3 {
		t.Errorf("client %+v", doc.Client)
	}
	if p := doc.Server.Partners[0]; p.Window != 50 || !p.RequireTLS || len(p.AllowedSources) != 2 {
		t.Errorf("partner %+v", p)
	}
	if s := doc.Server; s.MaxConnections != 256 || s.MaxPerSource != 16 || s.WriteQueue != 512 ||
		s.BindBackoffMin != 2*time.Second || s.BindBackoffMax != 5*time.Minute {
		t.Errorf("server %+v", s)
	}
	if _, err := NewClient(doc.Client, DeliverHandlerFunc(func(context.Context, string, *Message) error { return nil }), nil); err != nil {
		t.Error(err)
	}
}
