package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode"

	"github.com/emiago/sipgo/sip"
)

// checks collects the faults Validate finds.
type checks struct{ errs []error }

// bad records a fault of the field at path.
func (k *checks) bad(path, format string, args ...any) {
	k.errs = append(k.errs, &FieldError{Path: path, Reason: fmt.Sprintf(format, args...)})
}

// under records a package's Validate faults under the section's path.
func (k *checks) under(prefix string, err error) {
	k.errs = append(k.errs, under(prefix, err)...)
}

// Validate checks every field and the rules across fields, and joins the
// faults (*FieldError), each naming its path.
func (c Config) Validate() error {
	k := &checks{}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		k.bad("log_level", "%q is not debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		k.bad("log_format", "%q is not text or json", c.LogFormat)
	}
	if strings.IndexFunc(c.Node, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) >= 0 || len(c.Node) > 128 {
		k.bad("node", "%q: at most 128 printable characters without spaces (it is stored in lease values)", c.Node)
	}
	k.store(c.Store)
	k.status(c.Status)
	if c.Drain.Grace <= 0 {
		k.bad("drain.grace", "%v: must be positive", c.Drain.Grace)
	}
	k.msrpSection(c.MSRP)
	k.sipSection(c.SIP)
	k.smppServer(c.SMPP.Server)
	k.rcs(c.RCS, c.MSRP.Endpoint.MaxMessageSize)
	k.partners(c)
	k.transports(c)
	k.sources(c)
	k.addresses(c)
	return errors.Join(k.errs...)
}

// hostPort checks a host:port to listen on or dial; an empty host is
// every interface.
func (k *checks) hostPort(path, v string) bool {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		k.bad(path, "%q is not host:port", v)
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		k.bad(path, "port %q is not 0..65535", port)
		return false
	}
	return true
}

// certs checks a certificate section.
func (k *checks) certs(path string, t *TLSConfig) {
	if t == nil {
		return
	}
	if t.CertFile == "" {
		k.bad(path+".cert_file", "empty")
	}
	if t.KeyFile == "" {
		k.bad(path+".key_file", "empty")
	}
}

func (k *checks) store(s StoreConfig) {
	k.under("store", s.Validate())
}

func (k *checks) status(s StatusConfig) {
	if s.AdminToken != "" && s.AdminToken == s.Token {
		// Whoever may read the page could then act on the node.
		k.bad("status.admin_token", "must differ from status.token")
	}
	if n := len(s.PprofToken); n > 0 && n < minPprofToken {
		k.bad("status.pprof_token", "%d characters; at least %d", n, minPprofToken)
	}
	if s.Listen == "" || !k.hostPort("status.listen", s.Listen) {
		return
	}
	// Status and metrics tell who talks to whom: off loopback they need
	// the bearer token (DESIGN "Status endpoint").
	if host, _, _ := net.SplitHostPort(s.Listen); !isLoopback(host) && s.Token == "" {
		k.bad("status.token", "required when status.listen is not a loopback address")
	}
}

// isLoopback says whether host only accepts connections from this
// machine; "" and 0.0.0.0 are every interface.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// msrpSection checks the socket here and the endpoint's keys in package
// session.
func (k *checks) msrpSection(m MSRPConfig) {
	k.hostPort("msrp.listen", m.Listen)
	k.certs("msrp.tls", m.TLS)
	k.under("msrp", m.Endpoint.Validate())
}

func (k *checks) sipSection(s SIPConfig) {
	k.certs("sip.tls", s.TLS)
	st := s.Stack
	if s.TLS != nil {
		// The files are loaded at start; here they only stand for the
		// certificate sipstack wants for tls listeners without their own.
		st.TLS = &tls.Config{}
	}
	k.under("sip", st.Validate())
}

func (k *checks) smppServer(s SMPPServerSettings) {
	if len(s.Server.Partners) > 0 {
		k.bad("smpp.server.partners", "not here: each partner's credentials go in partners[].smpp.server")
	}
	if s.Listen != "" {
		k.hostPort("smpp.server.listen", s.Listen)
	}
	k.certs("smpp.server.tls", s.TLS)
	sc := s.Server
	sc.Partners = nil
	k.under("smpp.server", sc.Validate())
}

