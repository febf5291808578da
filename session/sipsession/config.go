package sipsession

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"iwf/session"
	"iwf/session/msrpsdp"
)

// Defaults, in one place.
const (
	// DefaultPreferredService is the OMA CPM session ICSI RCS networks
	// route chat sessions by (3GPP TS 24.229, GSMA RCC.07 section 2.2).
	DefaultPreferredService = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session"
	// AcceptContactSession is the Accept-Contact of RCS chat INVITEs with
	// the default service: the same CPM session ICSI as a feature tag
	// (RFC 3841, 3GPP TS 24.229 section 7.9.2), never the OMA SIMPLE IM
	// tag of pre-CPM chat, which would route the session elsewhere.
	AcceptContactSession = `*;+g.3gpp.icsi-ref="urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session"`
	// DefaultSessionExpires is the session interval we ask for and grant
	// (RFC 4028 section 4 recommends 1800 s).
	DefaultSessionExpires = 1800 * time.Second
	// DefaultMinSE is the smallest session interval we take: RFC 4028
	// section 4 forbids less than 90 s.
	DefaultMinSE = 90 * time.Second
	// DefaultInviteTimeout is Timer B (64*T1, RFC 3261 section 17.1.1.2):
	// how long an INVITE waits for a final answer before it is cancelled.
	DefaultInviteTimeout = 32 * time.Second
	// DefaultAckTimeout is 64*T1 (RFC 3261 section 13.3.1.4): a 2xx never
	// acknowledged by then ends the call.
	DefaultAckTimeout = 32 * time.Second
	// DefaultByeTimeout bounds the BYE transaction of a local close.
	DefaultByeTimeout = 5 * time.Second
	// DefaultUserAgent goes in User-Agent when Config.UserAgent is empty.
	DefaultUserAgent = "iwf"
	// DefaultEventBuffer is the capacity of a Call's Events channel.
	DefaultEventBuffer = 64
	// DefaultMaxIncoming caps the incoming calls held at once
	// (DefaultLimits).
	DefaultMaxIncoming = 10000
	// overloadRetryAfter is the Retry-After, in seconds, of the 503 that
	// answers an INVITE over Limits.MaxIncoming (RFC 3261 section
	// 21.5.4): calls end within seconds to minutes, so a retry soon may
	// find room.
	overloadRetryAfter = 10
)

// Limits caps the incoming calls held at once, from the INVITE's
// admission to the call's end, so that the far side cannot take every
// MSRP session and descriptor. Zero means no cap.
type Limits struct {
	// MaxIncoming caps them in all; an INVITE beyond it is answered 503
	// with Retry-After.
	MaxIncoming int `yaml:"max_incoming_sessions"`
	// MaxIncomingPerSource caps those from one source address; an INVITE
	// beyond it is answered 486 Busy Here. RCS networks send every
	// INVITE through a few core proxies, so it is no cap by default.
	MaxIncomingPerSource int `yaml:"max_incoming_sessions_per_source"`
}

// DefaultLimits caps the incoming calls at DefaultMaxIncoming in all.
func DefaultLimits() Limits { return Limits{MaxIncoming: DefaultMaxIncoming} }

// Validate checks the limits; errors are *FieldError joined, named by
// their keys.
func (l Limits) Validate() error {
	var errs []error
	if l.MaxIncoming < 0 {
		errs = append(errs, &FieldError{Path: "max_incoming_sessions", Reason: "must not be negative"})
	}
	if l.MaxIncomingPerSource < 0 {
		errs = append(errs, &FieldError{Path: "max_incoming_sessions_per_source", Reason: "must not be negative"})
	}
	return errors.Join(errs...)
}

