package main

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"iwf/internal/sipstack"
	"iwf/interwork"
	"iwf/pager"
	"iwf/pager/split"
	"iwf/session"
	"iwf/session/sipsession"
	"iwf/smpp"
)

// testEnv are the secrets the example files read from the environment.
var testEnv = map[string]string{
	"IWF_REDIS_PASSWORD":      "redis-secret",
	"IWF_STATUS_TOKEN":        "status-token",
	"IWF_MSRP_RELAY_PASSWORD": "from-env",
	"IWF_SMSC_UK_PASSWORD":    "uk-pw",
	"IWF_PEER_FR_PASSWORD":    "fr-pw",
}

func setTestEnv(t *testing.T) {
	t.Helper()
	for k, v := range testEnv {
		t.Setenv(k, v)
	}
}

// baseYAML is a valid configuration the tests change: partners[1] ends
// the file, so appended lines indented by four spaces are its keys, and
// by ten spaces keys of its clients[0].
const baseYAML = `rcs:
  trunk: {next_hop: "sip:127.0.0.1:5070;transport=tcp"}
  pager: {allowed_sources: [127.0.0.0/8]}
smpp:
  server: {listen: "127.0.0.1:2775"}
partners:
  - name: alpha
    routing: {numbers: ["+44"], domains: [alpha.example]}
    smpp:
      server: {system_id: alpha, password: secret}
    sip: {next_hop: "sip:127.0.0.1:5080", allowed_sources: [127.0.0.1]}
  - name: beta
    routing: {numbers: ["+33"]}
    smpp:
      clients:
        - address: 127.0.0.1:2776
          system_id: beta
`

func parseBase(t *testing.T) Config {
	t.Helper()
	cfg, err := ParseConfig([]byte(baseYAML))
	if err != nil {
		t.Fatalf("base config: %v", err)
	}
	return cfg
}

// paths lists the paths of the *FieldErrors in err.
func paths(err error) []string {
	var out []string
	for _, e := range leaves(err) {
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, fe.Path)
		}
	}
	return out
}

func TestConfigsLoad(t *testing.T) {
	setTestEnv(t)
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("configs: %v %v", files, err)
	}
	vectors, _ := filepath.Glob("../../configs/testdata/*.yaml")
	for _, f := range append(files, vectors...) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := LoadConfig(f)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MSRP.Endpoint.Relay != nil && cfg.MSRP.Endpoint.Relay.Password != "from-env" {
				t.Fatalf("secret not read from the environment: %q", cfg.MSRP.Endpoint.Relay.Password)
			}
			for _, s := range cfg.secrets() {
				if strings.Contains(*s.v, "${") {
					t.Fatalf("%s not expanded: %q", s.path, *s.v)
				}
			}
		})
	}
}

// TestDemoConfig holds configs/iwf.yaml to what the demo promises: it
// runs on a fresh machine with nothing but loopback and an embedded
// store.
func TestDemoConfig(t *testing.T) {
	cfg, err := LoadConfig("../../configs/iwf.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.Addr != "" {
		t.Errorf("store.addr %q: the demo uses the embedded store", cfg.Store.Addr)
	}
	listen := map[string]string{
		"msrp.listen": cfg.MSRP.Listen, "status.listen": cfg.Status.Listen, "smpp.server.listen": cfg.SMPP.Server.Listen,
	}
	for _, l := range cfg.SIP.Stack.Listen {
		listen["sip "+l.Transport] = l.Address
	}
	for k, addr := range listen {
		host, _, err := net.SplitHostPort(addr)
		if err != nil || !netip.MustParseAddr(host).IsLoopback() {
			t.Errorf("%s %q is not a loopback address", k, addr)
		}
	}
	want := map[string]string{
		"msrp.listen": "127.0.0.1:2855", "status.listen": "127.0.0.1:8080", "smpp.server.listen": "127.0.0.1:2775",
		"sip udp": "127.0.0.1:5060", "sip tcp": "127.0.0.1:5060",
	}
	if !reflect.DeepEqual(listen, want) {
		t.Errorf("listeners %v, want %v", listen, want)
	}
	if cfg.RCS.Trunk.NextHop != "sip:127.0.0.1:5070;transport=tcp" || hopTransport(cfg.RCS.Trunk.NextHop, cfg.RCS.Trunk.Transport) != "tcp" {
		t.Errorf("rcs.trunk %+v", cfg.RCS.Trunk)
	}
	if len(cfg.Partners) != 1 {
		t.Fatalf("partners: %+v", cfg.Partners)
	}
	p := cfg.Partners[0]
	if p.Name != "demo" || !slices.Equal(p.Routing.Numbers, []string{"+"}) || p.DeliverVia != DeliverSMPP {
		t.Errorf("partner %+v", p)
	}
	sc := cfg.SMPPServerConfig()
	if len(sc.Partners) != 1 || sc.Partners[0].Name != "demo" || sc.Partners[0].SystemID != "demo" || sc.Partners[0].Password != "demo" {
		t.Errorf("smpp server partners %+v", sc.Partners)
	}
	tr := cfg.PagerTrunks()
	if len(tr) != 1 || tr[0].Partner != "demo" || tr[0].NextHop != "sip:127.0.0.1:5080" || !slices.Equal(tr[0].AllowedSources, []string{"127.0.0.0/8"}) {
		t.Errorf("pager trunks %+v", tr)
	}
	if pol := p.Policy(); pol.Promotion != interwork.PromoteAlways {
		t.Errorf("promotion %q", pol.Promotion)
	}
}

