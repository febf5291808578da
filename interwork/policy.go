package interwork

import (
	"cmp"
	"fmt"
	"time"

	"iwf/internal/cfgerr"
)

// Promotion says when pager-mode traffic of a conversation becomes an MSRP
// session (DESIGN flow 1 step 4).
type Promotion string

// The promotion policies.
const (
	// PromoteAlways opens a session on the first message.
	PromoteAlways Promotion = "always"
	// PromoteThreshold opens one once Threshold messages arrived within
	// ThresholdWindow; before that messages are relayed pager-mode.
	PromoteThreshold Promotion = "threshold"
	// PromoteNever relays every message pager-mode.
	PromoteNever Promotion = "never"
)

// Fallback is what happens to queued messages when a session cannot be
// opened or used.
type Fallback string

// The fallbacks.
const (
	// FallbackPager relays the queued messages pager-mode (SIP MESSAGE to
	// the RCS side).
	FallbackPager Fallback = "pager"
	// FallbackFail returns each message to its sender as failed: an SMS
	// delivery receipt with an error, which is the only answer left once
	// the submit was acknowledged.
	FallbackFail Fallback = "fail"
	// FallbackRetry keeps the messages queued and tries to open again,
	// waiting RetryDelay and doubling the wait up to RetryMaxDelay, until
	// the message expires (its SMS validity period, else MaxAge after it
	// was accepted) or MaxRetries is spent, then fails it.
	FallbackRetry Fallback = "retry"
)

// Policy is one partner's session behaviour: the `session` section of a
// partner in the configuration. Zero fields take Defaults.
type Policy struct {
	Promotion       Promotion     `yaml:"promotion"`
	Threshold       int           `yaml:"threshold"`
	ThresholdWindow time.Duration `yaml:"threshold_window"`
	// IdleTimeout closes a session (BYE) with no message either way for
	// this long; the conversation record then lives ConversationTTL.
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	ConversationTTL time.Duration `yaml:"conversation_ttl"`
	// OpenTimeout bounds INVITE to MSRP bind.
	OpenTimeout time.Duration `yaml:"open_timeout"`
	// OnOpenFailure applies when INVITE is refused or times out, the MSRP
	// connection fails, or a SEND gets no answer.
	OnOpenFailure Fallback `yaml:"on_open_failure"`
	// RetryDelay is the first wait of a retry, doubled after each failure
	// up to RetryMaxDelay.
	RetryDelay    time.Duration `yaml:"retry_delay"`
	RetryMaxDelay time.Duration `yaml:"retry_max_delay"`
	// MaxRetries caps the retries of one message; 0 retries until it
	// expires.
	MaxRetries int `yaml:"max_retries"`
	// MaxAge is how long a message may wait for delivery when it carries
	// no validity period of its own (SMPP validity_period): then it fails
	// back to its sender.
	MaxAge time.Duration `yaml:"max_age"`
	// MaxSessions caps the partner's live sessions; beyond it
	// OnSessionLimit applies: pager (relay pager-mode) or fail.
	MaxSessions    int      `yaml:"max_sessions"`
	OnSessionLimit Fallback `yaml:"on_session_limit"`
	// RateLimit caps the partner's messages per second toward the RCS side
	// (0: none); beyond it ingress is answered "throttled" (SIP 503 with
	// Retry-After, ESME_RTHROTTLED) before anything is stored.
	RateLimit float64 `yaml:"rate_limit"`
	// QueueMax bounds one conversation's queue; beyond it ingress is
	// refused (SIP 503, ESME_RMSGQFUL).
	QueueMax int `yaml:"queue_max"`
	// DedupTTL is how long a message id is remembered against resends.
	DedupTTL time.Duration `yaml:"dedup_ttl"`
	// SuccessReports asks the RCS side for MSRP Success-Reports (and
	// IMDN delivery notifications), which become SMS delivery receipts.
	SuccessReports bool `yaml:"success_reports"`
}

