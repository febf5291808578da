package pager

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/address"
	"iwf/pager/split"
)

// Defaults, in one place. A zero field of Trunk takes the value here.
const (
	// DefaultMaxBodyBytes is the MESSAGE body limit: RFC 3428 section 8
	// keeps a MESSAGE under 1300 bytes on a path that is not known to be
	// congestion-controlled.
	DefaultMaxBodyBytes = 1300
	// DefaultUDPMaxBytes is the request size beyond which a MESSAGE
	// goes over TCP: RFC 3261 section 18.1.1.
	DefaultUDPMaxBytes = 1300
	// DefaultMaxParts caps the MESSAGEs one split text becomes.
	DefaultMaxParts = 10
	// DefaultProfile writes MESSAGEs as RFC 3428 has them.
	DefaultProfile = ProfilePlain

	DefaultRetryAttempts      = 3
	DefaultRetryTimeout       = 10 * time.Second
	DefaultRetryBackoff       = time.Second
	DefaultRetryMaxBackoff    = 30 * time.Second
	DefaultRetryMaxRetryAfter = time.Minute
)

// Trunk is one partner's SIP trunk: where MESSAGEs to it go, where its
// MESSAGEs may come from, which identities it owns and its limits. It is
// the `sip` section of a partner in the configuration.
type Trunk struct {
	// Partner names the partner; the loader sets it from the partner's
	// name.
	Partner string `yaml:"-"`
	// NextHop is the SIP URI requests to the partner are sent to:
	// sip:host[:port][;transport=udp|tcp|tls], or sips:.
	NextHop string `yaml:"next_hop"`
	// Transport is udp, tcp or tls; empty takes the next hop's
	// transport parameter, else udp. Over udp, a request larger than
	// UDPMaxBytes goes over tcp (RFC 3261 section 18.1.1).
	Transport string `yaml:"transport"`
	// UDPMaxBytes is that size; default 1300.
	UDPMaxBytes int `yaml:"udp_max_bytes"`
	// RequestHost is the host of the Request-URI and To of a MESSAGE to
	// a number (sip:+number@host;user=phone); default the next hop's.
	RequestHost string `yaml:"request_host"`
	// AllowedSources are the networks (CIDR, or single addresses) the
	// partner's requests come from; a request from elsewhere gets 403.
	AllowedSources []string `yaml:"allowed_sources"`
	// Numbers are the E.164 prefixes the partner serves ("+44", "+1212"),
	// Domains the SIP domains: routing of messages toward it.
	Numbers []string `yaml:"numbers"`
	Domains []string `yaml:"domains"`
	// Numbering says how the partner writes national numbers.
	Numbering address.Options `yaml:"numbering"`
	// TrustAssertedIdentity takes the sender from P-Asserted-Identity
	// when present (RFC 3325: only within a trust domain, which a
	// configured trunk is when the operator says so).
	TrustAssertedIdentity bool `yaml:"trust_asserted_identity"`
	// MaxBodyBytes limits MESSAGE bodies both ways: larger inbound ones
	// get 413, larger outbound texts follow Overflow. Default 1300.
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// Overflow says what to do with an outbound text over MaxBodyBytes.
	Overflow Overflow `yaml:"overflow"`
	// Retry is the outbound retry policy.
	Retry RetryPolicy `yaml:"retry"`
	// Profile is how outbound MESSAGEs are written: ProfilePlain
	// (text/plain, split per Overflow) or ProfileCPM (OMA CPM standalone
	// messages for RCS clients). Default plain.
	Profile string `yaml:"profile"`
	// SMSOverIP says the partner is an IMS network whose MESSAGEs of type
	// application/vnd.3gpp.sms carry SMS (3GPP TS 24.341): they are
	// answered 202 and at the relay layer (RP-ACK / RP-ERROR), and texts
	// toward its users go as SMS-DELIVERs in RP-DATA (smsip.go).
	SMSOverIP bool `yaml:"sms_over_ip"`
	// SCAddress is the service centre address ("+" and digits) the IWF
	// stands as toward an sms_over_ip partner: the RP-Originator-Address
	// of its RP-DATA and the From of its MESSAGEs. Required with
	// SMSOverIP.
	SCAddress string `yaml:"sc_address"`
}

// Overflow is the policy for outbound texts over the body limit.
type Overflow struct {
	// Policy is split (several MESSAGEs), truncate or reject.
	Policy split.Policy `yaml:"policy"`
	// MaxParts caps the MESSAGEs of a split text; default 10.
	MaxParts int `yaml:"max_parts"`
	// Marker ends a truncated text; nil means "…", "" none.
	Marker *string `yaml:"marker"`
	// Counter labels split parts: none, suffix " (1/3)", prefix "(1/3) ".
	Counter split.Counter `yaml:"counter"`
}

// RetryPolicy says when an outbound MESSAGE is sent again: after a
// timeout, a transport error, a 408, a 5xx, or a 503 with Retry-After
// (waiting that long). Other final answers end it.
type RetryPolicy struct {
	// Attempts is how many times a MESSAGE is sent at most; default 3.
	Attempts int `yaml:"attempts"`
	// Timeout bounds one attempt; default 10 s (sipgo's own is 32 s).
	Timeout time.Duration `yaml:"timeout"`
	// Backoff is the wait before the second attempt, doubling up to
	// MaxBackoff; defaults 1 s and 30 s.
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// MaxRetryAfter is the longest Retry-After honoured; a longer one
	// ends the retries. Default 1 min.
	MaxRetryAfter time.Duration `yaml:"max_retry_after"`
}