func TestProductionConfig(t *testing.T) {
	setTestEnv(t)
	cfg, err := LoadConfig("../../configs/iwf-production.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.Addr == "" || cfg.Store.Password != "redis-secret" || cfg.Status.Token != "status-token" || cfg.Status.Listen != "0.0.0.0:8080" {
		t.Errorf("store %+v status %+v", cfg.Store, cfg.Status)
	}
	if cfg.SIP.TLS == nil || cfg.MSRP.TLS == nil || cfg.SMPP.Server.TLS == nil {
		t.Errorf("TLS missing: sip %v msrp %v smpp %v", cfg.SIP.TLS, cfg.MSRP.TLS, cfg.SMPP.Server.TLS)
	}
	if len(cfg.Partners) < 3 {
		t.Fatalf("%d partners", len(cfg.Partners))
	}
	cl := cfg.SMPPClients()
	if len(cl) != 1 || cl[0].Mode != smpp.ModeTxRx || cl[0].Binds != 2 || cl[0].Throughput != 200 || cl[0].Password != "uk-pw" || cl[0].Partner != "smsc-uk" {
		t.Errorf("clients %+v", cl)
	}
	sp := cfg.SMPPServerConfig().Partners
	if len(sp) != 1 || sp[0].Password != "fr-pw" || !sp[0].RequireTLS {
		t.Errorf("server partners %+v", sp)
	}
	var promotions []interwork.Promotion
	for _, p := range cfg.Partners {
		promotions = append(promotions, p.Policy().Promotion)
	}
	if !slices.Contains(promotions, interwork.PromoteThreshold) {
		t.Errorf("no threshold promotion: %v", promotions)
	}
	// Issue 16: an SMS over IP partner, its service centre address
	// reaching the engine.
	i := slices.IndexFunc(cfg.Partners, func(p PartnerConfig) bool { return p.SIP != nil && p.SIP.SMSOverIP })
	if i < 0 {
		t.Fatal("no sms_over_ip partner")
	}
	if ip := interworkPartner(cfg.Partners[i]); !ip.SMSOverIP || ip.SCAddress != "+436640000999" {
		t.Errorf("sms_over_ip partner %s: flag %v, sc_address %q", ip.Name, ip.SMSOverIP, ip.SCAddress)
	}
}

