package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
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
// The first decodes the whole file strictly (unknown keys rejected,
// yaml.v3 KnownFields) over defaults(). yaml.v3 decodes a list into fresh
// zero elements, and yaml.Node.Decode cannot reject unknown keys; so the
// second pass, its keys already checked by the first, decodes each
// partner over partnerDefaults() and each SMPP client over its defaults
// from the node tree. That keeps a default that zero cannot stand for
// (receipts: true, msgqful_retries: 3, success_reports: true) and an
// explicit zero apart.
func decodeConfig(data []byte) (Config, error) {
	var root yaml.Node
	nodes := yaml.NewDecoder(bytes.NewReader(data))
	if err := nodes.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	// A second document would be read by nothing: say so rather than
	// ignore it. Empty ones (a trailing "---") are harmless.
	for {
		var extra yaml.Node
		err := nodes.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		if n := resolve(&extra); n != nil && n.Tag != "!!null" {
			return Config{}, &FieldError{Line: n.Line, Reason: "a second YAML document: the configuration is one document"}
		}
	}

	cfg := defaults()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, decodeError(&root, err)
	}

	partners := seqItems(lookup(&root, "partners"))
	if len(partners) != len(cfg.Partners) {
		return cfg, nil // no partners key, or null: nothing to redo
	}
	for i, pn := range partners {
		p := partnerDefaults()
		if err := pn.Decode(&p); err != nil {
			return Config{}, decodeError(&root, err)
		}
		clients := seqItems(lookup(pn, "smpp", "clients"))
		if len(clients) == len(p.SMPP.Clients) {
			for j, cn := range clients {
				c := smppClientDefaults()
				if err := cn.Decode(&c); err != nil {
					return Config{}, decodeError(&root, err)
				}
				p.SMPP.Clients[j] = c
			}
		}
		cfg.Partners[i] = p
	}
	return cfg, nil
}

// resolve follows aliases and steps into a document's content.
func resolve(n *yaml.Node) *yaml.Node {
	for depth := 0; n != nil && depth < 64; depth++ {
		switch {
		case n.Kind == yaml.AliasNode:
			n = n.Alias
		case n.Kind == yaml.DocumentNode && len(n.Content) == 1:
			n = n.Content[0]
		default:
			return n
		}
	}
	return nil
}

// lookup walks mapping keys from n, as yaml.v3 reads them: a key written
// in the mapping wins over one merged in with "<<", and of several merged
// mappings the first wins.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		n = mapValue(resolve(n), k, 0)
		if n == nil {
			return nil
		}
	}
	return resolve(n)
}

func mapValue(m *yaml.Node, key string, depth int) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode || depth > 16 {
		return nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		switch {
		case k.Kind == yaml.ScalarNode && k.Tag == "!!merge":
			merges = append(merges, m.Content[i+1])
		case k.Kind == yaml.ScalarNode && k.Value == key:
			return m.Content[i+1]
		}
	}
	for _, mn := range merges {
		mn = resolve(mn)
		if mn != nil && mn.Kind == yaml.SequenceNode {
			for _, item := range mn.Content {
				if v := mapValue(resolve(item), key, depth+1); v != nil {
					return v
				}
			}
		} else if v := mapValue(mn, key, depth+1); v != nil {
			return v
		}
	}
	return nil
}