func (k *checks) rcs(r RCSConfig, maxMessageSize int64) {
	k.under("rcs.trunk", r.Trunk.Validate())
	k.under("rcs", r.Limits.Validate())
	k.under("rcs", r.SessionTimer.Validate())
	for _, e := range under("rcs.pager", r.Pager.Validate()) {
		// An empty pager next hop is the trunk's, whose fault is named.
		if fe, ok := e.(*FieldError); ok && fe.Path == "rcs.pager.next_hop" && r.Pager.NextHop == "" {
			continue
		}
		k.errs = append(k.errs, e)
	}
	if len(r.AcceptTypes) == 0 {
		k.bad("rcs.accept_types", "empty: an MSRP offer needs a=accept-types (RFC 4975 section 8.6)")
	}
	for i, t := range r.AcceptTypes {
		if !isAcceptType(t) {
			k.bad("rcs.accept_types["+strconv.Itoa(i)+"]", "%q is not type/subtype, type/* or *", t)
		}
	}
	if r.MaxSize < 0 {
		k.bad("rcs.max_size", "must not be negative")
	} else if r.MaxSize > maxMessageSize {
		// Offering more than the endpoint accepts would invite 413s.
		k.bad("rcs.max_size", "%d is above msrp.max_message_size %d", r.MaxSize, maxMessageSize)
	}
}

// isAcceptType: a media type of a=accept-types, RFC 4975 section 9
// ("*" / type "/" ( subtype / "*" )), without parameters.
func isAcceptType(s string) bool {
	if s == "*" {
		return true
	}
	typ, sub, ok := strings.Cut(s, "/")
	return ok && isToken(typ) && (sub == "*" || isToken(sub))
}