// Header is an extra header a trunk adds to its INVITEs.
type Header struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// Trunk is the per-partner part of outgoing INVITEs. The pager side has
// its own trunk settings (allowed sources, routing); cmd/iwf merges both
// under one partner.
type Trunk struct {
	// Name is the partner, used in logs.
	Name string `yaml:"name"`
	// NextHop is the SIP URI the INVITEs are sent to (an SBC or the
	// partner's proxy), e.g. "sip:sbc.example.net:5060;transport=tcp".
	NextHop string `yaml:"next_hop"`
	// Transport is udp, tcp or tls; empty takes the next hop's transport
	// parameter, else udp. An INVITE with an SDP offer is well under the
	// 1300-byte limit of RFC 3261 section 18.1.1, but RCS networks mostly
	// want TCP.
	Transport string `yaml:"transport"`
	// AcceptContact adds an Accept-Contact with the service's ICSI as
	// +g.3gpp.icsi-ref (RFC 3841; AcceptContactSession by default).
	AcceptContact bool `yaml:"accept_contact"`
	// PreferredService is the P-Preferred-Service value (RFC 6050); empty
	// sends none. The same ICSI is the +g.3gpp.icsi-ref of our Contact
	// and Accept-Contact (DefaultPreferredService when empty), so that
	// the three never name different services (GSMA RCC.07 section 2.4).
	PreferredService string `yaml:"preferred_service"`
	// AssertedIdentity sends our From identity as P-Asserted-Identity
	// (RFC 3325): the RCS core is the trust domain we assert into.
	AssertedIdentity bool `yaml:"asserted_identity"`
	// Privacy is the Privacy header sent with it (RFC 3323, RFC 3325
	// section 9.3), e.g. "id"; empty sends none.
	Privacy string `yaml:"privacy"`
	// Setup is our a=setup in offers: "actpass" (default: the answerer
	// chooses, RFC 6135) or "active" (we always connect, for peers behind
	// NAT that cannot be reached).
	Setup string `yaml:"setup"`
	// InviteTimeout bounds the wait for a final answer (default 32 s).
	InviteTimeout time.Duration `yaml:"invite_timeout"`
	// ExtraHeaders are added to every INVITE as given.
	ExtraHeaders []Header `yaml:"extra_headers"`
}

// DefaultTrunk returns the RCS defaults a partner's settings are decoded
// over: Accept-Contact on, the CPM session ICSI, P-Asserted-Identity
// on, no Privacy, actpass, 32 s.
func DefaultTrunk() Trunk {
	return Trunk{
		AcceptContact:    true,
		PreferredService: DefaultPreferredService,
		AssertedIdentity: true,
		Setup:            "actpass",
		InviteTimeout:    DefaultInviteTimeout,
	}
}

// Validate checks the trunk; errors are *FieldError joined, their paths
// relative to the trunk ("next_hop"): prefix them with the partner's path.
func (t Trunk) Validate() error {
	var errs []error
	bad := func(path, reason string) { errs = append(errs, &FieldError{Path: path, Reason: reason}) }
	if t.NextHop == "" {
		bad("next_hop", "missing")
	} else if u, err := t.nextHop(); err != nil {
		bad("next_hop", err.Error())
	} else if u.Scheme != "sip" && u.Scheme != "sips" || u.Host == "" {
		bad("next_hop", "want a sip: or sips: uri with a host, got "+t.NextHop)
	}
	switch strings.ToLower(t.Transport) {
	case "", "udp", "tcp", "tls":
	default:
		bad("transport", "want udp, tcp or tls, got "+t.Transport)
	}
	if _, err := parseSetupPolicy(t.Setup); err != nil {
		bad("setup", err.Error())
	}
	if t.InviteTimeout < 0 {
		bad("invite_timeout", "negative")
	}
	for i, h := range t.ExtraHeaders {
		if !isToken(h.Name) {
			bad("extra_headers["+strconv.Itoa(i)+"].name", "not a header name: "+h.Name)
		}
		if strings.ContainsAny(h.Value, "\r\n") {
			bad("extra_headers["+strconv.Itoa(i)+"].value", "contains a line break")
		}
	}
	if strings.ContainsAny(t.PreferredService, "\r\n\"") {
		bad("preferred_service", "contains a line break or a quote")
	}
	if t.Privacy != "" {
		for _, v := range strings.Split(t.Privacy, ";") {
			if !privacyValues[strings.ToLower(strings.TrimSpace(v))] {
				bad("privacy", "want priv-values of RFC 3323 (header, session, user, none, critical, id) separated by ;, got "+t.Privacy)
				break
			}
		}
	}
	return errors.Join(errs...)
}

// privacyValues are the priv-values of RFC 3323 section 4.2 and RFC 3325
// section 9.3.
var privacyValues = map[string]bool{"header": true, "session": true, "user": true, "none": true, "critical": true, "id": true}

