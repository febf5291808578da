package pager_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"iwf/internal/address"
	"iwf/pager"
	"iwf/pager/split"
)

func TestTrunkValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*pager.Trunk)
		path string // the field at fault, "" for valid
	}{
		{"valid", func(*pager.Trunk) {}, ""},
		{"sips next hop", func(tr *pager.Trunk) { tr.NextHop = "sips:sbc.partner.example" }, ""},
		{"no next hop", func(tr *pager.Trunk) { tr.NextHop = "" }, "next_hop"},
		{"next hop not sip", func(tr *pager.Trunk) { tr.NextHop = "http://x" }, "next_hop"},
		{"next hop bad transport", func(tr *pager.Trunk) { tr.NextHop = "sip:h;transport=sctp" }, "next_hop"},
		{"bad transport", func(tr *pager.Trunk) { tr.Transport = "ws" }, "transport"},
		{"no sources", func(tr *pager.Trunk) { tr.AllowedSources = nil }, "allowed_sources"},
		{"bad cidr", func(tr *pager.Trunk) { tr.AllowedSources = []string{"10.0.0.0/8", "10.0.0.0/33"} }, "allowed_sources[1]"},
		{"bad address", func(tr *pager.Trunk) { tr.AllowedSources = []string{"somehost"} }, "allowed_sources[0]"},
		{"bad number prefix", func(tr *pager.Trunk) { tr.Numbers = []string{"44"} }, "numbers[0]"},
		{"bad domain", func(tr *pager.Trunk) { tr.Domains = []string{"a b"} }, "domains[0]"},
		{"bad numbering", func(tr *pager.Trunk) { tr.Numbering = address.Options{TrunkPrefix: "0"} }, "numbering.country_code"},
		{"negative body limit", func(tr *pager.Trunk) { tr.MaxBodyBytes = -1 }, "max_body_bytes"},
		{"negative retry timeout", func(tr *pager.Trunk) { tr.Retry.Timeout = -time.Second }, "retry.timeout"},
		{"negative attempts", func(tr *pager.Trunk) { tr.Retry.Attempts = -1 }, "retry.attempts"},
		{"bad request host", func(tr *pager.Trunk) { tr.RequestHost = "a:b" }, "request_host"},
		{"marker over the limit", func(tr *pager.Trunk) { m := "....."; tr.MaxBodyBytes = 5; tr.Overflow.Marker = &m }, "overflow.marker"},
		{"bad policy", func(tr *pager.Trunk) { tr.Overflow.Policy = 7 }, "overflow.policy"},
		{"cpm profile", func(tr *pager.Trunk) { tr.Profile = pager.ProfileCPM }, ""},
		{"bad profile", func(tr *pager.Trunk) { tr.Profile = "rcs" }, "profile"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := loopbackTrunk("p")
			tc.edit(&tr)
			err := tr.Validate()
			if tc.path == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *pager.FieldError
			if !errors.As(err, &fe) || fe.Path != tc.path || !errors.Is(err, pager.ErrInvalidConfig) {
				t.Fatalf("%v, want a fault at %s", err, tc.path)
			}
		})
	}
}

func TestNewTrunksNamesTheTrunk(t *testing.T) {
	good, bad, dup := loopbackTrunk("a"), loopbackTrunk("b"), loopbackTrunk("a")
	bad.NextHop = ""
	_, err := pager.NewTrunks([]pager.Trunk{good, bad, dup, {NextHop: "sip:x", AllowedSources: []string{"10.0.0.1"}}})
	msg := pager.Prefix("partners", err).Error()
	for _, want := range []string{"pager: partners.trunks[1].next_hop: required", "trunks[2].partner: a second trunk", "trunks[3].partner: required"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("%q lacks %q", msg, want)
		}
	}
}

// TestTrunkYAML decodes the README's example trunk with unknown keys
// refused, as the loader does.
func TestTrunkYAML(t *testing.T) {
	const doc = `
next_hop: sip:sbc.partner.example:5060;transport=udp
transport: udp
udp_max_bytes: 1300
request_host: ims.partner.example
allowed_sources: [192.0.2.0/24, 2001:db8::1]
numbers: ["+44", "+3531"]
domains: [partner.example]
numbering: {country_code: "44", trunk_prefix: "0", international_prefix: "00"}
trust_asserted_identity: true
max_body_bytes: 1300
overflow: {policy: split, max_parts: 5, marker: "...", counter: suffix}
retry: {attempts: 4, timeout: 8s, backoff: 500ms, max_backoff: 10s, max_retry_after: 30s}
`
	var tr pager.Trunk
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&tr); err != nil {
		t.Fatal(err)
	}
	tr.Partner = "uk"
	if err := tr.Validate(); err != nil {
		t.Fatal(err)
	}
	if tr.Overflow.Policy != split.PolicySplit || tr.Overflow.Counter != split.CounterSuffix || *tr.Overflow.Marker != "..." ||
		tr.Retry.Timeout != 8*time.Second || tr.Numbering.CountryCode != "44" || !tr.TrustAssertedIdentity {
		t.Fatalf("%+v", tr)
	}
	d := tr.WithDefaults()
	if (pager.Trunk{}).WithDefaults().MaxBodyBytes != 1300 || *(pager.Trunk{}).WithDefaults().Overflow.Marker != "…" || d.Retry.Attempts != 4 {
		t.Fatal("defaults")
	}
	var bad pager.Trunk
	dec = yaml.NewDecoder(strings.NewReader("next_hop: sip:x\nnext_hops: []\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&bad); err == nil {
		t.Fatal("unknown key accepted")
	}
}

func TestTrunksLookups(t *testing.T) {
	uk, ie, wide := loopbackTrunk("uk"), loopbackTrunk("ie"), loopbackTrunk("wide")
	uk.AllowedSources, uk.Numbers, uk.Domains = []string{"192.0.2.0/24"}, []string{"+44"}, []string{"Partner.Example."}
	ie.AllowedSources, ie.Numbers, ie.Domains = []string{"192.0.2.10"}, []string{"+353", "+4477"}, []string{"ims.partner.example"}
	wide.AllowedSources, wide.Numbers = []string{"0.0.0.0/0", "::/0"}, nil
	ts, err := pager.NewTrunks([]pager.Trunk{uk, ie, wide})
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]string{
		"192.0.2.10": "ie", "192.0.2.11": "uk", "198.51.100.1": "wide", "::ffff:192.0.2.10": "ie", "2001:db8::5": "wide",
	}
	for ip, want := range sources {
		if got, ok := ts.BySource(netip.MustParseAddr(ip)); !ok || got != want {
			t.Errorf("BySource(%s) = %q, want %q", ip, got, want)
		}
	}
	routes := map[string]string{
		"tel:+447700900123": "ie", "tel:+442079460958": "uk", "tel:+35315550100": "ie",
		"sip:bob@partner.example": "uk", "sip:bob@ims.partner.example": "ie", "sip:bob@a.ims.partner.example": "ie",
		"tel:+15550100": "", "sip:bob@example.org": "", "tel:5550100;phone-context=partner.example": "",
	}
	for in, want := range routes {
		a, err := address.Parse(in, address.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := ts.Route(a); got != want {
			t.Errorf("Route(%s) = %q, want %q", in, got, want)
		}
	}
	if got := ts.Partners(); strings.Join(got, ",") != "uk,ie,wide" {
		t.Fatal(got)
	}
	if tr, ok := ts.Get("uk"); !ok || tr.MaxBodyBytes != 1300 {
		t.Fatalf("%+v", tr)
	}
	if _, ok := ts.Get("none"); ok {
		t.Fatal("unknown partner found")
	}
}
