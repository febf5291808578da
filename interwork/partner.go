package interwork

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"iwf/internal/cfgerr"
	"iwf/smpp"
	"iwf/smpp/concat"
)

// Partner is one peering partner as interwork sees it.
type Partner struct {
	Name   string
	Policy Policy
	// Numbers (E.164 prefixes, "+" for all) and Domains route RCS-side
	// messages to this partner.
	Numbers []string
	Domains []string
	// DeliverVia is how messages reach this partner.
	DeliverVia Via
	// SMS is how text is coded and segmented toward the partner; zero
	// fields take DefaultSMSConfig's.
	SMS SMSConfig
	// Numbering reads the partner's SMPP addresses as conversation keys.
	Numbering smpp.Numbering
	// SMSOverIP says the partner's SIP trunk carries SMS over IP (3GPP TS
	// 24.341): its MESSAGEs bring SMS-SUBMITs, and texts toward it go as
	// SMS-DELIVERs (smsip.go). SCAddress is then our service centre
	// address, "+" and digits.
	SMSOverIP bool
	SCAddress string
}

// Via is the protocol a partner's messages go out on.
type Via string

// The ways to a partner.
const (
	ViaSMPP Via = "smpp"
	ViaSIP  Via = "sip"
)

// partner is a Partner with its live state.
type partner struct {
	Partner
	// given is the Partner as configured, before defaults: SetPartners
	// compares it to tell a changed partner from an unchanged one.
	given Partner
	// sessions and counters are shared by the partner's versions across
	// a SetPartners, so that a changed partner keeps its figures and the
	// conversations still on the old version count in the new one.
	sessions *atomic.Int64
	counters *counters
	// opening counts the sessions reserved and still opening
	// (reserveSession), shared like sessions.
	opening *atomic.Int64
	// removed is set on a partner SetPartners dropped: its queued
	// messages are still delivered, new ones refused (admin.go).
	removed bool
	limiter *limiter
	// reasm reassembles the partner's concatenated SMS with its own
	// timeout, policy and limits.
	reasm *concat.Reassembler
	// stuck counts, per message, the expiry rounds in a row that could
	// not settle it (Engine.expireParts); only Run's goroutine uses it.
	stuck map[concat.Key]int
}

func newPartner(p Partner, parts concat.PartStore) (*partner, error) {
	if p.Name == "" {
		return nil, errNoName
	}
	given := p
	p.Policy = p.Policy.WithDefaults()
	if err := p.Policy.Validate(); err != nil {
		return nil, err
	}
	switch p.DeliverVia {
	case ViaSMPP, ViaSIP:
	default:
		return nil, fmt.Errorf("deliver_via: %q is not smpp or sip", p.DeliverVia)
	}
	p.SMS = p.SMS.WithDefaults()
	if err := p.SMS.Validate(); err != nil {
		return nil, cfgerr.Prefix("sms", err)
	}
	if p.SMSOverIP {
		if _, err := scAddress(p.SCAddress); err != nil {
			return nil, fmt.Errorf("sc_address: %w", err)
		}
	}
	if err := p.Numbering.Validate(); err != nil {
		return nil, cfgerr.Prefix("numbering", err)
	}
	reasm, err := concat.NewReassembler(parts, p.SMS.Reassembly(p.Name))
	if err != nil {
		return nil, fmt.Errorf("sms: %w", err)
	}
	pp := &partner{Partner: p, given: given, reasm: reasm, sessions: new(atomic.Int64), counters: new(counters), opening: new(atomic.Int64)}
	if p.Policy.RateLimit > 0 {
		pp.limiter = newLimiter(p.Policy.RateLimit, time.Now)
	}
	return pp, nil
}

// route finds the partner of an RCS-side recipient: the longest number
// prefix, else a domain.
func (e *Engine) route(to party) (*partner, bool) {
	addr := to.id
	var best *partner
	bestLen := -1
	for _, p := range e.activePartners() {
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
	m  map[counter]int64
}

func (c *counters) add(name counter, n int64) {
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[counter]int64)
	}
	c.m[name] += n
	c.mu.Unlock()
}

func (c *counters) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.m))
	for k, v := range c.m {
		out[string(k)] = v
	}
	return out
}

// limiter is a token bucket: rate per second, a burst of one second.
// With a Cluster it holds the tokens taken from the shared bucket
// (allowMessage), and is the node's own bucket when the store fails.
type limiter struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
	now    func() time.Time
	// held tokens of the shared bucket are spendable until heldUntil.
	held      int
	heldUntil time.Time
}

func newLimiter(rate float64, now func() time.Time) *limiter {
	return &limiter{rate: rate, tokens: rate, last: now(), now: now}
}

func (l *limiter) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.allowLocked()
}

// allowLocked is allow with l.mu held.
func (l *limiter) allowLocked() bool {
	t := l.now()
	l.tokens = min(l.rate, l.tokens+t.Sub(l.last).Seconds()*l.rate)
	l.last = t
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
