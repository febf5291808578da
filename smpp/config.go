package smpp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Defaults, in one place. A zero field of ServerConfig, ServerPartner or
// ClientConfig takes the value here, except where its doc says zero has a
// meaning of its own.
const (
	DefaultServerSystemID  = "iwf"
	DefaultBindTimeout     = 10 * time.Second
	DefaultIdleTimeout     = 2 * time.Minute
	DefaultResponseTimeout = 10 * time.Second
	DefaultHandlerTimeout  = 10 * time.Second
	DefaultWindow          = 10
	DefaultMaxBinds        = 4
	DefaultEnquireLink     = 30 * time.Second
	DefaultRebindMin       = time.Second
	DefaultRebindMax       = time.Minute
	DefaultThrottleMin     = time.Second
	DefaultThrottleMax     = 30 * time.Second
	DefaultMsgQFullRetries = 3
	DefaultMsgQFullDelay   = time.Second
	DefaultMaxConnections  = 1024
	DefaultMaxPerSource    = 64
	DefaultWriteQueue      = 1024
	DefaultBindBackoffMin  = time.Second
	DefaultBindBackoffMax  = time.Minute
)

// Limits of SMPP 3.4 section 5.2 for bind fields, terminating NUL excluded.
const (
	maxSystemID   = 15
	maxPassword   = 8
	maxSystemType = 12
	maxWindow     = 1000
)

// ServerConfig configures the server that partner ESMEs bind to.
type ServerConfig struct {
	// SystemID is ours, sent in bind responses. Default "iwf".
	SystemID string `yaml:"system_id"`
	// BindTimeout is how long a new connection may take to send a bind.
	BindTimeout time.Duration `yaml:"bind_timeout"`
	// IdleTimeout closes a bind that sent nothing (not even
	// enquire_link) for this long.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// EnquireLink is how long a bind may stay quiet before the server
	// probes it with enquire_link (SMPP 3.4 4.11); an unanswered probe
	// closes the connection. Default DefaultEnquireLink.
	EnquireLink time.Duration `yaml:"enquire_link"`
	// ResponseTimeout bounds the wait for a deliver_sm_resp.
	ResponseTimeout time.Duration `yaml:"response_timeout"`
	// HandlerTimeout is the deadline given to SubmitHandler.HandleSubmit.
	HandlerTimeout time.Duration `yaml:"handler_timeout"`
	// MaxPDULen bounds command_length; default 64 KiB.
	MaxPDULen int `yaml:"max_pdu_len"`
	// MaxConnections caps the connections open at once, bound or not;
	// MaxPerSource those from one source address. A connection beyond
	// either is closed as soon as it is accepted.
	MaxConnections int `yaml:"max_connections"`
	MaxPerSource   int `yaml:"max_per_source"`
	// WriteQueue caps the answers (responses, generic_nack) waiting to
	// be written to one connection; a peer that lets more pile up by not
	// reading is cut off. Default DefaultWriteQueue.
	WriteQueue int `yaml:"write_queue"`
	// BindBackoffMin and BindBackoffMax bound the delay before the next
	// bind from a source address whose last bind failed: it starts at
	// the minimum and doubles with each further failure.
	BindBackoffMin time.Duration `yaml:"bind_backoff_min"`
	BindBackoffMax time.Duration `yaml:"bind_backoff_max"`
	// Partners are the ESMEs allowed to bind.
	Partners []ServerPartner `yaml:"partners"`
}

// ServerPartner is one partner's credentials and limits on the server.
type ServerPartner struct {
	// Name identifies the partner in logs, status and SubmitHandler calls.
	Name string `yaml:"name"`
	// SystemID and Password are what the partner binds with; the password
	// is compared in constant time.
	SystemID string `yaml:"system_id"`
	Password string `yaml:"password"`
	// MaxBinds caps the partner's simultaneous binds of any type.
	MaxBinds int `yaml:"max_binds"`
	// Window caps the deliver_sm requests outstanding on one bind, and the
	// partner's submit_sm requests handled at once on one bind (beyond it
	// the partner is answered ESME_RTHROTTLED).
	Window int `yaml:"window"`
	// RequireTLS refuses binds from this partner over plain TCP. The
	// server accepts TLS when its listener comes from tls.NewListener.
	RequireTLS bool `yaml:"require_tls"`
	// AllowedSources are the addresses the partner may bind from, as
	// CIDR prefixes ("192.0.2.0/24") or single addresses; empty allows
	// any. A bind from elsewhere is refused with ESME_RBINDFAIL.
	AllowedSources []string `yaml:"allowed_sources"`
}