// TestValidateRules breaks one rule at a time on a valid configuration
// and wants the fault named by its exact path.
func TestValidateRules(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
		path string // "" = still valid
		want string // part of the message
	}{
		{"base is valid", func(*Config) {}, "", ""},
		{"log level", func(c *Config) { c.LogLevel = "loud" }, "log_level", "not debug"},
		{"log format", func(c *Config) { c.LogFormat = "xml" }, "log_format", "not text or json"},
		{"node with space", func(c *Config) { c.Node = "a b" }, "node", "printable"},
		{"store addr", func(c *Config) { c.Store.Addr = "nowhere" }, "store.addr", "host:port"},
		{"store prefix brace", func(c *Config) { c.Store.Prefix = "{iwf}" }, "store.prefix", "braces"},
		{"store db", func(c *Config) { c.Store.DB = -1 }, "store.db", "negative"},
		{"store timeout", func(c *Config) { c.Store.ReadTimeout = -time.Second }, "store.read_timeout", "negative"},
		{"status listen", func(c *Config) { c.Status.Listen = "8080" }, "status.listen", "host:port"},
		{"status public without token", func(c *Config) { c.Status.Listen = "0.0.0.0:8080" }, "status.token",
			"required when status.listen is not a loopback address"},
		{"status all interfaces without token", func(c *Config) { c.Status.Listen = ":8080" }, "status.token", "required"},
		{"status public with token", func(c *Config) { c.Status.Listen, c.Status.Token = "0.0.0.0:8080", "t" }, "", ""},
		{"status ipv6 loopback", func(c *Config) { c.Status.Listen = "[::1]:8080" }, "", ""},
		{"status localhost", func(c *Config) { c.Status.Listen = "localhost:8080" }, "", ""},
		{"status off", func(c *Config) { c.Status.Listen = "" }, "", ""},
		{"pprof token short", func(c *Config) { c.Status.PprofToken = "short" }, "status.pprof_token", "5 characters; at least 16"},
		{"pprof token", func(c *Config) { c.Status.PprofToken = "0123456789abcdef" }, "", ""},
		{"drain grace", func(c *Config) { c.Drain.Grace = 0 }, "drain.grace", "positive"},
		{"msrp window", func(c *Config) { c.MSRP.Endpoint.Window = 0 }, "msrp.window", "must be positive"},
		{"msrp solo below chunk", func(c *Config) { c.MSRP.Endpoint.ChunkSize, c.MSRP.Endpoint.SoloChunkSize = 4096, 1024 }, "msrp.solo_chunk_size", "below"},
		{"msrp tls without key", func(c *Config) { c.MSRP.TLS = &TLSConfig{CertFile: "a.pem"} }, "msrp.tls.key_file", "empty"},
		{"msrp relay uri", func(c *Config) {
			c.MSRP.Endpoint.Relay = &session.RelayConfig{URI: "http://x", Username: "u", Password: "p"}
		}, "msrp.relay.uri", ""},
		{"msrp relay password", func(c *Config) {
			c.MSRP.Endpoint.Relay = &session.RelayConfig{URI: "msrps://r.example.net;tcp", Username: "u"}
		}, "msrp.relay.password", "empty"},
		{"sip transport", func(c *Config) { c.SIP.Stack.Listen[0].Transport = "sctp" }, "sip.listen[0].transport", "udp, tcp or tls"},
		{"sip no listener", func(c *Config) { c.SIP.Stack.Listen = nil }, "sip.listen", "at least one"},
		{"sip tls listener without certificate", func(c *Config) {
			c.SIP.Stack.Listen = append(c.SIP.Stack.Listen, sipstack.Listener{Transport: "tls", Address: "127.0.0.1:5061"})
		}, "sip.listen[2].cert_file", "cert_file"},
		{"sip tls listener with sip.tls", func(c *Config) {
			c.SIP.Stack.Listen = append(c.SIP.Stack.Listen, sipstack.Listener{Transport: "tls", Address: "127.0.0.1:5061"})
			c.SIP.TLS = &TLSConfig{CertFile: "c", KeyFile: "k"}
		}, "", ""},
		{"sip tls without key", func(c *Config) { c.SIP.TLS = &TLSConfig{CertFile: "c"} }, "sip.tls.key_file", "empty"},
		{"smpp server listen", func(c *Config) { c.SMPP.Server.Listen = "2775" }, "smpp.server.listen", "host:port"},
		{"smpp server pdu length", func(c *Config) { c.SMPP.Server.Server.MaxPDULen = 10 }, "smpp.server.max_pdu_len", "outside"},
		{"smpp server system id", func(c *Config) { c.SMPP.Server.Server.SystemID = "far-too-long-system-id" }, "smpp.server.system_id", "at most 15"},
		{"smpp server partners key", func(c *Config) {
			c.SMPP.Server.Server.Partners = []smpp.ServerPartner{{Name: "x", SystemID: "x", Password: "x"}}
		}, "smpp.server.partners", "partners[].smpp.server"},
		{"smpp server tls without cert", func(c *Config) { c.SMPP.Server.TLS = &TLSConfig{KeyFile: "k"} }, "smpp.server.tls.cert_file", "empty"},
		{"rcs next hop", func(c *Config) { c.RCS.Trunk.NextHop, c.RCS.Pager.NextHop = "", "" }, "rcs.trunk.next_hop", "missing"},
		{"rcs setup", func(c *Config) { c.RCS.Trunk.Setup = "passive" }, "rcs.trunk.setup", "actpass"},
		{"rcs pager sources", func(c *Config) { c.RCS.Pager.AllowedSources = nil }, "rcs.pager.allowed_sources", "required"},
		{"rcs pager source", func(c *Config) { c.RCS.Pager.AllowedSources = []string{"10.0.0.0/33"} }, "rcs.pager.allowed_sources[0]", "CIDR"},
		{"rcs accept types empty", func(c *Config) { c.RCS.AcceptTypes = nil }, "rcs.accept_types", "empty"},
		{"rcs accept type", func(c *Config) { c.RCS.AcceptTypes = []string{"text/plain", "text"} }, "rcs.accept_types[1]", "type/subtype"},
		{"rcs accept wildcard", func(c *Config) { c.RCS.AcceptTypes = []string{"message/cpim", "text/*", "*"} }, "", ""},
		{"rcs max size", func(c *Config) { c.RCS.MaxSize = c.MSRP.Endpoint.MaxMessageSize + 1 }, "rcs.max_size", "above msrp.max_message_size"},
		{"rcs max size negative", func(c *Config) { c.RCS.MaxSize = -1 }, "rcs.max_size", "negative"},
		{"rcs incoming sessions negative", func(c *Config) { c.RCS.Limits.MaxIncoming = -1 }, "rcs.max_incoming_sessions", "negative"},
		{"rcs incoming sessions per source negative", func(c *Config) { c.RCS.Limits.MaxIncomingPerSource = -1 }, "rcs.max_incoming_sessions_per_source", "negative"},
		{"rcs min se below rfc 4028", func(c *Config) { c.RCS.SessionTimer.MinSE = 30 * time.Second }, "rcs.min_se", "below 90s"},
		{"rcs session expires below min se", func(c *Config) { c.RCS.SessionTimer.Expires = 60 * time.Second }, "rcs.session_expires", "below min_se"},
		{"rcs session expires fraction", func(c *Config) { c.RCS.SessionTimer.Expires = 1800*time.Second + time.Millisecond }, "rcs.session_expires", "whole seconds"},
		{"rcs session timer off", func(c *Config) { c.RCS.SessionTimer.Expires = 0 }, "", ""},
		{"rcs privacy", func(c *Config) { c.RCS.Trunk.Privacy = "id;secret" }, "rcs.trunk.privacy", "priv-values"},
		{"rcs privacy id", func(c *Config) { c.RCS.Trunk.Privacy = "id;critical" }, "", ""},
		{"sip connections negative", func(c *Config) { c.SIP.Stack.Budget.MaxConnections = -1 }, "sip.max_connections", "negative"},
		{"sip idle timeout negative", func(c *Config) { c.SIP.Stack.IdleTimeout = -time.Second }, "sip.idle_timeout", "negative"},
		{"no partners", func(c *Config) { c.Partners = nil }, "partners", "at least one"},
		{"partner name", func(c *Config) { c.Partners[0].Name = "Alpha Co" }, "partners[0].name", "[a-z0-9_-]+"},
		{"partner name rcs", func(c *Config) { c.Partners[0].Name = "rcs" }, "partners[0].name", "RCS side"},
		{"partner name twice", func(c *Config) { c.Partners[1].Name = "alpha" }, "partners[1].name", "also partners[0].name"},
		{"routing number", func(c *Config) { c.Partners[0].Routing.Numbers = []string{"44"} }, "partners[0].routing.numbers[0]", "+ and at most 15 digits"},
		{"routing number too long", func(c *Config) { c.Partners[0].Routing.Numbers = []string{"+1234567890123456"} }, "partners[0].routing.numbers[0]", "15 digits"},
		{"routing number twice", func(c *Config) { c.Partners[1].Routing.Numbers = []string{"+33", "+44"} }, "partners[1].routing.numbers[1]",
			"also partners[0].routing.numbers[0]"},
		{"routing domain twice", func(c *Config) { c.Partners[1].Routing.Domains = []string{"ALPHA.example"} }, "partners[1].routing.domains[0]", "also"},
		{"routing domain", func(c *Config) { c.Partners[1].Routing.Domains = []string{"a b"} }, "partners[1].routing.domains[0]", "domain name"},
		{"routing every number", func(c *Config) { c.Partners[1].Routing.Numbers = []string{"+"} }, "", ""},
		{"deliver via", func(c *Config) { c.Partners[0].DeliverVia = "fax" }, "partners[0].deliver_via", "not smpp or sip"},
		{"deliver via smpp without smpp", func(c *Config) { c.Partners[0].SMPP.Server = nil }, "partners[0].deliver_via", "smpp needs"},
		{"deliver via sip without sip", func(c *Config) { c.Partners[1].DeliverVia = DeliverSIP }, "partners[1].deliver_via", "sip needs partners[1].sip"},
		{"server password", func(c *Config) { c.Partners[0].SMPP.Server.Password = "longer-than-8" }, "partners[0].smpp.server.password", "at most 8"},
		{"server system id required", func(c *Config) { c.Partners[0].SMPP.Server.SystemID = "" }, "partners[0].smpp.server.system_id", "required"},
		{"server window", func(c *Config) { c.Partners[0].SMPP.Server.Window = 5000 }, "partners[0].smpp.server.window", "outside"},
		{"server system id twice", func(c *Config) {
			c.Partners[1].SMPP.Server = &smpp.ServerPartner{Name: "beta", SystemID: "alpha", Password: "x"}
		}, "partners[1].smpp.server.system_id", "also partners[0].smpp.server.system_id"},
		{"server require tls", func(c *Config) { c.Partners[0].SMPP.Server.RequireTLS = true }, "partners[0].smpp.server.require_tls", "smpp.server.tls"},
		{"server without listener", func(c *Config) { c.SMPP.Server.Listen = "" }, "partners[0].smpp.server", "no SMPP server"},
		{"server name", func(c *Config) { c.Partners[0].SMPP.Server.Name = "other" }, "partners[0].smpp.server.name", "leave it out"},
		{"client window", func(c *Config) { c.Partners[1].SMPP.Clients[0].Window = 5000 }, "partners[1].smpp.clients[0].window", "outside 1..1000"},
		{"client address", func(c *Config) { c.Partners[1].SMPP.Clients[0].Address = "smsc" }, "partners[1].smpp.clients[0].address", "host:port"},
		{"client mode", func(c *Config) { c.Partners[1].SMPP.Clients[0].Mode = "rx" }, "partners[1].smpp.clients[0].mode", "transceiver"},
		{"client partner", func(c *Config) { c.Partners[1].SMPP.Clients[0].Partner = "other" }, "partners[1].smpp.clients[0].partner", "leave it out"},
		{"client rebind", func(c *Config) {
			c.Partners[1].SMPP.Clients[0].RebindMin, c.Partners[1].SMPP.Clients[0].RebindMax = time.Minute, time.Second
		}, "partners[1].smpp.clients[0].rebind_max", "below"},
		{"sms coding", func(c *Config) { c.Partners[0].SMPP.SMS.Coding = "latin9" }, "partners[0].smpp.sms.coding", "auto, gsm7 or ucs2"},
		{"sms packed ucs2", func(c *Config) {
			c.Partners[0].SMPP.SMS.Coding, c.Partners[0].SMPP.SMS.Packed = interwork.CodingUCS2, true
		},
			"partners[0].smpp.sms.packed", "GSM-7"},
		{"sms style", func(c *Config) { c.Partners[0].SMPP.SMS.Style = "udh9" }, "partners[0].smpp.sms.style", "udh8, udh16, sar or payload"},
		{"sms max segments", func(c *Config) { c.Partners[0].SMPP.SMS.MaxSegments = 256 }, "partners[0].smpp.sms.max_segments", "1..255"},
		{"sms overflow", func(c *Config) { c.Partners[0].SMPP.SMS.Overflow = "drop" }, "partners[0].smpp.sms.overflow", "split, truncate or reject"},
		{"sms marker", func(c *Config) { c.Partners[0].SMPP.SMS.Marker = "\x00" }, "partners[0].smpp.sms.marker", "printable"},
		{"sms reassembly", func(c *Config) { c.Partners[0].SMPP.SMS.ReassemblyTimeout = 0 }, "partners[0].smpp.sms.reassembly_timeout", "positive"},
		{"sms incomplete", func(c *Config) { c.Partners[0].SMPP.SMS.Incomplete = "drop" }, "partners[0].smpp.sms.incomplete", "deliver or fail"},
		{"smpp numbering", func(c *Config) { c.Partners[0].SMPP.Numbering.TrunkPrefix = "0" }, "partners[0].smpp.numbering.country_code", "trunk_prefix"},
		{"smpp short codes", func(c *Config) { c.Partners[0].SMPP.Numbering.ShortCodeMax = 20 }, "partners[0].smpp.numbering.short_code_max", "outside"},
		{"sip next hop", func(c *Config) { c.Partners[0].SIP.NextHop = "" }, "partners[0].sip.next_hop", "required"},
		{"same source at two trunks", func(c *Config) { c.Partners[0].SIP.AllowedSources = []string{"127.0.0.0/8"} },
			"partners[0].sip.allowed_sources[0]", "also rcs.pager.allowed_sources[0]"},
		{"same address at two trunks", func(c *Config) {
			c.Partners[1].SIP = &pager.Trunk{NextHop: "sip:127.0.0.1:5090", AllowedSources: []string{"127.0.0.1/32"}}
		}, "partners[1].sip.allowed_sources[0]", "also partners[0].sip.allowed_sources[0]"},
		{"nested sources", func(c *Config) { c.Partners[0].SIP.AllowedSources = []string{"127.0.0.0/16"} }, "", ""},
		{"sip sources", func(c *Config) { c.Partners[0].SIP.AllowedSources = []string{"nowhere"} }, "partners[0].sip.allowed_sources[0]", "not an address"},
		{"sip number", func(c *Config) { c.Partners[0].SIP.Numbers = []string{"+"} }, "partners[0].sip.numbers[0]", "E.164"},
		{"sip overflow marker", func(c *Config) {
			m := strings.Repeat("x", 1300)
			c.Partners[0].SIP.Overflow.Marker = &m
		}, "partners[0].sip.overflow.marker", "max_body_bytes"},
		{"sip numbering", func(c *Config) { c.Partners[0].SIP.Numbering.CountryCode = "x" }, "partners[0].sip.numbering.country_code", ""},
		{"session promotion", func(c *Config) { c.Partners[0].Session.Promotion = "sometimes" }, "partners[0].session.promotion", "always, threshold or never"},
		{"session threshold", func(c *Config) { c.Partners[1].Session.Threshold = 0 }, "partners[1].session.threshold", "at least 1"},
		{"tls next hop without tls listener", func(c *Config) { c.Partners[0].SIP.NextHop = "sips:sbc.example.net" },
			"partners[0].sip.next_hop", "needs a tls listener"},
		{"tcp rcs hop without tcp listener", func(c *Config) { c.SIP.Stack.Listen = c.SIP.Stack.Listen[:1] }, "rcs.trunk.next_hop", "needs a tcp listener"},
		{"rcs pager transport", func(c *Config) { c.RCS.Pager.Transport = "tls" }, "rcs.pager.next_hop", "needs a tls listener"},
		{"status on the msrp port", func(c *Config) { c.Status.Listen = c.MSRP.Listen }, "status.listen", "overlaps msrp.listen"},
		{"smpp on every interface at the msrp port", func(c *Config) { c.SMPP.Server.Listen = "0.0.0.0:2855" }, "smpp.server.listen", "overlaps msrp.listen"},
		{"sip tcp on the status port", func(c *Config) { c.SIP.Stack.Listen[1].Address = "127.0.0.1:8080" }, "sip.listen[1].address", "overlaps status.listen"},
		{"port 0 twice", func(c *Config) { c.Status.Listen, c.MSRP.Listen = "127.0.0.1:0", "127.0.0.1:0" }, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseBase(t)
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.path == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if !slices.Contains(paths(err), tc.path) {
				t.Fatalf("got %v (paths %q), want a fault at %s", err, paths(err), tc.path)
			}
			if !strings.Contains(err.Error(), "config: "+tc.path+": ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want \"config: %s: ...%s...\"", err, tc.path, tc.want)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("%v does not match ErrInvalidConfig", err)
			}
		})
	}
}

