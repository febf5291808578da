// Package yamlcfg decodes a YAML configuration file strictly (unknown
// keys are errors, yaml.v3 KnownFields) and says where a fault is: the
// key's path from the top of the file ("partners[1].smpp.window") and its
// line.
//
// A File is read once into its node tree. Decode decodes the whole file
// over the defaults the caller put in the value; the node tree then lets
// the caller decode list items again over their own defaults (yaml.v3
// decodes a list into fresh zero elements), with Items and DecodeNode.
package yamlcfg

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a fault of the file, named by the path and line of the key or
// value it is about as far as the file says.
type Error struct {
	// Path is the key's path from the top of the file, "" when unknown.
	Path string
	// Line is the 1-based line of the fault, 0 when unknown.
	Line int
	// Reason says what is wrong.
	Reason string
	// Err is the decoder's error this one locates, if any.
	Err error
}

// Error reads "partners[1].colour: line 18: field colour not found",
// leaving out what is unknown.
func (e *Error) Error() string {
	s := ""
	if e.Path != "" {
		s += e.Path + ": "
	}
	if e.Line > 0 {
		s += "line " + strconv.Itoa(e.Line) + ": "
	}
	return s + e.Reason
}

// Unwrap returns the decoder's error, if any.
func (e *Error) Unwrap() error { return e.Err }

// File is a YAML configuration file: its bytes and its node tree.
type File struct {
	data []byte
	root yaml.Node
}

// Parse reads data, one YAML document. A syntax error is yaml.v3's own
// error; a second document is an *Error, since nothing would read it.
// Empty documents (a trailing "---") are harmless.
func Parse(data []byte) (*File, error) {
	f := &File{data: data}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f.root); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			return nil, err
		}
		if n := resolve(&extra); n != nil && n.Tag != "!!null" {
			return nil, &Error{Line: n.Line, Reason: "a second YAML document: the configuration is one document"}
		}
	}
}

// Decode decodes the whole file into v, over what v holds, rejecting
// unknown keys. The faults yaml.v3 reports are *Errors (joined when
// several); an error it gives without a position stays its own unless
// the value it quotes names one place of the file.
func (f *File) Decode(v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(f.data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return f.locate(err)
	}
	return nil
}

// DecodeNode decodes n, a node of this file, into v over what v holds.
// yaml.v3 cannot reject unknown keys when decoding a node, so the file
// must have passed Decode first. Errors are located as Decode's.
func (f *File) DecodeNode(n *yaml.Node, v any) error {
	if err := n.Decode(v); err != nil {
		return f.locate(err)
	}
	return nil
}

// Items are the items of the sequence found by walking keys from n (nil:
// the top of the file), as yaml.v3 reads them: aliases followed, a key
// written in a mapping winning over one merged in with "<<", of several
// merged mappings the first. Nil when there is no such sequence.
func (f *File) Items(n *yaml.Node, keys ...string) []*yaml.Node {
	if n == nil {
		n = &f.root
	}
	n = lookup(n, keys...)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
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

// lookup walks mapping keys from n.
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

// locate turns a yaml.v3 decoding error into *Errors naming the key's
// path and line where the file says enough to find them.
func (f *File) locate(err error) error {
	all := places(&f.root, "", nil)
	var te *yaml.TypeError
	if errors.As(err, &te) {
		errs := make([]error, 0, len(te.Errors))
		for _, msg := range te.Errors {
			errs = append(errs, locateEntry(all, msg))
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
			return err
		}
		found = p
	}
	if found == nil {
		return err
	}
	return &Error{Path: found.path, Line: found.node.Line, Reason: err.Error(), Err: err}
}

// locateEntry names the place of one yaml.v3 TypeError entry, "line N:
// ...".
func locateEntry(all []place, msg string) error {
	rest, ok := strings.CutPrefix(msg, "line ")
	num, reason, ok2 := strings.Cut(rest, ": ")
	line, err := strconv.Atoi(num)
	if !ok || !ok2 || err != nil {
		return &Error{Reason: msg}
	}
	e := &Error{Line: line, Reason: reason}
	if p := find(all, line, reason); p != nil {
		e.Path = p.path
	}
	return e
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