// service is the ICSI the trunk's requests name.
func (t Trunk) service() string {
	if t.PreferredService != "" {
		return t.PreferredService
	}
	return DefaultPreferredService
}

func (t Trunk) nextHop() (sip.Uri, error) {
	var u sip.Uri
	err := sip.ParseUri(t.NextHop, &u)
	return u, err
}

// NextHopHost is the host[:port] of NextHop: the host our identities
// carry in the Request-URI of an INVITE sent there. It is "" when NextHop
// is not a SIP URI.
func (t Trunk) NextHopHost() string {
	u, err := t.nextHop()
	if err != nil || u.Host == "" {
		return ""
	}
	if u.Port > 0 {
		return u.Host + ":" + strconv.Itoa(u.Port)
	}
	return u.Host
}

// transport is the trunk's transport, lowercase.
func (t Trunk) transport(hop sip.Uri) string {
	if t.Transport != "" {
		return strings.ToLower(t.Transport)
	}
	if hop.UriParams != nil {
		if tp, ok := hop.UriParams.Get("transport"); ok && tp != "" {
			return strings.ToLower(tp)
		}
	}
	if hop.Scheme == "sips" {
		return "tls"
	}
	return "udp"
}

func parseSetupPolicy(s string) (msrpsdp.Setup, error) {
	switch strings.ToLower(s) {
	case "", "actpass":
		return msrpsdp.SetupActPass, nil
	case "active":
		return msrpsdp.SetupActive, nil
	}
	return 0, errors.New("want actpass or active, got " + s)
}

// isToken: token of RFC 3261 section 25.1, which a header name is.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-.!%*_+`'~", c) >= 0) {
			return false
		}
	}
	return true
}

// SessionTimer is our side of RFC 4028 session timers.
type SessionTimer struct {
	// Expires is the session interval we ask for in our INVITEs and
	// grant to peers that support timers without asking for one; 0 asks
	// for none (a peer's request is still honoured).
	Expires time.Duration `yaml:"session_expires"`
	// MinSE is the smallest interval we accept: below it an INVITE is
	// answered 422 with our Min-SE (RFC 4028 section 9).
	MinSE time.Duration `yaml:"min_se"`
}

// DefaultSessionTimer asks for DefaultSessionExpires and takes no less
// than DefaultMinSE.
func DefaultSessionTimer() SessionTimer {
	return SessionTimer{Expires: DefaultSessionExpires, MinSE: DefaultMinSE}
}

// Validate checks the timer; errors are *FieldError joined, named by
// their keys. The headers carry whole seconds, so the values must be.
func (s SessionTimer) Validate() error {
	var errs []error
	bad := func(path, reason string) { errs = append(errs, &FieldError{Path: path, Reason: reason}) }
	switch {
	case s.MinSE < DefaultMinSE:
		bad("min_se", "below 90s, which RFC 4028 section 4 forbids")
	case s.MinSE%time.Second != 0:
		bad("min_se", "not whole seconds")
	}
	switch {
	case s.Expires < 0:
		bad("session_expires", "negative")
	case s.Expires == 0:
	case s.Expires%time.Second != 0:
		bad("session_expires", "not whole seconds")
	case s.Expires < s.MinSE:
		bad("session_expires", "below min_se "+s.MinSE.String())
	}
	return errors.Join(errs...)
}

// Stack is what the package needs of the process's SIP stack
// (internal/sipstack.Stack satisfies it): a client per transport, sending
// from the listener's address, and our Contact on that transport.
type Stack interface {
	Client(transport string) (*sipgo.Client, error)
	Contact(transport, user string) sip.Uri
}

