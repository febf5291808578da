package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"iwf/internal/sipstack"
	"iwf/interwork"
	"iwf/pager"
	"iwf/session"
	"iwf/session/sipsession"
	"iwf/smpp"
	"iwf/store"
)

// Config is the whole daemon configuration (configs/iwf.yaml). The
// sections are the packages' own configuration types, with their
// defaults and Validate, so a key means here what it means in its
// package; this package adds the sockets and certificate files the
// process opens, composes the defaults in defaults() and
// partnerDefaults(), and checks the rules across sections. Validate names
// every faulty field by its path.
type Config struct {
	LogLevel string `yaml:"log_level"`
	// LogFormat is "text" (slog's key=value lines, for people and
	// journald) or "json" (one object a line, for log shippers).
	LogFormat string `yaml:"log_format"`
	// Node is this process's id in session leases (DESIGN "Scale-out");
	// empty takes NodeID's default.
	Node     string          `yaml:"node"`
	Store    StoreConfig     `yaml:"store"`
	Status   StatusConfig    `yaml:"status"`
	Drain    DrainConfig     `yaml:"drain"`
	MSRP     MSRPConfig      `yaml:"msrp"`
	SIP      SIPConfig       `yaml:"sip"`
	SMPP     SMPPConfig      `yaml:"smpp"`
	RCS      RCSConfig       `yaml:"rcs"`
	Partners []PartnerConfig `yaml:"partners"`
}

// StoreConfig is the Redis connection: package store's own Config (addr
// "" runs the embedded store, miniredis on loopback).
type StoreConfig = store.Config

// StatusConfig is the HTTP status endpoint (/status, /metrics, /healthz,
// /readyz).
type StatusConfig struct {
	// Listen is host:port; "" disables the endpoint.
	Listen string `yaml:"listen"`
	// Token, when set, is the bearer token /status and /metrics ask for;
	// "${ENV_NAME}" reads it from the environment.
	Token string `yaml:"token"`
	// AdminToken, when set, turns on the admin actions under /admin/
	// (iwf ctl) for requests that carry it as their bearer token; empty
	// leaves them off (404). "${ENV_NAME}" reads it from the environment.
	AdminToken string `yaml:"admin_token"`
	// PprofToken, when set, serves the runtime profiles (CPU, heap,
	// allocations, goroutines, trace) under /debug/pprof/ to requests
	// bearing it; "" (the default) leaves them out. "${ENV_NAME}" reads
	// it from the environment.
	PprofToken string `yaml:"pprof_token"`
}

// minPprofToken is the shortest pprof token accepted: the profiles show
// the code and the memory of the process, so the token must not be
// guessable.
const minPprofToken = 16

// DrainConfig bounds the graceful stop on SIGTERM.
type DrainConfig struct {
	// Grace is how long in-flight work may take once new work is refused.
	Grace time.Duration `yaml:"grace"`
}

// MSRPConfig is the msrp section: the endpoint's own keys
// (session.Config, inline) plus the socket it serves, which the endpoint
// is handed rather than opens: the listen address and the certificate
// files, loaded here so that the endpoint reads no files.
type MSRPConfig struct {
	// Listen is the TCP address to accept MSRP connections on.
	Listen string `yaml:"listen"`
	// TLS, when set, makes the listener msrps.
	TLS *TLSConfig `yaml:"tls"`
	// Endpoint holds host, port, chunk sizes, timeouts, limits and relay;
	// its Port 0 takes Listen's.
	Endpoint session.Config `yaml:",inline"`
}

// TLSConfig names a certificate and key in PEM files.
type TLSConfig struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// SIPConfig is the process's one SIP stack: sipstack.Config's keys
// (listen, domain, user_agent) plus the certificate of its tls
// listeners, which sipstack takes as a *tls.Config the loader cannot
// decode.
type SIPConfig struct {
	Stack sipstack.Config `yaml:",inline"`
	// TLS serves every tls listener and dials tls next hops; a listener's
	// own cert_file/key_file serve it when TLS is nil.
	TLS *TLSConfig `yaml:"tls"`
}

// SMPPConfig holds the SMPP server partners' ESMEs bind to; client binds
// belong to each partner.
type SMPPConfig struct {
	Server SMPPServerSettings `yaml:"server"`
}

// SMPPServerSettings are the server-wide keys of smpp.ServerConfig plus
// its socket. The server's partner list is built from
// partners[].smpp.server (Config.SMPPServerConfig), so the inline
// partners key must stay empty.
type SMPPServerSettings struct {
	// Listen is host:port; "" runs no SMPP server.
	Listen string `yaml:"listen"`
	// TLS, when set, accepts binds over TLS only on this listener.
	TLS    *TLSConfig        `yaml:"tls"`
	Server smpp.ServerConfig `yaml:",inline"`
}

