package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"iwf/internal/yamlcfg"
)

// parseConfig is ParseConfig with the environment given, so tests and
// the fuzz target do not depend on the process's.
func parseConfig(data []byte, env func(string) (string, bool)) (Config, error) {
	cfg, err := decodeConfig(data)
	if err != nil {
		return Config{}, err
	}
	errs := cfg.expandSecrets(env)
	cfg.derive()
	unset := map[string]bool{}
	for _, e := range errs {
		if fe, ok := e.(*FieldError); ok {
			unset[fe.Path] = true
		}
	}
	for _, e := range leaves(cfg.Validate()) {
		// An unset secret is named once, not again as empty.
		if fe, ok := e.(*FieldError); !ok || !unset[fe.Path] {
			errs = append(errs, e)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// decodeConfig reads the file in two passes over the same bytes.
//
// The first decodes the whole file strictly (unknown keys rejected) over
// defaults(). yaml.v3 decodes a list into fresh zero elements, and a
// node's Decode cannot reject unknown keys; so the second pass, its keys
// already checked by the first, decodes each partner over
// partnerDefaults() and each SMPP client over its defaults from the node
// tree. That keeps a default that zero cannot stand for (receipts: true,
// msgqful_retries: 3, success_reports: true) and an explicit zero apart.
func decodeConfig(data []byte) (Config, error) {
	f, err := yamlcfg.Parse(data)
	if err != nil {
		return Config{}, yamlError(err)
	}
	cfg := defaults()
	if err := f.Decode(&cfg); err != nil {
		return Config{}, yamlError(err)
	}
	partners := f.Items(nil, "partners")
	if len(partners) != len(cfg.Partners) {
		return cfg, nil // no partners key, or null: nothing to redo
	}
	for i, pn := range partners {
		p := partnerDefaults()
		if err := f.DecodeNode(pn, &p); err != nil {
			return Config{}, yamlError(err)
		}
		clients := f.Items(pn, "smpp", "clients")
		if len(clients) == len(p.SMPP.Clients) {
			for j, cn := range clients {
				c := smppClientDefaults()
				if err := f.DecodeNode(cn, &c); err != nil {
					return Config{}, yamlError(err)
				}
				p.SMPP.Clients[j] = c
			}
		}
		cfg.Partners[i] = p
	}
	return cfg, nil
}

// yamlError turns the decoder's faults into *FieldErrors; one it could not
// place keeps its own text after "config: ".
func yamlError(err error) error {
	var out []error
	for _, e := range leaves(err) {
		var ye *yamlcfg.Error
		if errors.As(e, &ye) {
			out = append(out, &FieldError{Path: ye.Path, Line: ye.Line, Reason: ye.Reason, Err: ye.Err})
		} else {
			out = append(out, fmt.Errorf("config: %w", e))
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return errors.Join(out...)
}

// secret is a field whose value may be "${NAME}".
type secret struct {
	path string
	v    *string
}

// secrets lists the fields that may come from the environment.
func (c *Config) secrets() []secret {
	s := []secret{{"store.password", &c.Store.Password}, {"status.token", &c.Status.Token}, {"status.admin_token", &c.Status.AdminToken},
		{"status.pprof_token", &c.Status.PprofToken}}
	if r := c.MSRP.Endpoint.Relay; r != nil {
		s = append(s, secret{"msrp.relay.password", &r.Password})
	}
	for i := range c.Partners {
		p := &c.Partners[i]
		prefix := "partners[" + strconv.Itoa(i) + "].smpp."
		if p.SMPP.Server != nil {
			s = append(s, secret{prefix + "server.password", &p.SMPP.Server.Password})
		}
		for j := range p.SMPP.Clients {
			s = append(s, secret{prefix + "clients[" + strconv.Itoa(j) + "].password", &p.SMPP.Clients[j].Password})
		}
	}
	return s
}

// expandSecrets replaces a secret's "${NAME}" with the environment
// variable NAME, so secrets stay out of configuration files. A variable
// that is not set is an error: an empty password would otherwise reach
// the peer.
func (c *Config) expandSecrets(env func(string) (string, bool)) []error {
	var errs []error
	for _, s := range c.secrets() {
		name, ok := envName(*s.v)
		if !ok {
			continue
		}
		v, set := env(name)
		if !set {
			errs = append(errs, &FieldError{Path: s.path, Reason: "environment variable " + name + " is not set"})
		}
		*s.v = v
	}
	return errs
}

// envName reads "${NAME}"; NAME is letters, digits and underscores.
func envName(v string) (string, bool) {
	rest, open := strings.CutPrefix(v, "${")
	name, closed := strings.CutSuffix(rest, "}")
	if !open || !closed || name == "" {
		return "", false
	}
	for _, r := range name {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return "", false
		}
	}
	return name, true
}