// isToken: token of RFC 4975 section 9 (RFC 2045's).
func isToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?=`, r)
	})
}

// partners checks each partner and what partners must not share.
func (k *checks) partners(c Config) {
	if len(c.Partners) == 0 {
		k.bad("partners", "at least one partner is needed")
	}
	names := map[string]string{}
	systemIDs := map[string]string{}
	routes := map[string]string{}
	for i, p := range c.Partners {
		path := "partners[" + strconv.Itoa(i) + "]"
		if !isPartnerName(p.Name) {
			k.bad(path+".name", "%q: want [a-z0-9_-]+, at most 64 characters", p.Name)
		} else if p.Name == RCSName {
			k.bad(path+".name", "%q is the RCS side's own name", p.Name)
		}
		if prev, dup := names[p.Name]; dup && p.Name != "" {
			k.bad(path+".name", "%q is also %s.name", p.Name, prev)
		}
		names[p.Name] = path
		k.routing(path+".routing", p.Routing, routes)
		k.partnerSMPP(path+".smpp", p, c.SMPP.Server, systemIDs)
		if p.SIP != nil {
			k.under(path+".sip", p.SIP.Validate())
		}
		k.under(path+".session", p.Session.Validate())
		switch p.DeliverVia {
		case DeliverSMPP:
			if p.SMPP.Server == nil && len(p.SMPP.Clients) == 0 {
				k.bad(path+".deliver_via", "smpp needs %s.smpp.server or %s.smpp.clients", path, path)
			}
		case DeliverSIP:
			if p.SIP == nil {
				k.bad(path+".deliver_via", "sip needs %s.sip", path)
			}
		default:
			k.bad(path+".deliver_via", "%q is not smpp or sip", p.DeliverVia)
		}
	}
}

func isPartnerName(s string) bool {
	return s != "" && len(s) <= 64 && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	})
}

// routing checks a partner's prefixes and domains; the same prefix or
// domain at two partners would route by file order, so it is an error.
func (k *checks) routing(path string, r RoutingConfig, seen map[string]string) {
	for i, n := range r.Numbers {
		p := path + ".numbers[" + strconv.Itoa(i) + "]"
		// E.164 (ITU-T E.164 section 6.1): at most 15 digits.
		if digits, ok := strings.CutPrefix(n, "+"); !ok || len(digits) > 15 || strings.Trim(digits, "0123456789") != "" {
			k.bad(p, "%q is not + and at most 15 digits", n)
			continue
		}
		if prev, dup := seen["tel:"+n]; dup {
			k.bad(p, "%q is also %s", n, prev)
		}
		seen["tel:"+n] = p
	}
	for i, d := range r.Domains {
		p := path + ".domains[" + strconv.Itoa(i) + "]"
		if d == "" || strings.ContainsAny(d, " :;@<>/[]") {
			k.bad(p, "%q is not a domain name", d)
			continue
		}
		key := "sip:" + strings.ToLower(d)
		if prev, dup := seen[key]; dup {
			k.bad(p, "%q is also %s", d, prev)
		}
		seen[key] = p
	}
}

func (k *checks) partnerSMPP(path string, p PartnerConfig, srv SMPPServerSettings, systemIDs map[string]string) {
	if s := p.SMPP.Server; s != nil {
		sp := path + ".server"
		named := *s
		if s.Name != p.Name {
			k.bad(sp+".name", "%q: set from the partner's name, leave it out", s.Name)
			named.Name = p.Name
		}
		k.under(sp, named.Validate())
		if srv.Listen == "" {
			k.bad(sp, "smpp.server.listen is empty: no SMPP server runs")
		}
		if s.RequireTLS && srv.TLS == nil {
			k.bad(sp+".require_tls", "smpp.server.tls is not set")
		}
		// The server finds a bind's partner by system_id.
		if prev, dup := systemIDs[s.SystemID]; dup && s.SystemID != "" {
			k.bad(sp+".system_id", "%q is also %s.system_id", s.SystemID, prev)
		}
		systemIDs[s.SystemID] = sp
	}
	for j, cl := range p.SMPP.Clients {
		cp := path + ".clients[" + strconv.Itoa(j) + "]"
		if cl.Partner != p.Name {
			k.bad(cp+".partner", "%q: set from the partner's name, leave it out", cl.Partner)
			cl.Partner = p.Name
		}
		k.under(cp, cl.Validate())
	}
	k.under(path+".sms", p.SMPP.SMS.Validate())
	k.under(path+".numbering", p.SMPP.Numbering.Validate())
}

// transports checks that every SIP next hop has a listener of its
// transport: sipstack sends a request from the listener of its transport.
func (k *checks) transports(c Config) {
	have := map[string]bool{}
	for _, l := range c.SIP.Stack.Listen {
		have[strings.ToLower(l.Transport)] = true
	}
	need := func(path, nextHop, transport string) {
		tp := hopTransport(nextHop, transport)
		if tp != "" && !have[tp] {
			k.bad(path, "%s needs a %s listener in sip.listen", nextHop, tp)
		}
	}
	need("rcs.trunk.next_hop", c.RCS.Trunk.NextHop, c.RCS.Trunk.Transport)
	need("rcs.pager.next_hop", c.RCS.Pager.NextHop, c.RCS.Pager.Transport)
	for i, p := range c.Partners {
		if p.SIP != nil {
			need("partners["+strconv.Itoa(i)+"].sip.next_hop", p.SIP.NextHop, p.SIP.Transport)
		}
	}
}

// hopTransport is the transport requests to nextHop use, as pager and
// sipsession choose it: the transport key, else the URI's transport
// parameter, else tls for sips (RFC 3261 section 26.2), else udp. "" when
// the URI does not parse (its own check says so).
func hopTransport(nextHop, transport string) string {
	if transport != "" {
		return strings.ToLower(transport)
	}
	var u sip.Uri
	if nextHop == "" || sip.ParseUri(nextHop, &u) != nil {
		return ""
	}
	if u.UriParams != nil {
		if tp, ok := u.UriParams.Get("transport"); ok && tp != "" {
			return strings.ToLower(tp)
		}
	}
	if u.Scheme == "sips" {
		return "tls"
	}
	return "udp"
}

// sources checks that no two SIP trunks allow the same network: the
// inbound side names a request's partner by the most specific allowed
// source, so on a tie the file's order would decide silently.
func (k *checks) sources(c Config) {
	seen := map[netip.Prefix]string{}
	add := func(path string, list []string) {
		for i, s := range list {
			p, ok := sourcePrefix(s)
			if !ok {
				continue // the trunk's own check names it
			}
			sp := path + ".allowed_sources[" + strconv.Itoa(i) + "]"
			if prev, dup := seen[p]; dup {
				k.bad(sp, "%s is also %s: a request from there could not be told apart", s, prev)
				continue
			}
			seen[p] = sp
		}
	}
	add("rcs.pager", c.RCS.Pager.AllowedSources)
	for i, p := range c.Partners {
		if p.SIP != nil {
			add("partners["+strconv.Itoa(i)+"].sip", p.SIP.AllowedSources)
		}
	}
}

// sourcePrefix reads an allowed source as pager does: a CIDR, masked, or
// one address.
func sourcePrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err == nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// addresses checks that no two TCP listeners take the same port on
// overlapping addresses: the second bind would fail at start.
func (k *checks) addresses(c Config) {
	type listener struct{ path, addr string }
	ls := []listener{{"msrp.listen", c.MSRP.Listen}, {"status.listen", c.Status.Listen}, {"smpp.server.listen", c.SMPP.Server.Listen}}
	for i, l := range c.SIP.Stack.Listen {
		if tp := strings.ToLower(l.Transport); tp == "tcp" || tp == "tls" {
			ls = append(ls, listener{"sip.listen[" + strconv.Itoa(i) + "].address", l.Address})
		}
	}
	for i, a := range ls {
		for _, b := range ls[:i] {
			if sameSocket(a.addr, b.addr) {
				k.bad(a.path, "%s overlaps %s %s", a.addr, b.path, b.addr)
			}
		}
	}
}

// sameSocket says whether two host:port binds collide: the same port
// (not 0) on the same host or where either is every interface.
func sameSocket(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb || pa == "0" {
		return false
	}
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wildcard(ha) || wildcard(hb)
}