// RCSConfig is the RCS network side: where INVITEs and pager-mode
// MESSAGEs toward RCS users go, and what our MSRP media offers.
type RCSConfig struct {
	// Trunk sends INVITEs to sip:<recipient>@<next hop host:port>.
	Trunk sipsession.Trunk `yaml:"trunk"`
	// Pager carries pager-mode MESSAGEs toward RCS users (threshold or
	// never promotion, pager fallback); its next_hop (and transport)
	// default to the trunk's. Its allowed_sources are where the RCS
	// network's INVITEs and MESSAGEs may come from.
	Pager pager.Trunk `yaml:"pager"`
	// AcceptTypes is our a=accept-types (RFC 4975 section 8.6).
	AcceptTypes []string `yaml:"accept_types"`
	// MaxSize is our a=max-size (RFC 4975 section 8.6); 0 takes
	// msrp.max_message_size.
	MaxSize int64 `yaml:"max_size"`
	// Limits caps the sessions the RCS network opens
	// (max_incoming_sessions, max_incoming_sessions_per_source).
	Limits sipsession.Limits `yaml:",inline"`
	// SessionTimer is our RFC 4028 session timer (session_expires,
	// min_se).
	SessionTimer sipsession.SessionTimer `yaml:",inline"`
}

// RCSName is the partner name of the RCS side's pager trunk; no partner
// may take it.
const RCSName = "rcs"

// PartnerConfig is one peering partner: how its messages arrive and how
// ours reach it.
type PartnerConfig struct {
	// Name is [a-z0-9_-]+, unique: it labels logs, metrics and keys.
	Name    string        `yaml:"name"`
	Routing RoutingConfig `yaml:"routing"`
	// DeliverVia is how RCS->SMS messages reach the partner: smpp or
	// sip. Default smpp when the partner has an smpp server or clients,
	// else sip.
	DeliverVia string      `yaml:"deliver_via"`
	SMPP       PartnerSMPP `yaml:"smpp"`
	// SIP is the partner's SIP pager trunk; nil means none.
	SIP *pager.Trunk `yaml:"sip"`
	// Session is the partner's promotion and session policy.
	Session interwork.Policy `yaml:"session"`
}

// The ways of delivering to a partner.
const (
	DeliverSMPP = "smpp"
	DeliverSIP  = "sip"
)

// RoutingConfig says which recipients belong to a partner (RCS -> SMS
// direction); the longest matching number prefix wins.
type RoutingConfig struct {
	// Numbers are E.164 prefixes: "+44", "+1212"; "+" alone is every
	// number.
	Numbers []string `yaml:"numbers"`
	// Domains are the SIP domains of non-numeric identities.
	Domains []string `yaml:"domains"`
}

// PartnerSMPP is a partner's SMPP side.
type PartnerSMPP struct {
	// Server holds the credentials the partner's ESMEs bind to our server
	// with; nil means they do not bind to us. Its name key is set from
	// the partner's name.
	Server *smpp.ServerPartner `yaml:"server"`
	// Clients are our binds to the partner's SMSCs; each one's partner
	// key is set from the partner's name.
	Clients []smpp.ClientConfig `yaml:"clients"`
	// SMS is how text is coded and segmented toward the partner.
	SMS interwork.SMSConfig `yaml:"sms"`
	// Numbering reads the partner's TON/NPI addresses as E.164
	// conversation keys (README "Numbering rules").
	Numbering smpp.Numbering `yaml:"numbering"`
}

// defaults is the configuration an empty file means, except the
// partners, which take partnerDefaults each.
func defaults() Config {
	rcsTrunk := sipsession.DefaultTrunk()
	rcsTrunk.Name = RCSName
	return Config{
		LogLevel: "info",
		Store:    store.DefaultConfig(),
		Status:   StatusConfig{Listen: "127.0.0.1:8080"},
		Drain:    DrainConfig{Grace: 20 * time.Second},
		MSRP:     MSRPConfig{Listen: "127.0.0.1:2855", Endpoint: msrpDefaults()},
		SIP:      SIPConfig{Stack: sipstack.DefaultConfig()},
		SMPP:     SMPPConfig{Server: SMPPServerSettings{Server: smpp.DefaultServerConfig()}},
		RCS: RCSConfig{
			Trunk: rcsTrunk,
			// RCS clients take standalone messages in the OMA CPM form.
			Pager:        pager.Trunk{Profile: pager.ProfileCPM},
			AcceptTypes:  []string{"message/cpim", "text/plain"},
			Limits:       sipsession.DefaultLimits(),
			SessionTimer: sipsession.DefaultSessionTimer(),
		},
		LogFormat: "text",
	}
}

