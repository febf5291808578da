package interwork

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPolicyValidate(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	want := Defaults()
	want.SuccessReports = false // a bool has no "unset": the loader starts from Defaults
	if got := (Policy{}).WithDefaults(); got != want {
		t.Fatalf("an empty policy with defaults is %+v", got)
	}
	tests := []struct {
		field string
		mod   func(*Policy)
	}{
		{"promotion", func(p *Policy) { p.Promotion = "sometimes" }},
		{"threshold", func(p *Policy) { p.Threshold = 0 }},
		{"on_open_failure", func(p *Policy) { p.OnOpenFailure = "panic" }},
		{"on_session_limit", func(p *Policy) { p.OnSessionLimit = FallbackRetry }},
		{"idle_timeout", func(p *Policy) { p.IdleTimeout = -time.Second }},
		{"max_retries", func(p *Policy) { p.MaxRetries = -1 }},
		{"max_sessions", func(p *Policy) { p.MaxSessions = 0 }},
		{"rate_limit", func(p *Policy) { p.RateLimit = -1 }},
		{"queue_max", func(p *Policy) { p.QueueMax = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			p := Defaults()
			tt.mod(&p)
			err := p.Validate()
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field+":") {
				t.Fatalf("error %v does not name %s", err, tt.field)
			}
		})
	}
}