// WithDefaults returns t with every zero field set to its default.
func (t Trunk) WithDefaults() Trunk {
	setInt(&t.UDPMaxBytes, DefaultUDPMaxBytes)
	setInt(&t.MaxBodyBytes, DefaultMaxBodyBytes)
	setInt(&t.Overflow.MaxParts, DefaultMaxParts)
	if t.Profile == "" {
		t.Profile = DefaultProfile
	}
	if t.Overflow.Marker == nil {
		m := split.DefaultMarker
		t.Overflow.Marker = &m
	}
	setInt(&t.Retry.Attempts, DefaultRetryAttempts)
	setDur(&t.Retry.Timeout, DefaultRetryTimeout)
	setDur(&t.Retry.Backoff, DefaultRetryBackoff)
	setDur(&t.Retry.MaxBackoff, DefaultRetryMaxBackoff)
	setDur(&t.Retry.MaxRetryAfter, DefaultRetryMaxRetryAfter)
	return t
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setDur(p *time.Duration, v time.Duration) {
	if *p == 0 {
		*p = v
	}
}

// Validate checks the trunk (defaults applied first); errors are
// *FieldError joined, named by YAML path relative to the trunk.
func (t Trunk) Validate() error {
	t = t.WithDefaults()
	var errs []error
	bad := func(path, reason string) { errs = append(errs, fieldError(path, reason)) }
	if t.NextHop == "" {
		bad("next_hop", "required")
	} else if _, err := parseNextHop(t.NextHop); err != nil {
		bad("next_hop", err.Error())
	}
	switch strings.ToLower(t.Transport) {
	case "", "udp", "tcp", "tls":
	default:
		bad("transport", "must be udp, tcp or tls, not "+strconv.Quote(t.Transport))
	}
	if t.RequestHost != "" && strings.ContainsAny(t.RequestHost, " :;@<>") {
		bad("request_host", "must be a host name")
	}
	if len(t.AllowedSources) == 0 {
		bad("allowed_sources", "required: every inbound request is checked against it")
	}
	for i, s := range t.AllowedSources {
		if _, err := parseSource(s); err != nil {
			bad("allowed_sources["+strconv.Itoa(i)+"]", err.Error())
		}
	}
	for i, n := range t.Numbers {
		if len(n) < 2 || n[0] != '+' || strings.Trim(n[1:], "0123456789") != "" || len(n) > 16 {
			bad("numbers["+strconv.Itoa(i)+"]", "must be an E.164 prefix: + and 1 to 15 digits, not "+strconv.Quote(n))
		}
	}
	for i, d := range t.Domains {
		if d == "" || strings.ContainsAny(d, " :;@<>") {
			bad("domains["+strconv.Itoa(i)+"]", "must be a domain name, not "+strconv.Quote(d))
		}
	}
	if err := t.Numbering.Validate(); err != nil {
		var oe *address.OptionError
		if errors.As(err, &oe) {
			bad("numbering."+oe.Field, oe.Reason)
		} else {
			bad("numbering", err.Error())
		}
	}
	for _, f := range []struct {
		path string
		v    int64
	}{
		{"udp_max_bytes", int64(t.UDPMaxBytes)},
		{"max_body_bytes", int64(t.MaxBodyBytes)},
		{"overflow.max_parts", int64(t.Overflow.MaxParts)},
		{"retry.attempts", int64(t.Retry.Attempts)},
		{"retry.timeout", int64(t.Retry.Timeout)},
		{"retry.backoff", int64(t.Retry.Backoff)},
		{"retry.max_backoff", int64(t.Retry.MaxBackoff)},
		{"retry.max_retry_after", int64(t.Retry.MaxRetryAfter)},
	} {
		if f.v < 0 {
			bad(f.path, "must not be negative")
		}
	}
	switch t.Profile {
	case ProfilePlain, ProfileCPM:
	default:
		bad("profile", "must be plain or cpm, not "+strconv.Quote(t.Profile))
	}
	if t.Overflow.Policy > split.PolicyReject {
		bad("overflow.policy", "must be split, truncate or reject")
	}
	if t.Overflow.Counter > split.CounterPrefix {
		bad("overflow.counter", "must be none, suffix or prefix")
	}
	switch {
	case t.SMSOverIP && !validSCAddress(t.SCAddress):
		bad("sc_address", "sms_over_ip needs the service centre address: + and 1 to 20 digits, not "+strconv.Quote(t.SCAddress))
	case !t.SMSOverIP && t.SCAddress != "":
		bad("sc_address", "set without sms_over_ip")
	}
	if len(*t.Overflow.Marker) >= t.MaxBodyBytes {
		bad("overflow.marker", "longer than max_body_bytes")
	}
	return errors.Join(errs...)
}

// parseNextHop reads a next-hop URI.
func parseNextHop(s string) (sip.Uri, error) {
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		return u, errors.New("not a SIP URI: " + err.Error())
	}
	if u.Scheme != "sip" && u.Scheme != "sips" {
		return u, errors.New("must be a sip: or sips: URI")
	}
	if u.Host == "" {
		return u, errors.New("has no host")
	}
	if tp, ok := u.UriParams.Get("transport"); ok {
		switch strings.ToLower(tp) {
		case "udp", "tcp", "tls":
		default:
			return u, errors.New("transport parameter must be udp, tcp or tls")
		}
	}
	return u, nil
}

// parseSource reads a CIDR or a single address.
func parseSource(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, errors.New("not a CIDR: " + strconv.Quote(s))
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not an address or CIDR: " + strconv.Quote(s))
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