// Defaults returns the policy an empty section means.
func Defaults() Policy {
	return Policy{
		Promotion:       PromoteAlways,
		Threshold:       3,
		ThresholdWindow: time.Minute,
		IdleTimeout:     5 * time.Minute,
		ConversationTTL: 24 * time.Hour,
		OpenTimeout:     30 * time.Second,
		OnOpenFailure:   FallbackRetry,
		RetryDelay:      5 * time.Second,
		RetryMaxDelay:   5 * time.Minute,
		MaxAge:          24 * time.Hour,
		MaxSessions:     10000,
		OnSessionLimit:  FallbackPager,
		QueueMax:        1000,
		DedupTTL:        24 * time.Hour,
		SuccessReports:  true,
	}
}

// WithDefaults fills zero fields from Defaults. RateLimit, MaxRetries
// and SuccessReports have no zero to fill: zero means none, no cap and no.
func (p Policy) WithDefaults() Policy {
	d := Defaults()
	p.Promotion = cmp.Or(p.Promotion, d.Promotion)
	p.Threshold = cmp.Or(p.Threshold, d.Threshold)
	p.ThresholdWindow = cmp.Or(p.ThresholdWindow, d.ThresholdWindow)
	p.IdleTimeout = cmp.Or(p.IdleTimeout, d.IdleTimeout)
	p.ConversationTTL = cmp.Or(p.ConversationTTL, d.ConversationTTL)
	p.OpenTimeout = cmp.Or(p.OpenTimeout, d.OpenTimeout)
	p.OnOpenFailure = cmp.Or(p.OnOpenFailure, d.OnOpenFailure)
	p.RetryDelay = cmp.Or(p.RetryDelay, d.RetryDelay)
	p.RetryMaxDelay = cmp.Or(p.RetryMaxDelay, max(d.RetryMaxDelay, p.RetryDelay))
	p.MaxAge = cmp.Or(p.MaxAge, d.MaxAge)
	p.MaxSessions = cmp.Or(p.MaxSessions, d.MaxSessions)
	p.OnSessionLimit = cmp.Or(p.OnSessionLimit, d.OnSessionLimit)
	p.QueueMax = cmp.Or(p.QueueMax, d.QueueMax)
	p.DedupTTL = cmp.Or(p.DedupTTL, d.DedupTTL)
	return p
}

// Validate checks p; errors name the field.
func (p Policy) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &cfgerr.FieldError{Pkg: "interwork", Path: field, Reason: fmt.Sprintf(format, args...), Kind: ErrInvalidConfig}
	}
	switch p.Promotion {
	case PromoteAlways, PromoteThreshold, PromoteNever:
	default:
		return bad("promotion", "%q is not always, threshold or never", p.Promotion)
	}
	if p.Threshold < 1 {
		return bad("threshold", "%d: at least 1", p.Threshold)
	}
	switch p.OnOpenFailure {
	case FallbackPager, FallbackFail, FallbackRetry:
	default:
		return bad("on_open_failure", "%q is not pager, fail or retry", p.OnOpenFailure)
	}
	switch p.OnSessionLimit {
	case FallbackPager, FallbackFail:
	default:
		return bad("on_session_limit", "%q is not pager or fail", p.OnSessionLimit)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"threshold_window", p.ThresholdWindow}, {"idle_timeout", p.IdleTimeout}, {"conversation_ttl", p.ConversationTTL},
		{"open_timeout", p.OpenTimeout}, {"retry_delay", p.RetryDelay}, {"retry_max_delay", p.RetryMaxDelay},
		{"max_age", p.MaxAge}, {"dedup_ttl", p.DedupTTL}} {
		if d.v <= 0 {
			return bad(d.name, "%v: must be positive", d.v)
		}
	}
	if p.RetryMaxDelay < p.RetryDelay {
		return bad("retry_max_delay", "%v is less than retry_delay %v", p.RetryMaxDelay, p.RetryDelay)
	}
	if p.MaxRetries < 0 {
		return bad("max_retries", "%d is negative", p.MaxRetries)
	}
	if p.MaxSessions < 1 {
		return bad("max_sessions", "%d: at least 1", p.MaxSessions)
	}
	if p.RateLimit < 0 {
		return bad("rate_limit", "%v is negative", p.RateLimit)
	}
	if p.QueueMax < 1 {
		return bad("queue_max", "%d: at least 1", p.QueueMax)
	}
	return nil
}
