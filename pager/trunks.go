package pager

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/address"
)

// Trunks is the validated table of every partner's trunk, with the
// lookups the SIP side needs: by source address (inbound), by identity
// (routing) and by name (outbound). It is read-only once built and safe
// for concurrent use; Replace swaps the whole table (a configuration
// reload).
type Trunks struct {
	mu     sync.RWMutex
	list   []*trunk
	byName map[string]*trunk
}

// trunk is a Trunk with its parsed fields.
type trunk struct {
	Trunk
	sources   []netip.Prefix
	nextHop   sip.Uri
	transport string // udp, tcp or tls
	dest      string // host:port requests are sent to
	reqHost   string
}

// NewTrunks validates every trunk (defaults applied) and builds the
// table. Errors name the trunk: "trunks[1].next_hop"; the loader prefixes
// its own path.
func NewTrunks(ts []Trunk) (*Trunks, error) {
	t := &Trunks{byName: map[string]*trunk{}}
	var errs []error
	for i, tr := range ts {
		p := "trunks[" + strconv.Itoa(i) + "]"
		if err := tr.Validate(); err != nil {
			errs = append(errs, Prefix(p, err))
			continue
		}
		if tr.Partner == "" {
			errs = append(errs, fieldError(p+".partner", "required"))
			continue
		}
		if _, dup := t.byName[tr.Partner]; dup {
			errs = append(errs, fieldError(p+".partner", "a second trunk for partner "+strconv.Quote(tr.Partner)))
			continue
		}
		c := compile(tr.WithDefaults())
		t.list = append(t.list, c)
		t.byName[c.Partner] = c
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// compile parses the fields of a validated trunk.
func compile(tr Trunk) *trunk {
	c := &trunk{Trunk: tr}
	for _, s := range tr.AllowedSources {
		p, _ := parseSource(s)
		c.sources = append(c.sources, p)
	}
	c.nextHop, _ = parseNextHop(tr.NextHop)
	c.transport = strings.ToLower(tr.Transport)
	if c.transport == "" {
		c.transport = strings.ToLower(c.nextHop.UriParams.GetOr("transport", "udp"))
		if c.nextHop.Scheme == "sips" {
			c.transport = "tls"
		}
	}
	port := c.nextHop.Port
	if port == 0 {
		port = 5060
		if c.transport == "tls" {
			port = 5061 // RFC 3261 section 19.1.2
		}
	}
	c.dest = net.JoinHostPort(c.nextHop.Host, strconv.Itoa(port))
	c.reqHost = tr.RequestHost
	if c.reqHost == "" {
		c.reqHost = c.nextHop.Host
	}
	c.Domains = slices.Clone(tr.Domains)
	for i, d := range c.Domains {
		c.Domains[i] = strings.ToLower(strings.TrimSuffix(d, "."))
	}
	return c
}

// Get returns the trunk of a partner.
func (t *Trunks) Get(partner string) (Trunk, bool) {
	c, ok := t.lookup(partner)
	if !ok {
		return Trunk{}, false
	}
	return c.Trunk, true
}

// Partners lists the partners in configuration order.
func (t *Trunks) Partners() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, len(t.list))
	for i, c := range t.list {
		out[i] = c.Partner
	}
	return out
}

// BySource returns the partner whose allowed sources hold ip, the most
// specific prefix winning when several do.
func (t *Trunks) BySource(ip netip.Addr) (string, bool) {
	c := t.bySource(ip)
	if c == nil {
		return "", false
	}
	return c.Partner, true
}

func (t *Trunks) bySource(ip netip.Addr) *trunk {
	t.mu.RLock()
	defer t.mu.RUnlock()
	ip = ip.Unmap()
	var best *trunk
	bits := -1
	for _, c := range t.list {
		for _, p := range c.sources {
			if p.Bits() > bits && p.Contains(ip) {
				best, bits = c, p.Bits()
			}
		}
	}
	return best
}

// Route returns the partner that owns an identity: for a global number,
// the longest matching Numbers prefix; for a SIP identity, the domain
// matching its host or a parent of it, the longest winning.
func (t *Trunks) Route(a address.Address) (string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var best *trunk
	n := 0
	for _, c := range t.list {
		switch a.Kind {
		case address.KindGlobal:
			for _, p := range c.Numbers {
				if len(p) > n && strings.HasPrefix(a.Number, p) {
					best, n = c, len(p)
				}
			}
		case address.KindSIP:
			for _, d := range c.Domains {
				if len(d) > n && (a.Host == d || strings.HasSuffix(a.Host, "."+d)) {
					best, n = c, len(d)
				}
			}
		}
	}
	if best == nil {
		return "", false
	}
	return best.Partner, true
}

// lookup returns the compiled trunk of a partner.
func (t *Trunks) lookup(partner string) (*trunk, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	c, ok := t.byName[partner]
	return c, ok
}

// Replace validates ts as NewTrunks does and, when they are valid, makes
// them the table: requests already past their lookup finish on the trunk
// they found, later ones see the new table. On an error nothing changes.
func (t *Trunks) Replace(ts []Trunk) error {
	n, err := NewTrunks(ts)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.list, t.byName = n.list, n.byName
	t.mu.Unlock()
	return nil
}