// BindMode is how a client binds to an SMSC.
type BindMode string

// The bind modes.
const (
	// ModeTransceiver binds bind_transceiver: submits and deliveries on
	// one connection.
	ModeTransceiver BindMode = "transceiver"
	// ModeTxRx binds a bind_transmitter and a bind_receiver per bind
	// count, for SMSCs without transceiver support.
	ModeTxRx BindMode = "tx_rx"
)

// ClientConfig configures the ESME binds to one partner's SMSC.
type ClientConfig struct {
	// Partner names the partner in logs, status and DeliverHandler calls.
	Partner string `yaml:"partner"`
	// Address is the SMSC's host:port.
	Address    string `yaml:"address"`
	SystemID   string `yaml:"system_id"`
	Password   string `yaml:"password"`
	SystemType string `yaml:"system_type"`
	// Mode is transceiver (default) or tx_rx.
	Mode BindMode `yaml:"mode"`
	// Binds is how many transceivers, or transmitter+receiver pairs, to
	// hold open. Default 1.
	Binds int `yaml:"binds"`
	// Window caps the submit_sm requests outstanding on one bind.
	Window int `yaml:"window"`
	// Throughput limits submit_sm per second on one bind (token bucket);
	// zero means unlimited.
	Throughput float64 `yaml:"throughput"`
	// Burst is the token bucket size; default 1.
	Burst int `yaml:"burst"`
	// EnquireLink is the enquire_link interval (SMPP 3.4 4.11).
	EnquireLink time.Duration `yaml:"enquire_link"`
	// ResponseTimeout bounds the wait for any response.
	ResponseTimeout time.Duration `yaml:"response_timeout"`
	// HandlerTimeout is the deadline given to DeliverHandler.HandleDeliver.
	HandlerTimeout time.Duration `yaml:"handler_timeout"`
	// RebindMin and RebindMax bound the exponential back-off between bind
	// attempts.
	RebindMin time.Duration `yaml:"rebind_min"`
	RebindMax time.Duration `yaml:"rebind_max"`
	// ThrottleMin and ThrottleMax bound how long a bind pauses after
	// ESME_RTHROTTLED, doubling while the SMSC keeps throttling.
	ThrottleMin time.Duration `yaml:"throttle_min"`
	ThrottleMax time.Duration `yaml:"throttle_max"`
	// MsgQFullRetries is how many times a submit answered ESME_RMSGQFUL is
	// sent again (zero: never), MsgQFullDelay the first wait, doubling.
	MsgQFullRetries int           `yaml:"msgqful_retries"`
	MsgQFullDelay   time.Duration `yaml:"msgqful_delay"`
	// MaxPDULen bounds command_length; default 64 KiB.
	MaxPDULen int `yaml:"max_pdu_len"`
	// TLS dials the SMSC over TLS, with TLSConfig when set (else the
	// system roots and the host of Address as server name).
	TLS       bool        `yaml:"tls"`
	TLSConfig *tls.Config `yaml:"-"`
	// Dial replaces the dialer, for tests and proxies.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error) `yaml:"-"`
}

// DefaultClientConfig returns a ClientConfig with every default filled in,
// the base a config loader decodes YAML onto.
func DefaultClientConfig() ClientConfig {
	var c ClientConfig
	c.MsgQFullRetries = DefaultMsgQFullRetries
	return c.withDefaults()
}