// partnerDefaults is what each partner's keys are decoded over.
func partnerDefaults() PartnerConfig {
	return PartnerConfig{
		SMPP:    PartnerSMPP{SMS: interwork.DefaultSMSConfig()},
		Session: interwork.Defaults(),
	}
}

// msrpDefaults are session's defaults, with the host of our URIs on
// loopback as the default listener is.
func msrpDefaults() session.Config {
	c := session.DefaultConfig()
	c.Host = "127.0.0.1"
	return c
}

// smppClientDefaults is what each partners[].smpp.clients[] entry is
// decoded over: msgqful_retries 0 means "never", so the default has to be
// there before the keys are read.
func smppClientDefaults() smpp.ClientConfig { return smpp.DefaultClientConfig() }

// derive fills the defaults that depend on other keys; decoding calls it
// after the file is read, before Validate.
func (c *Config) derive() {
	r := &c.RCS
	if r.Pager.NextHop == "" {
		r.Pager.NextHop = r.Trunk.NextHop
		if r.Pager.Transport == "" {
			r.Pager.Transport = r.Trunk.Transport
		}
	}
	r.Pager.Partner = RCSName
	r.Pager = r.Pager.WithDefaults()
	for i := range c.Partners {
		p := &c.Partners[i]
		if p.DeliverVia == "" {
			p.DeliverVia = DeliverSIP
			if p.SMPP.Server != nil || len(p.SMPP.Clients) > 0 {
				p.DeliverVia = DeliverSMPP
			}
		}
		if s := p.SMPP.Server; s != nil {
			// A different name stays, for Validate to name it.
			if s.Name == "" {
				s.Name = p.Name
			}
			if s.MaxBinds == 0 {
				s.MaxBinds = smpp.DefaultMaxBinds
			}
			if s.Window == 0 {
				s.Window = smpp.DefaultWindow
			}
		}
		for j := range p.SMPP.Clients {
			// A different name stays, for Validate to name it.
			if p.SMPP.Clients[j].Partner == "" {
				p.SMPP.Clients[j].Partner = p.Name
			}
		}
		if p.SIP != nil {
			t := p.SIP.WithDefaults()
			t.Partner = p.Name
			p.SIP = &t
		}
	}
}

// LoadConfig reads and validates a YAML file; unknown keys are errors.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(data)
}

// ParseConfig decodes YAML over the defaults, reads "${NAME}" secrets
// from the environment and validates the result.
func ParseConfig(data []byte) (Config, error) {
	return parseConfig(data, os.LookupEnv)
}

// NodeID is this process's id in session leases: Node, else the host
// name and the process id, which differ between two processes on one
// machine.
func (c Config) NodeID() string {
	if c.Node != "" {
		return c.Node
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "iwf"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// SMPPServerConfig is the SMPP server's configuration: the server-wide
// keys and one smpp.ServerPartner for each partner with an smpp.server
// section.
func (c Config) SMPPServerConfig() smpp.ServerConfig {
	sc := c.SMPP.Server.Server
	sc.Partners = nil
	for _, p := range c.Partners {
		if s := p.SMPP.Server; s != nil {
			sp := *s
			sp.Name = p.Name
			sc.Partners = append(sc.Partners, sp)
		}
	}
	return sc
}

// SMPPClients are every partner's client binds, each with its Partner
// set.
func (c Config) SMPPClients() []smpp.ClientConfig {
	var out []smpp.ClientConfig
	for _, p := range c.Partners {
		for _, cl := range p.SMPP.Clients {
			cl.Partner = p.Name
			out = append(out, cl)
		}
	}
	return out
}

// PagerTrunks are the SIP pager trunks of the partners that have one,
// each with its Partner set and defaults applied. The RCS side's trunk is
// RCSPagerTrunk.
func (c Config) PagerTrunks() []pager.Trunk {
	var out []pager.Trunk
	for _, p := range c.Partners {
		if p.SIP != nil {
			t := p.SIP.WithDefaults()
			t.Partner = p.Name
			out = append(out, t)
		}
	}
	return out
}

// RCSPagerTrunk is the trunk of pager-mode MESSAGEs toward RCS users,
// named RCSName, its next hop defaulted to the INVITE trunk's.
func (c Config) RCSPagerTrunk() pager.Trunk {
	t := c.RCS.Pager.WithDefaults()
	t.Partner = RCSName
	return t
}

// RCSMaxSize is the a=max-size we offer: rcs.max_size, else
// msrp.max_message_size.
func (c Config) RCSMaxSize() int64 {
	if c.RCS.MaxSize > 0 {
		return c.RCS.MaxSize
	}
	return c.MSRP.Endpoint.MaxMessageSize
}

// Policy is the partner's session policy with every default applied.
func (p PartnerConfig) Policy() interwork.Policy { return p.Session.WithDefaults() }