// Config configures a Manager. Zero fields take the defaults listed.
type Config struct {
	// Stack sends requests and names our Contact. Required.
	Stack Stack
	// Endpoint is the MSRP endpoint sessions are created on. Required.
	Endpoint *session.Endpoint
	// UserAgent is the User-Agent of our requests and the Server of our
	// responses (default "iwf").
	UserAgent string
	// AcceptTypes are the MSRP content types we take (default
	// message/cpim text/plain), AcceptWrappedTypes those taken inside CPIM
	// (default text/plain message/imdn+xml).
	AcceptTypes        []string
	AcceptWrappedTypes []string
	// MaxSize is our a=max-size (0: the endpoint's MaxMessageSize).
	MaxSize int64
	// AnswerSetup is our a=setup answering an actpass offer: "passive"
	// (default: the RCS client, which is often behind NAT, connects) or
	// "active".
	AnswerSetup string
	// AckTimeout ends an answered incoming call whose ACK never came
	// (default 32 s).
	AckTimeout time.Duration
	// ByeTimeout bounds the BYE of a local close (default 5 s).
	ByeTimeout time.Duration
	// EventBuffer is the capacity of each Call's Events channel (64).
	EventBuffer int
	// OnIncoming receives each incoming call after its offer was accepted
	// and before the 200 is sent; a non-nil error answers the INVITE
	// instead with the error's SIPStatus (see Reject), else 500. It runs
	// on the INVITE's goroutine; Call.Context ends if the caller CANCELs.
	// Nil rejects every incoming INVITE with 480.
	OnIncoming func(*Call) error
	// OnMessage, when set, receives every message of every call on the
	// MSRP reader instead of Events, and the 200 for its last chunk waits
	// for it: an application that stores messages durably answers 200 only
	// once they are stored (DESIGN flow 2 step 4). An error answers the
	// chunk with its MSRPStatus (session.Reject), else 500.
	OnMessage func(ctx context.Context, c *Call, m *session.Message) error
	// ManualReports leaves Success-Reports to the application
	// (session.Message.Report) on every session, for reports that wait
	// until a message was delivered further.
	ManualReports bool
	// Allow, when set, is asked first about every INVITE, initial or
	// re-INVITE, before its body is read or any MSRP resource is made;
	// false answers 403 Forbidden. It is where the source check goes.
	Allow func(req *sip.Request) bool
	// Limits caps the incoming calls held at once (zero: no caps).
	Limits Limits
	// SessionTimer is our RFC 4028 session timer; a zero MinSE takes
	// DefaultMinSE, a zero Expires asks for no timer.
	SessionTimer SessionTimer
	// Trusted, when set, says whether an INVITE's source is in our trust
	// domain (RFC 3325): only then is its P-Asserted-Identity the
	// caller's identity (Call.From); elsewhere the header is ignored.
	Trusted func(req *sip.Request) bool
	// Partner names the partner an incoming INVITE came from, for logs
	// and Call.Partner (optional).
	Partner func(req *sip.Request) string
	// Logger receives the logs (default slog.Default()), with
	// component=sip added.
	Logger *slog.Logger

	// afterFunc starts the session timers: time.AfterFunc unless a test
	// injects its clock. It returns the timer's Stop.
	afterFunc func(d time.Duration, f func()) func() bool
	// trace, when set, hears what happened on a call's dialog (tests
	// await these instead of sleeping).
	trace func(c *Call, event string)
}

func (c Config) withDefaults() Config {
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if len(c.AcceptTypes) == 0 {
		c.AcceptTypes = []string{"message/cpim", "text/plain"}
	}
	if len(c.AcceptWrappedTypes) == 0 {
		c.AcceptWrappedTypes = []string{"text/plain", "message/imdn+xml"}
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.ByeTimeout <= 0 {
		c.ByeTimeout = DefaultByeTimeout
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = DefaultEventBuffer
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SessionTimer.MinSE <= 0 {
		c.SessionTimer.MinSE = DefaultMinSE
	}
	if c.afterFunc == nil {
		c.afterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.Stack == nil {
		errs = append(errs, &FieldError{Path: "stack", Reason: "missing"})
	}
	if c.Endpoint == nil {
		errs = append(errs, &FieldError{Path: "endpoint", Reason: "missing"})
	}
	switch strings.ToLower(c.AnswerSetup) {
	case "", "passive", "active":
	default:
		errs = append(errs, &FieldError{Path: "answer_setup", Reason: "want passive or active, got " + c.AnswerSetup})
	}
	errs = append(errs, c.Limits.Validate())
	if c.SessionTimer != (SessionTimer{}) {
		st := c.SessionTimer
		if st.MinSE == 0 {
			st.MinSE = DefaultMinSE
		}
		errs = append(errs, st.Validate())
	}
	return errors.Join(errs...)
}
