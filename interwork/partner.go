package interwork

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"iwf/internal/cfgerr"
)

// Partner is one peering partner as interwork sees it.
type Partner struct {
	Name   string
	Policy Policy
	// Numbers (E.164 prefixes, "+" for all) and Domains route RCS-side
	// messages to this partner.
	Numbers []string
	Domains []string
	// DeliverVia is "smpp" or "sip": how messages reach this partner.
	DeliverVia string
	// SMS is how text is coded and segmented toward the partner; zero
	// fields take DefaultSMSConfig's.
	SMS SMSConfig
}

// partner is a Partner with its live state.
type partner struct {
	Partner
	sessions atomic.Int64
	counters counters
	limiter  *limiter
}

func newPartner(p Partner) (*partner, error) {
	if p.Name == "" {
		return nil, errors.New("name: empty")
	}
	p.Policy = p.Policy.WithDefaults()
	if err := p.Policy.Validate(); err != nil {
		return nil, err
	}
	switch p.DeliverVia {
	case "smpp", "sip":
	default:
		return nil, fmt.Errorf("deliver_via: %q is not smpp or sip", p.DeliverVia)
	}
	p.SMS = p.SMS.WithDefaults()
	if err := p.SMS.Validate(); err != nil {
		return nil, cfgerr.Prefix("sms", err)
	}
	pp := &partner{Partner: p}
	if p.Policy.RateLimit > 0 {
		pp.limiter = newLimiter(p.Policy.RateLimit, time.Now)
	}
	return pp, nil
}

// route finds the partner of an RCS-side recipient: the longest number
// prefix, else a domain.
func (e *Engine) route(addr string) (*partner, bool) {
	var best *partner
	bestLen := -1
	for _, p := range e.order {
		if strings.HasPrefix(addr, "+") {
			for _, n := range p.Numbers {
				if strings.HasPrefix(addr, n) && len(n) > bestLen {
					best, bestLen = p, len(n)
				}
			}
			continue
		}
		if i := strings.LastIndexByte(addr, '@'); i >= 0 {
			host := strings.ToLower(addr[i+1:])
			for _, d := range p.Domains {
				if strings.EqualFold(host, d) && bestLen < 0 {
					best, bestLen = p, 0
				}
			}
		}
	}
	return best, best != nil
}

// counters are a partner's message counters for the status page.
type counters struct {
	mu sync.Mutex
	m  map[string]int64
}

func (c *counters) add(name string, n int64) {
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]int64)
	}
	c.m[name] += n
	c.mu.Unlock()
}

func (c *counters) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

// limiter is a token bucket: rate per second, a burst of one second.
type limiter struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newLimiter(rate float64, now func() time.Time) *limiter {
	return &limiter{rate: rate, tokens: rate, last: now(), now: now}
}

func (l *limiter) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	l.tokens = min(l.rate, l.tokens+t.Sub(l.last).Seconds()*l.rate)
	l.last = t
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}

// convKey names a conversation: the partner, the SMS-side party and the
// RCS-side party, both normalised. Both directions share it.
type convKey struct {
	Partner, SMS, RCS string
}

func (k convKey) String() string {
	return url.QueryEscape(k.Partner) + "|" + url.QueryEscape(k.SMS) + "|" + url.QueryEscape(k.RCS)
}

func parseConvKey(s string) (convKey, error) {
	parts := strings.Split(s, "|")
	if len(parts) != 3 {
		return convKey{}, fmt.Errorf("interwork: conversation key %q", s)
	}
	var out [3]string
	for i, p := range parts {
		v, err := url.QueryUnescape(p)
		if err != nil {
			return convKey{}, fmt.Errorf("interwork: conversation key %q: %w", s, err)
		}
		out[i] = v
	}
	return convKey{Partner: out[0], SMS: out[1], RCS: out[2]}, nil
}