// seqItems are the items of a sequence node, nil for anything else.
func seqItems(n *yaml.Node) []*yaml.Node {
	if n = resolve(n); n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// place is a node of the file with its path, for naming decode errors.
type place struct {
	node *yaml.Node
	path string
	key  bool // node is the key of path, not its value
}

// places lists every key and value of the file in document order.
// Aliases are not followed: yaml.v3 reports a fault in aliased content at
// the anchor's line, which is where its text is.
func places(n *yaml.Node, path string, out []place) []place {
	if n == nil {
		return out
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			out = places(c, path, out)
		}
		return out
	case yaml.AliasNode:
		return out
	}
	out = append(out, place{node: n, path: path})
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := path
			if k.Tag != "!!merge" {
				p = join(path, k.Value)
				out = append(out, place{node: k, path: p, key: true})
			}
			out = places(v, p, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			out = places(c, path+"["+strconv.Itoa(i)+"]", out)
		}
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decodeError turns a yaml.v3 decoding error into *FieldErrors naming
// the key's path and line where the file says enough to find them.
func decodeError(root *yaml.Node, err error) error {
	all := places(root, "", nil)
	var te *yaml.TypeError
	if errors.As(err, &te) {
		errs := make([]error, 0, len(te.Errors))
		for _, msg := range te.Errors {
			errs = append(errs, locate(all, msg))
		}
		return errors.Join(errs...)
	}
	// A failing UnmarshalText (pager's overflow policy and counter names)
	// aborts yaml.v3 without a position, but quotes the value: the one
	// scalar holding that value is the place.
	var found *place
	for i := range all {
		p := &all[i]
		if p.key || p.node.Kind != yaml.ScalarNode || p.node.Value == "" ||
			!strings.Contains(err.Error(), strconv.Quote(p.node.Value)) {
			continue
		}
		if found != nil {
			return fmt.Errorf("config: %w", err)
		}
		found = p
	}
	if found == nil {
		return fmt.Errorf("config: %w", err)
	}
	return &FieldError{Path: found.path, Line: found.node.Line, Reason: err.Error(), Err: err}
}

// locate names the place of one yaml.v3 TypeError entry, "line N: ...".
func locate(all []place, msg string) error {
	rest, ok := strings.CutPrefix(msg, "line ")
	num, reason, ok2 := strings.Cut(rest, ": ")
	line, err := strconv.Atoi(num)
	if !ok || !ok2 || err != nil {
		return &FieldError{Reason: msg}
	}
	fe := &FieldError{Line: line, Reason: reason}
	if p := find(all, line, reason); p != nil {
		fe.Path = p.path
	}
	return fe
}

// find picks the place a TypeError entry at line speaks of: the key for
// an unknown or repeated key, else the value of the kind yaml.v3 could
// not decode, the outermost first (a mapping starts on the line of its
// first key).
func find(all []place, line int, reason string) *place {
	if name, ok := keyOf(reason); ok {
		for i := range all {
			if p := &all[i]; p.key && p.node.Line == line && p.node.Value == name {
				return p
			}
		}
	}
	kind, value := valueOf(reason)
	for i := range all {
		p := &all[i]
		if p.key || p.node.Line != line || p.node.Kind != kind {
			continue
		}
		if kind != yaml.ScalarNode || strings.HasPrefix(p.node.Value, value) {
			return p
		}
	}
	return nil
}

// keyOf reads the key of "field X not found in type T", "field X already
// set in type T" and "mapping key "X" already defined at line N".
func keyOf(reason string) (string, bool) {
	if rest, ok := strings.CutPrefix(reason, "field "); ok {
		name, _, ok := strings.Cut(rest, " ")
		return name, ok
	}
	if rest, ok := strings.CutPrefix(reason, "mapping key "); ok {
		q, _, _ := strings.Cut(rest, " already")
		name, err := strconv.Unquote(q)
		return name, err == nil
	}
	return "", false
}

// valueOf reads the kind and the start of the value of "cannot unmarshal
// !!str `soon` into time.Duration" (yaml.v3 cuts long values to seven
// characters and "...").
func valueOf(reason string) (yaml.Kind, string) {
	rest, ok := strings.CutPrefix(reason, "cannot unmarshal !!")
	if !ok {
		return 0, ""
	}
	switch {
	case strings.HasPrefix(rest, "map"):
		return yaml.MappingNode, ""
	case strings.HasPrefix(rest, "seq"):
		return yaml.SequenceNode, ""
	}
	_, v, _ := strings.Cut(rest, "`")
	v, _, _ = strings.Cut(v, "`")
	return yaml.ScalarNode, strings.TrimSuffix(v, "...")
}

// secret is a field whose value may be "${NAME}".
type secret struct {
	path string
	v    *string
}

// secrets lists the fields that may come from the environment.
func (c *Config) secrets() []secret {
	s := []secret{{"store.password", &c.Store.Password}, {"status.token", &c.Status.Token}}
	if c.MSRP.Relay != nil {
		s = append(s, secret{"msrp.relay.password", &c.MSRP.Relay.Password})
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