// TestValidateKeepsPackageErrors checks that a re-rooted package error
// still matches its package's sentinel.
func TestValidateKeepsPackageErrors(t *testing.T) {
	cfg := parseBase(t)
	cfg.Partners[0].SIP.NextHop = ""
	cfg.Partners[1].SMPP.Clients[0].Window = -1
	err := cfg.Validate()
	if !errors.Is(err, pager.ErrInvalidConfig) || !errors.Is(err, smpp.ErrInvalidConfig) {
		t.Fatalf("package sentinels lost: %v", err)
	}
}

// TestParseErrors checks the faults found while reading the file: each
// names its path and line.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name          string
		before, after string // YAML put before and after baseYAML
		want          []string
	}{
		{"unknown top key", "logging: debug\n", "", []string{"config: logging: line 1: field logging not found"}},
		{"unknown msrp key", "msrp:\n  listne: 1.2.3.4:1\n", "", []string{"config: msrp.listne: line 2: field listne not found"}},
		{"unknown partner key", "", "    colour: red\n", []string{"config: partners[1].colour: line 18: field colour not found"}},
		{"unknown client key", "", "          windw: 5\n", []string{"config: partners[1].smpp.clients[0].windw: line 18: field windw not found"}},
		{"unknown smpp server key", "", "    smpp_server: {system_id: b}\n", []string{"partners[1].smpp_server: line 18: field smpp_server not found"}},
		{"bad duration", "drain:\n  grace: soon\n", "", []string{"config: drain.grace: line 2: cannot unmarshal !!str `soon` into time.Duration"}},
		{"bad client window", "", "          window: many\n", []string{"config: partners[1].smpp.clients[0].window: line 18: cannot unmarshal !!str `many`"}},
		{"long bad value", "msrp:\n  bind_timeout: whenever-you-like\n", "", []string{"config: msrp.bind_timeout: line 2: cannot unmarshal"}},
		{"map for a string", "log_level:\n  a: b\n", "", []string{"config: log_level: line 2: cannot unmarshal !!map into string"}},
		{"list for a map", "store: [a]\n", "", []string{"config: store: line 1: cannot unmarshal !!seq"}},
		{"two faults", "drain: {grace: x}\nstatus: {listen: [a]}\n", "", []string{"config: drain.grace: line 1:", "config: status.listen: line 2:"}},
		{"bad overflow name", "", "    sip: {next_hop: \"sip:127.0.0.1:5090\", allowed_sources: [127.0.0.1], overflow: {policy: splitt}}\n",
			[]string{`config: partners[1].sip.overflow.policy: line 18: split: Policy: "splitt" is not one of`}},
		{"repeated key", "log_level: info\nlog_level: debug\n", "", []string{"config: log_level: line 2: mapping key \"log_level\" already defined"}},
		{"second document", "", "---\nlog_level: debug\n", []string{"config: line 19: a second YAML document"}},
		{"syntax", "msrp: [\n", "", []string{"config: yaml: line"}},
		{"not a mapping", "", "- x\n", []string{"config: yaml: line"}},
		{"unset secret", "store: {addr: \"10.0.0.1:6379\", password: \"${IWF_UNSET_FOR_TEST}\"}\n", "",
			[]string{"config: store.password: environment variable IWF_UNSET_FOR_TEST is not set"}},
		{"empty", "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.before + baseYAML + tc.after
			if tc.name == "empty" {
				data = ""
				tc.want = []string{"config: rcs.trunk.next_hop: missing", "config: partners: at least one partner is needed"}
			}
			_, err := ParseConfig([]byte(data))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("got\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestSecretsFromEnv(t *testing.T) {
	const data = `store: {addr: "10.0.0.1:6379", password: "${T_REDIS}"}
status: {listen: "0.0.0.0:8080", token: "${T_TOKEN}", pprof_token: "${T_PPROF}"}
msrp:
  relay: {uri: "msrps://relay.example.net;tcp", username: iwf, password: "${T_RELAY}"}
rcs:
  trunk: {next_hop: "sip:127.0.0.1:5070;transport=tcp"}
  pager: {allowed_sources: [127.0.0.0/8]}
smpp:
  server: {listen: "127.0.0.1:2775"}
partners:
  - name: p
    smpp:
      server: {system_id: p, password: "${T_SERVER}"}
      clients:
        - {address: "127.0.0.1:2776", system_id: p, password: "${T_CLIENT}"}
        - {address: "127.0.0.1:2777", system_id: p, password: "a${B}"}
`
	env := map[string]string{"T_REDIS": "r", "T_TOKEN": "t", "T_RELAY": "m", "T_SERVER": "s", "T_CLIENT": "c", "T_PPROF": "pprof-0123456789"}
	t.Run("set", func(t *testing.T) {
		for k, v := range env {
			t.Setenv(k, v)
		}
		cfg, err := ParseConfig([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Status.PprofToken != env["T_PPROF"] {
			t.Errorf("status.pprof_token %q", cfg.Status.PprofToken)
		}
		got := []string{cfg.Store.Password, cfg.Status.Token, cfg.MSRP.Endpoint.Relay.Password, cfg.Partners[0].SMPP.Server.Password,
			cfg.Partners[0].SMPP.Clients[0].Password, cfg.Partners[0].SMPP.Clients[1].Password}
		if want := []string{"r", "t", "m", "s", "c", "a${B}"}; !slices.Equal(got, want) {
			t.Fatalf("secrets %q, want %q", got, want)
		}
	})
	t.Run("unset", func(t *testing.T) {
		_, err := parseConfig([]byte(data), func(string) (string, bool) { return "", false })
		want := []string{"store.password", "status.token", "status.pprof_token", "msrp.relay.password", "partners[0].smpp.server.password", "partners[0].smpp.clients[0].password"}
		for _, p := range want {
			if !strings.Contains(err.Error(), "config: "+p+": environment variable") {
				t.Errorf("no fault for %s in\n%v", p, err)
			}
		}
		// Each unset secret is one fault, not again as "empty".
		if got := paths(err); !slices.Equal(got, want) {
			t.Errorf("faults at %q, want %q", got, want)
		}
	})
	t.Run("set but empty", func(t *testing.T) {
		_, err := parseConfig([]byte(data), func(k string) (string, bool) {
			if k == "T_SERVER" {
				return "", true
			}
			return env[k], true
		})
		if got := paths(err); !slices.Equal(got, []string{"partners[0].smpp.server.password"}) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestEnvName(t *testing.T) {
	tests := []struct {
		in, name string
		ok       bool
	}{
		{"${A_1}", "A_1", true}, {"${}", "", false}, {"${A", "", false}, {"A}", "", false},
		{"x${A}", "", false}, {"${A B}", "", false}, {"${A}x", "", false}, {"plain", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			name, ok := envName(tc.in)
			if name != tc.name || ok != tc.ok {
				t.Fatalf("envName(%q) = %q %v", tc.in, name, ok)
			}
		})
	}
}

// TestDefaults checks the defaults an almost empty file gets, and that
// an explicit zero is not taken for "unset".
func TestDefaults(t *testing.T) {
	t.Run("top level and derived", func(t *testing.T) {
		cfg := parseBase(t)
		if cfg.LogLevel != "info" || cfg.Status.Listen != "127.0.0.1:8080" || cfg.Drain.Grace != 20*time.Second ||
			cfg.Store.Prefix != "iwf" || cfg.MSRP.Listen != "127.0.0.1:2855" || cfg.MSRP.Endpoint.ChunkSize != 2048 {
			t.Errorf("top-level defaults: %+v", cfg)
		}
		if !reflect.DeepEqual(cfg.SIP.Stack, sipstack.DefaultConfig()) {
			t.Errorf("sip %+v", cfg.SIP.Stack)
		}
		if s := cfg.SMPPServerConfig(); s.SystemID != "iwf" || s.BindTimeout != smpp.DefaultBindTimeout || s.MaxPDULen != smpp.DefaultMaxPDULen {
			t.Errorf("smpp server %+v", s)
		}
		if !slices.Equal(cfg.RCS.AcceptTypes, []string{"message/cpim", "text/plain"}) || cfg.RCSMaxSize() != cfg.MSRP.Endpoint.MaxMessageSize {
			t.Errorf("rcs %+v", cfg.RCS)
		}
		if cfg.RCS.Limits != sipsession.DefaultLimits() {
			t.Errorf("rcs limits %+v", cfg.RCS.Limits)
		}
		if cfg.RCS.SessionTimer != sipsession.DefaultSessionTimer() {
			t.Errorf("rcs session timer %+v", cfg.RCS.SessionTimer)
		}
		if !cfg.RCS.Trunk.AcceptContact || !cfg.RCS.Trunk.AssertedIdentity || cfg.RCS.Trunk.Privacy != "" || cfg.RCS.Trunk.Name != RCSName || cfg.RCS.Trunk.InviteTimeout == 0 {
			t.Errorf("rcs trunk defaults %+v", cfg.RCS.Trunk)
		}
		rp := cfg.RCSPagerTrunk()
		if rp.NextHop != cfg.RCS.Trunk.NextHop || rp.Partner != RCSName || rp.MaxBodyBytes != pager.DefaultMaxBodyBytes {
			t.Errorf("rcs pager %+v", rp)
		}
		if cfg.Partners[0].DeliverVia != DeliverSMPP || cfg.Partners[1].DeliverVia != DeliverSMPP {
			t.Errorf("deliver_via %q %q", cfg.Partners[0].DeliverVia, cfg.Partners[1].DeliverVia)
		}
	})
	t.Run("almost empty partner", func(t *testing.T) {
		cfg := parseBase(t)
		beta := cfg.Partners[1]
		if !reflect.DeepEqual(beta.Session, interwork.Defaults()) || !beta.Policy().SuccessReports {
			t.Errorf("session %+v, want %+v", beta.Session, interwork.Defaults())
		}
		if !reflect.DeepEqual(beta.SMPP.SMS, partnerDefaults().SMPP.SMS) {
			t.Errorf("sms %+v", beta.SMPP.SMS)
		}
		want := smpp.DefaultClientConfig()
		want.Partner, want.Address, want.SystemID = "beta", "127.0.0.1:2776", "beta"
		if !reflect.DeepEqual(beta.SMPP.Clients[0], want) || want.MsgQFullRetries != smpp.DefaultMsgQFullRetries {
			t.Errorf("client %+v, want %+v", beta.SMPP.Clients[0], want)
		}
		if s := cfg.Partners[0].SMPP.Server; s.MaxBinds != smpp.DefaultMaxBinds || s.Window != smpp.DefaultWindow || s.Name != "alpha" {
			t.Errorf("server partner %+v", s)
		}
		if tr := cfg.Partners[0].SIP; tr.MaxBodyBytes != pager.DefaultMaxBodyBytes || tr.Partner != "alpha" || *tr.Overflow.Marker != split.DefaultMarker {
			t.Errorf("sip trunk %+v", tr)
		}
	})
	t.Run("connection and session limits", func(t *testing.T) {
		const data = `sip:
  max_connections: 7
  max_per_source: 0
  first_request_timeout: 2s
  idle_timeout: 1m
  write_timeout: 3s
  max_pending_requests: 16
rcs:
  trunk: {next_hop: "sip:127.0.0.1:5070;transport=tcp"}
  pager: {allowed_sources: [127.0.0.0/8]}
  max_incoming_sessions: 5
  max_incoming_sessions_per_source: 2
  session_expires: 600s
  min_se: 120s
partners:
  - name: alpha
    sip: {next_hop: "sip:127.0.0.1:5080", allowed_sources: [127.0.0.1]}
`
		cfg, err := ParseConfig([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		st := cfg.SIP.Stack
		if st.Budget.MaxConnections != 7 || st.Budget.MaxPerSource != 0 || st.FirstRequestTimeout != 2*time.Second ||
			st.IdleTimeout != time.Minute || st.WriteTimeout != 3*time.Second || st.MaxPendingRequests != 16 {
			t.Errorf("sip %+v", st)
		}
		if l := cfg.RCS.Limits; l.MaxIncoming != 5 || l.MaxIncomingPerSource != 2 {
			t.Errorf("rcs limits %+v", l)
		}
		if st := cfg.RCS.SessionTimer; st.Expires != 600*time.Second || st.MinSE != 120*time.Second {
			t.Errorf("rcs session timer %+v", st)
		}
	})
	t.Run("explicit zero stays", func(t *testing.T) {
		const data = `rcs:
  trunk: {next_hop: "sip:127.0.0.1:5070;transport=tcp"}
  pager: {allowed_sources: [127.0.0.0/8]}
partners:
  - name: alpha
    sip: {next_hop: "sip:127.0.0.1:5080", allowed_sources: [127.0.0.1]}
  - name: beta
    sip: {next_hop: "sip:127.0.0.1:5090", allowed_sources: [127.0.0.2], overflow: {marker: ""}}
    session: {success_reports: false}
    smpp:
      sms: {receipts: false, marker: ""}
      clients:
        - {address: "127.0.0.1:2776", system_id: beta, msgqful_retries: 0}
`
		cfg, err := ParseConfig([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		beta := cfg.Partners[1]
		if beta.SMPP.Clients[0].MsgQFullRetries != 0 || beta.Session.SuccessReports || beta.SMPP.SMS.Receipts || beta.SMPP.SMS.Marker != "" {
			t.Errorf("explicit zeros replaced by defaults: %+v %+v %+v", beta.SMPP.Clients[0], beta.Session, beta.SMPP.SMS)
		}
		if *beta.SIP.Overflow.Marker != "" {
			t.Errorf("sip marker %q", *beta.SIP.Overflow.Marker)
		}
	})
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	cfg, err := LoadConfig("../../configs/testdata/anchors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Partners[0], cfg.Partners[1]
	if a.SMPP.SMS.Style != "udh16" || a.Session.Promotion != interwork.PromoteThreshold || a.Session.Threshold != 5 || !a.Session.SuccessReports {
		t.Errorf("uk-a %+v", a)
	}
	// uk-b merges uk-a but writes its own smpp: merge keys are shallow.
	if b.Name != "uk-b" || b.Session.Threshold != 5 || b.SMPP.SMS != partnerDefaults().SMPP.SMS {
		t.Errorf("uk-b %+v", b)
	}
	cb := b.SMPP.Clients[0]
	if cb.SystemID != "uk_b" || cb.Mode != smpp.ModeTxRx || cb.Binds != 2 || cb.MsgQFullRetries != smpp.DefaultMsgQFullRetries || cb.Partner != "uk-b" {
		t.Errorf("uk-b client %+v", cb)
	}
	if ca := a.SMPP.Clients[0]; ca.SystemID != "uk_a" || ca.EnquireLink != smpp.DefaultEnquireLink {
		t.Errorf("uk-a client %+v", ca)
	}
}

func TestHelpers(t *testing.T) {
	cfg := parseBase(t)
	t.Run("smpp server", func(t *testing.T) {
		sc := cfg.SMPPServerConfig()
		want := []smpp.ServerPartner{{Name: "alpha", SystemID: "alpha", Password: "secret", MaxBinds: smpp.DefaultMaxBinds, Window: smpp.DefaultWindow}}
		if !reflect.DeepEqual(sc.Partners, want) {
			t.Fatalf("partners %+v", sc.Partners)
		}
		if err := sc.Validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("smpp clients", func(t *testing.T) {
		cl := cfg.SMPPClients()
		if len(cl) != 1 || cl[0].Partner != "beta" {
			t.Fatalf("%+v", cl)
		}
		if err := cl[0].Validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("pager trunks", func(t *testing.T) {
		tr := cfg.PagerTrunks()
		if len(tr) != 1 || tr[0].Partner != "alpha" {
			t.Fatalf("%+v", tr)
		}
		if _, err := pager.NewTrunks(append(tr, cfg.RCSPagerTrunk())); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("policy", func(t *testing.T) {
		p := PartnerConfig{Session: interwork.Policy{Promotion: interwork.PromoteNever}}
		if got := p.Policy(); got.Promotion != interwork.PromoteNever || got.QueueMax != interwork.Defaults().QueueMax {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("node id", func(t *testing.T) {
		if got := (Config{Node: "iwf-a"}).NodeID(); got != "iwf-a" {
			t.Fatalf("%q", got)
		}
		host, _ := os.Hostname()
		got := Config{}.NodeID()
		if !strings.HasSuffix(got, "-"+strconv.Itoa(os.Getpid())) || host != "" && !strings.HasPrefix(got, host+"-") {
			t.Fatalf("%q", got)
		}
	})
	t.Run("deliver via sip by default", func(t *testing.T) {
		c := parseBase(t)
		c.Partners = c.Partners[:1]
		c.Partners[0].SMPP.Server, c.Partners[0].DeliverVia = nil, ""
		c.derive()
		if c.Partners[0].DeliverVia != DeliverSIP {
			t.Fatalf("%q", c.Partners[0].DeliverVia)
		}
	})
}

func BenchmarkParseConfig(b *testing.B) {
	data, err := os.ReadFile("../../configs/iwf-production.yaml")
	if err != nil {
		b.Fatal(err)
	}
	env := func(k string) (string, bool) { v, ok := testEnv[k]; return v, ok }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseConfig(data, env); err != nil {
			b.Fatal(err)
		}
	}
}