func (c ClientConfig) withDefaults() ClientConfig {
	setDefault(&c.Mode, ModeTransceiver)
	setDefault(&c.Binds, 1)
	setDefault(&c.Window, DefaultWindow)
	setDefault(&c.Burst, 1)
	setDefault(&c.EnquireLink, DefaultEnquireLink)
	setDefault(&c.ResponseTimeout, DefaultResponseTimeout)
	setDefault(&c.HandlerTimeout, DefaultHandlerTimeout)
	setDefault(&c.RebindMin, DefaultRebindMin)
	setDefault(&c.RebindMax, max(DefaultRebindMax, c.RebindMin))
	setDefault(&c.ThrottleMin, DefaultThrottleMin)
	setDefault(&c.ThrottleMax, max(DefaultThrottleMax, c.ThrottleMin))
	setDefault(&c.MsgQFullDelay, DefaultMsgQFullDelay)
	setDefault(&c.MaxPDULen, DefaultMaxPDULen)
	return c
}

// DefaultServerConfig returns the server settings an empty section
// means (no partners).
func DefaultServerConfig() ServerConfig { return ServerConfig{}.withDefaults() }

func (c ServerConfig) withDefaults() ServerConfig {
	setDefault(&c.SystemID, DefaultServerSystemID)
	setDefault(&c.BindTimeout, DefaultBindTimeout)
	setDefault(&c.IdleTimeout, DefaultIdleTimeout)
	setDefault(&c.EnquireLink, DefaultEnquireLink)
	setDefault(&c.ResponseTimeout, DefaultResponseTimeout)
	setDefault(&c.HandlerTimeout, DefaultHandlerTimeout)
	setDefault(&c.MaxPDULen, DefaultMaxPDULen)
	setDefault(&c.MaxConnections, DefaultMaxConnections)
	setDefault(&c.MaxPerSource, DefaultMaxPerSource)
	setDefault(&c.WriteQueue, DefaultWriteQueue)
	setDefault(&c.BindBackoffMin, DefaultBindBackoffMin)
	setDefault(&c.BindBackoffMax, max(DefaultBindBackoffMax, c.BindBackoffMin))
	c.Partners = append([]ServerPartner(nil), c.Partners...)
	for i := range c.Partners {
		setDefault(&c.Partners[i].MaxBinds, DefaultMaxBinds)
		setDefault(&c.Partners[i].Window, DefaultWindow)
	}
	return c
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// fieldErrs collects FieldErrors for Validate.
type fieldErrs []error

func (f *fieldErrs) add(path, format string, args ...any) {
	*f = append(*f, &FieldError{Path: path, Reason: fmt.Sprintf(format, args...)})
}

func (f *fieldErrs) maxLen(path, v string, n int, required bool) {
	switch {
	case required && v == "":
		f.add(path, "required")
	case len(v) > n:
		f.add(path, "%d octets, SMPP 3.4 allows at most %d", len(v), n)
	}
}

func (f *fieldErrs) between(path string, v, lo, hi int) {
	if v < lo || v > hi {
		f.add(path, "%d outside %d..%d", v, lo, hi)
	}
}

func (f *fieldErrs) nonNegative(path string, d time.Duration) {
	if d < 0 {
		f.add(path, "negative duration %s", d)
	}
}

func (f *fieldErrs) minMax(path string, lo, hi time.Duration) {
	f.nonNegative(path+"_min", lo)
	f.nonNegative(path+"_max", hi)
	if hi != 0 && lo > hi {
		f.add(path+"_max", "%s below %s_min %s", hi, path, lo)
	}
}

// Validate checks the server configuration; errors name the field path
// ("partners[1].password") and are joined. Zero values stand for defaults.
func (c ServerConfig) Validate() error {
	var f fieldErrs
	f.maxLen("system_id", c.SystemID, maxSystemID, false)
	for _, d := range []struct {
		path string
		v    time.Duration
	}{{"bind_timeout", c.BindTimeout}, {"idle_timeout", c.IdleTimeout}, {"enquire_link", c.EnquireLink}, {"response_timeout", c.ResponseTimeout}, {"handler_timeout", c.HandlerTimeout}} {
		f.nonNegative(d.path, d.v)
	}
	if c.MaxPDULen != 0 {
		f.between("max_pdu_len", c.MaxPDULen, 512, 1<<20)
	}
	if c.MaxConnections != 0 {
		f.between("max_connections", c.MaxConnections, 1, 1<<20)
	}
	if c.MaxPerSource != 0 {
		f.between("max_per_source", c.MaxPerSource, 1, 1<<20)
	}
	if c.WriteQueue != 0 {
		f.between("write_queue", c.WriteQueue, 16, 1<<20)
	}
	f.minMax("bind_backoff", c.BindBackoffMin, c.BindBackoffMax)
	names := map[string]int{}
	ids := map[string]int{}
	for i, p := range c.Partners {
		if err := p.Validate(); err != nil {
			f = append(f, Prefix(fmt.Sprintf("partners[%d]", i), err))
		}
		path := fmt.Sprintf("partners[%d]", i)
		if j, dup := names[p.Name]; dup && p.Name != "" {
			f.add(path+".name", "duplicates partners[%d].name", j)
		}
		if j, dup := ids[p.SystemID]; dup && p.SystemID != "" {
			f.add(path+".system_id", "duplicates partners[%d].system_id", j)
		}
		names[p.Name], ids[p.SystemID] = i, i
	}
	return errors.Join(f...)
}

// Validate checks one partner's server settings; paths are relative
// ("password").
func (p ServerPartner) Validate() error {
	var f fieldErrs
	if p.Name == "" {
		f.add("name", "required")
	}
	f.maxLen("system_id", p.SystemID, maxSystemID, true)
	f.maxLen("password", p.Password, maxPassword, true)
	if p.MaxBinds != 0 {
		f.between("max_binds", p.MaxBinds, 1, 1000)
	}
	if p.Window != 0 {
		f.between("window", p.Window, 1, maxWindow)
	}
	for i, src := range p.AllowedSources {
		if _, err := parseSource(src); err != nil {
			f.add(fmt.Sprintf("allowed_sources[%d]", i), "%q is neither an address nor a CIDR prefix", src)
		}
	}
	return errors.Join(f...)
}

// parseSource reads an allowed_sources entry: a CIDR prefix, or one
// address standing for itself alone.
func parseSource(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("smpp: allowed source %q: %w", s, err)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			// Sources are compared as IPv4: ::ffff:a.b.c.d/n is a.b.c.d/(n-96).
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("smpp: allowed source %q: %w", s, err)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Validate checks the client configuration; errors name the field path
// ("window") and are joined. Zero values stand for defaults.
func (c ClientConfig) Validate() error {
	var f fieldErrs
	if c.Partner == "" {
		f.add("partner", "required")
	}
	if host, port, err := net.SplitHostPort(c.Address); err != nil || host == "" {
		f.add("address", "want host:port, got %q", c.Address)
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		f.add("address", "port %q is not 1..65535", port)
	}
	f.maxLen("system_id", c.SystemID, maxSystemID, true)
	f.maxLen("password", c.Password, maxPassword, false)
	f.maxLen("system_type", c.SystemType, maxSystemType, false)
	switch c.Mode {
	case "", ModeTransceiver, ModeTxRx:
	default:
		f.add("mode", "%q is neither %q nor %q", c.Mode, ModeTransceiver, ModeTxRx)
	}
	if c.Binds != 0 {
		f.between("binds", c.Binds, 1, 64)
	}
	if c.Window != 0 {
		f.between("window", c.Window, 1, maxWindow)
	}
	if c.Throughput < 0 {
		f.add("throughput", "negative rate %g", c.Throughput)
	}
	if c.Burst != 0 {
		f.between("burst", c.Burst, 1, 10000)
	}
	f.nonNegative("enquire_link", c.EnquireLink)
	f.nonNegative("response_timeout", c.ResponseTimeout)
	f.nonNegative("handler_timeout", c.HandlerTimeout)
	f.nonNegative("msgqful_delay", c.MsgQFullDelay)
	f.minMax("rebind", c.RebindMin, c.RebindMax)
	f.minMax("throttle", c.ThrottleMin, c.ThrottleMax)
	f.between("msgqful_retries", c.MsgQFullRetries, 0, 100)
	if c.MaxPDULen != 0 {
		f.between("max_pdu_len", c.MaxPDULen, 512, 1<<20)
	}
	return errors.Join(f...)
}
