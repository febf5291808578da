package main

import (
	"bytes"
	"encoding"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The README's configuration reference is what operators configure the
// daemon from, so every key the loader accepts must be in it. These tests
// walk the configuration types by their yaml tags rather than keep a list
// of keys, so a key added to any package's config fails them until the
// README names it.

const readmePath = "../../README.md"

// configKey is one key a configuration file may write.
type configKey struct {
	// path is the key as the README writes it: "store.min_replicas_ack",
	// "partners[].smpp.clients[].window".
	path string
	// leaf is false for a section (a struct or a list of structs), whose
	// keys are listed apart.
	leaf bool
	// field names the Go field, where its default and meaning are.
	field string
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// configKeys lists the keys of t and of every section below it, prefixed
// by prefix. Inline fields add their keys to their parent's; yaml:"-"
// fields are not keys.
func configKeys(t reflect.Type, prefix string) []configKey {
	var out []configKey
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if slices.Contains(strings.Split(opts, ","), "inline") {
			out = append(out, configKeys(ft, prefix)...)
			continue
		}
		if name == "" {
			// yaml.v3's own default for an untagged field.
			name = strings.ToLower(f.Name)
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		elem := ft
		if ft.Kind() == reflect.Slice {
			elem = ft.Elem()
			for elem.Kind() == reflect.Pointer {
				elem = elem.Elem()
			}
			if isSection(elem) {
				path += "[]"
			}
		}
		k := configKey{path: path, leaf: !isSection(elem), field: t.String() + "." + f.Name}
		out = append(out, k)
		if !k.leaf {
			out = append(out, configKeys(elem, path)...)
		}
	}
	return out
}

// isSection says whether a YAML mapping of keys decodes into t, rather
// than one value (a duration, a string type with UnmarshalText).
func isSection(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(textUnmarshaler)
}

// normKey compares key paths without their list marks: a table row
// writes "listen[]" or "listen" for the list sip.listen[].
func normKey(s string) string { return strings.ReplaceAll(s, "[]", "") }

// joinKey puts a name under a section; "" is the top level.
func joinKey(section, name string) string {
	if section == "" {
		return name
	}
	return section + "." + name
}

var (
	// keyName is how a key is written inside backticks.
	keyName = regexp.MustCompile(`^[a-z][a-z0-9_]*(\[\])?(\.[a-z][a-z0-9_]*(\[\])?)*$`)
	// codeSpan is a backticked span.
	codeSpan = regexp.MustCompile("`([^`]+)`")
	// flowMap is a row's list of a section's keys: "{transport: udp,
	// address}" or "[{name, value}]".
	flowMap = regexp.MustCompile(`^\[?\{(.*)\}\]?$`)
	// keysAs is a row saying its section has the keys of another:
	// "pager ... (keys as `partners[].sip`)".
	keysAs = regexp.MustCompile("keys as `([^`]+)`")
	// quoted is a reference to another section: see "Limits and their
	// config keys" below.
	quoted = regexp.MustCompile(`"([A-Z][^"]{3,})"`)
)

// reference is what the README's configuration reference documents.
type reference struct {
	// keys are the documented keys, normalized (normKey).
	keys map[string]bool
	// names are the key names of each table row and section paragraph,
	// with the sections they may belong to, to find names that are no
	// key.
	names []documentedName
	// aliases map a section to the section whose keys it shares.
	aliases map[string]string
}

// documentedName is one name the reference writes, with every section
// it may be relative to.
type documentedName struct {
	name     string
	sections []string
	line     int
}

// heading is a markdown heading: its level and text.
type heading struct {
	level int
	text  string
}

func parseHeading(line string) (heading, bool) {
	n := 0
	for n < len(line) && line[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || n == len(line) || line[n] != ' ' {
		return heading{}, false
	}
	return heading{level: n, text: strings.TrimSpace(line[n:])}, true
}

// referenceLines picks the configuration reference out of the README:
// the "Configuration reference" section and every section it sends the
// reader to by a quoted title ("see "Limits and their config keys""),
// each with the line numbers it has in the file.
func referenceLines(readme string) (lines []string, numbers []int) {
	all := strings.Split(readme, "\n")
	// section returns the lines of the section whose title starts with
	// title, up to the next heading of its level or above.
	section := func(title string) (start, end int) {
		start = -1
		level := 0
		for i, l := range all {
			h, ok := parseHeading(l)
			if !ok {
				continue
			}
			if start >= 0 && h.level <= level {
				return start, i
			}
			if start < 0 && strings.HasPrefix(h.text, title) {
				start, level = i, h.level
			}
		}
		return start, len(all)
	}
	start, end := section("Configuration reference")
	if start < 0 {
		return nil, nil
	}
	taken := map[int]bool{start: true}
	spans := [][2]int{{start, end}}
	for _, m := range quoted.FindAllStringSubmatch(strings.Join(all[start:end], "\n"), -1) {
		s, e := section(m[1])
		if s >= 0 && !taken[s] {
			taken[s] = true
			spans = append(spans, [2]int{s, e})
		}
	}
	for _, sp := range spans {
		for i := sp[0]; i < sp[1]; i++ {
			lines = append(lines, all[i])
			numbers = append(numbers, i+1)
		}
		// A blank line keeps the sections' blocks apart.
		lines = append(lines, "")
		numbers = append(numbers, sp[1])
	}
	return lines, numbers
}

// tableCells splits a table row into its cells; "\|" is a | inside one.
func tableCells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	row = strings.TrimSuffix(row, "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(row); i++ {
		switch {
		case row[i] == '\\' && i+1 < len(row) && row[i+1] == '|':
			cur.WriteByte('|')
			i++
		case row[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(row[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// spans are the backticked spans of s.
func spans(s string) []string {
	var out []string
	for _, m := range codeSpan.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// rowNames are the key names a row's first cell writes. A name without a
// dot after one with a dot shares its section: "`store.dial_timeout`,
// `read_timeout`" is store.read_timeout.
func rowNames(cell string) []string {
	var out []string
	parent := ""
	for _, s := range spans(cell) {
		if !keyName.MatchString(s) {
			continue
		}
		if i := strings.LastIndexByte(s, '.'); i >= 0 {
			parent = s[:i]
		} else if parent != "" {
			s = parent + "." + s
		}
		out = append(out, s)
	}
	return out
}

// flowKeys are the keys of a "{a: 1, b}" span.
func flowKeys(span string) []string {
	m := flowMap.FindStringSubmatch(span)
	if m == nil {
		return nil
	}
	var out []string
	for _, part := range strings.Split(m[1], ",") {
		name, _, _ := strings.Cut(part, ":")
		if name = strings.TrimSpace(name); keyName.MatchString(name) {
			out = append(out, name)
		}
	}
	return out
}

// parseReference reads the README's configuration reference by its
// conventions: a table documents keys by the names in its rows' first
// cells, relative to the section its heading or the paragraph just above
// it names in backticks ("### `rcs` (the RCS network)",
// "`partners[].smpp.sms` (...):"), or written in full from the top; a
// paragraph that starts with a section's name documents the names it
// lists after it; a row's "{a, b}" span lists the keys of the row's
// section; a row reading "keys as `X`" has X's keys. sections are the
// config's section paths, which tell a section's name from other
// backticked words.
func parseReference(readme string, sections map[string]bool) reference {
	ref := reference{keys: map[string]bool{}, aliases: map[string]string{}}
	isSection := func(s string) bool { return sections[normKey(strings.TrimSuffix(s, ":"))] }
	lines, numbers := referenceLines(readme)
	var headingScopes []string
	var introScope string // the section the paragraph above names
	var inFence bool
	add := func(name string, scopes []string, line int) {
		all := append([]string{""}, scopes...)
		ref.names = append(ref.names, documentedName{name: name, sections: all, line: line})
		for _, s := range all {
			ref.keys[normKey(joinKey(s, name))] = true
		}
	}
	scopes := func() []string {
		if introScope != "" {
			return []string{introScope}
		}
		return headingScopes
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if inFence || strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t") {
			continue
		}
		if h, ok := parseHeading(line); ok {
			headingScopes, introScope = nil, ""
			for _, s := range spans(h.text) {
				if isSection(s) {
					headingScopes = append(headingScopes, strings.TrimSuffix(s, ":"))
				}
			}
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if strings.HasPrefix(line, "|") {
			for ; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
				cells := tableCells(lines[i])
				for _, name := range rowNames(cells[0]) {
					add(name, scopes(), numbers[i])
					for _, c := range cells[1:] {
						for _, sp := range spans(c) {
							for _, sub := range flowKeys(sp) {
								add(name+"."+sub, scopes(), numbers[i])
							}
						}
						if m := keysAs.FindStringSubmatch(c); m != nil {
							for _, s := range scopes() {
								ref.aliases[normKey(joinKey(s, name))] = normKey(m[1])
							}
						}
					}
				}
			}
			i--
			introScope = ""
			continue
		}
		// A paragraph: its lines up to a blank line, a heading or a table.
		start := i
		var para []string
		for ; i < len(lines) && strings.TrimSpace(lines[i]) != "" && !strings.HasPrefix(lines[i], "|"); i++ {
			if _, ok := parseHeading(lines[i]); ok {
				break
			}
			para = append(para, lines[i])
		}
		i--
		text := strings.Join(para, " ")
		introScope = ""
		first := codeSpan.FindStringSubmatchIndex(text)
		if first == nil || first[0] != 0 || !isSection(text[first[2]:first[3]]) {
			continue
		}
		introScope = strings.TrimSuffix(text[first[2]:first[3]], ":")
		for _, s := range spans(text[first[1]:]) {
			if keyName.MatchString(s) {
				add(s, []string{introScope}, numbers[start])
			}
		}
	}
	// An alias's keys are documented where the section it names is.
	var shared []string
	for from, to := range ref.aliases {
		for k := range ref.keys {
			if rest, ok := strings.CutPrefix(k, to+"."); ok {
				shared = append(shared, from+"."+rest)
			}
		}
	}
	for _, k := range shared {
		ref.keys[k] = true
	}
	return ref
}

// daemonKeys are the keys of the daemon's configuration file and the
// sections among them.
func daemonKeys() ([]configKey, map[string]bool) {
	keys := configKeys(reflect.TypeFor[Config](), "")
	sections := map[string]bool{}
	for _, k := range keys {
		if !k.leaf {
			sections[normKey(k.path)] = true
		}
	}
	return keys, sections
}

// undocumented are the leaf keys the reference does not name.
func undocumented(keys []configKey, ref reference) []configKey {
	var out []configKey
	for _, k := range keys {
		if k.leaf && !ref.keys[normKey(k.path)] {
			out = append(out, k)
		}
	}
	return out
}

// TestReadmeDocumentsEveryConfigKey fails for a key the loader accepts
// that the README's configuration reference does not name.
func TestReadmeDocumentsEveryConfigKey(t *testing.T) {
	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	keys, sections := daemonKeys()
	if len(keys) < 100 {
		t.Fatalf("found %d configuration keys; the walk over Config misses sections", len(keys))
	}
	ref := parseReference(string(data), sections)
	for _, k := range undocumented(keys, ref) {
		parent, leaf := "", k.path
		if i := strings.LastIndexByte(k.path, '.'); i >= 0 {
			parent, leaf = k.path[:i], k.path[i+1:]
		}
		t.Errorf("README.md's configuration reference lacks %s (%s): add a row %q under the heading or paragraph naming `%s`, with its default and meaning",
			k.path, k.field, leaf, parent)
	}
}

// TestReadmeNamesNoUnknownKey fails for a name in the reference's tables
// that is no key in any section it may belong to: a key renamed or
// removed in the code.
func TestReadmeNamesNoUnknownKey(t *testing.T) {
	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	keys, sections := daemonKeys()
	known := map[string]bool{}
	for _, k := range keys {
		known[normKey(k.path)] = true
	}
	ref := parseReference(string(data), sections)
	var shared []string
	for from, to := range ref.aliases {
		for k := range known {
			if rest, ok := strings.CutPrefix(k, to+"."); ok {
				shared = append(shared, from+"."+rest)
			}
		}
	}
	for _, k := range shared {
		known[k] = true
	}
	for _, n := range ref.names {
		if len(n.sections) == 1 && !strings.Contains(n.name, ".") {
			// A bare word in a table of a section the reference links to
			// ("a `cpm` trunk"), under no section's name: not a key.
			continue
		}
		found := false
		for _, s := range n.sections {
			found = found || known[normKey(joinKey(s, n.name))]
		}
		if !found {
			t.Errorf("README.md:%d names `%s` under %q, which is no configuration key", n.line, n.name, n.sections[1:])
		}
	}
}

// The matcher follows the README's conventions; each case is one of them.
func TestParseReference(t *testing.T) {
	sections := map[string]bool{"a": true, "b": true, "b.c": true, "d": true, "p": true, "p.q": true, "r": true, "r.t": true, "x": true}
	for _, tc := range []struct {
		name, readme string
		want, not    []string
	}{
		{
			name:   "full paths in a top-level table",
			readme: "## Configuration reference\n\n| key | default |\n|---|---|\n| `a.one` | 1 |\n| `a.two`, `three` | |\n",
			want:   []string{"a.one", "a.two", "a.three"},
			not:    []string{"one", "a.four"},
		},
		{
			name:   "relative to the heading",
			readme: "## Configuration reference\n\n### `b` (the b side)\n\n| key |\n|---|\n| `one` / `two` |\n| `c.three` |\n",
			want:   []string{"b.one", "b.two", "b.c.three"},
			not:    []string{"a.one"},
		},
		{
			name:   "relative to the paragraph above the table, not the heading",
			readme: "## Configuration reference\n\n### `b`\n\n`b.c` (its keys):\n\n| key |\n|---|\n| `one` |\n\n| key |\n|---|\n| `two` |\n",
			want:   []string{"b.c.one", "b.two"},
			not:    []string{"b.one", "b.c.two"},
		},
		{
			name:   "a paragraph listing a section's keys",
			readme: "## Configuration reference\n\n`d` (d things): `one` (1), `two` (`[]`: none).\n\nOther text: `three`.\n",
			want:   []string{"d.one", "d.two"},
			not:    []string{"d.three", "three"},
		},
		{
			name:   "a flow mapping lists a section's keys",
			readme: "## Configuration reference\n\n### `x`\n\n| key | meaning |\n|---|---|\n| `l[]` | `{transport: udp\\|tcp, address}` |\n| `h` | `[{name, value}]` |\n",
			want:   []string{"x.l.transport", "x.l.address", "x.h.name", "x.h.value"},
		},
		{
			name:   "keys as another section",
			readme: "## Configuration reference\n\n### `r`\n\n| key | meaning |\n|---|---|\n| `t` | a trunk (keys as `p.q`) |\n\n`p.q` (trunks):\n\n| key |\n|---|\n| `hop` |\n",
			want:   []string{"r.t.hop", "p.q.hop"},
		},
		{
			name:   "a section the reference sends the reader to",
			readme: "## Configuration reference\n\nSee \"Limits of x\" below.\n\n## Other\n\n| `x.no` |\n\n### Limits of x (`x:` section)\n\n| key |\n|---|\n| `yes` |\n",
			want:   []string{"x.yes"},
			not:    []string{"x.no"},
		},
		{
			name:   "code blocks and text outside the reference document nothing",
			readme: "| `a.out` |\n\n## Configuration reference\n\n    | `a.code` |\n\n```\n| `a.fenced` |\n```\n",
			not:    []string{"a.out", "a.code", "a.fenced"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := parseReference(tc.readme, sections)
			for _, k := range tc.want {
				if !ref.keys[normKey(k)] {
					t.Errorf("%s not documented; got %v", k, ref.keys)
				}
			}
			for _, k := range tc.not {
				if ref.keys[normKey(k)] {
					t.Errorf("%s documented", k)
				}
			}
		})
	}
}

// TestConfigKeys checks the walk over the yaml tags on the types it
// meets: inline, yaml:"-", lists of sections, text-decoded types.
func TestConfigKeys(t *testing.T) {
	keys, _ := daemonKeys()
	paths := map[string]bool{}
	for _, k := range keys {
		paths[k.path] = k.leaf
	}
	for path, leaf := range map[string]bool{
		"store.min_replicas_ack":                 true,
		"msrp.chunk_size":                        true, // session.Config inline
		"sip.listen[]":                           false,
		"sip.listen[].transport":                 true,
		"rcs.session_expires":                    true, // sipsession.SessionTimer inline
		"partners[].smpp.clients[].window":       true,
		"partners[].smpp.sms.non_text.type0":     true,
		"partners[].sip.overflow.policy":         true, // split.Policy decodes from text
		"partners[].session.max_age":             true,
		"partners[].smpp.numbering.country_code": true,
	} {
		got, ok := paths[path]
		if !ok || got != leaf {
			t.Errorf("%s: found %v, leaf %v; want leaf %v", path, ok, got, leaf)
		}
	}
	for path := range paths {
		if strings.Contains(path, "..") || strings.HasPrefix(path, ".") {
			t.Errorf("malformed key %q", path)
		}
	}
	// pager.Trunk's Partner is yaml:"-": set by the loader, never read.
	if _, ok := paths["partners[].sip.partner"]; ok {
		t.Error(`a yaml:"-" field is listed as a key`)
	}
}

// checkConfig runs "iwf -check-config path" (this test binary as main)
// with the example files' secrets in its environment.
func checkConfig(t *testing.T, path string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "IWF_E2E_DAEMON=-check-config "+path)
	for k, v := range testEnv {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("iwf -check-config %s: %v", path, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// The README tells operators to check a file with -check-config: every
// example file passes it, and a faulty one exits 1 with one line per
// fault, each naming its path.
func TestCheckConfigFlag(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("configs: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, errOut, code := checkConfig(t, f)
			if code != 0 || out != "config ok: "+f+"\n" {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
		})
	}
	t.Run("faults", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		data := baseYAML + "          window: 5000\n    session: {queue_max: -1}\n"
		if err := os.WriteFile(bad, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := checkConfig(t, bad)
		if code != 1 || out != "" {
			t.Fatalf("exit %d, stdout %q; want 1 and nothing", code, out)
		}
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		want := []string{"partners[1].smpp.clients[0].window", "partners[1].session.queue_max"}
		if len(lines) != len(want) {
			t.Fatalf("want one line per fault %v, got:\n%s", want, errOut)
		}
		for _, w := range want {
			if !strings.Contains(errOut, "config: "+w+":") {
				t.Errorf("no line names %s:\n%s", w, errOut)
			}
		}
	})
}

// makeRecipe is the command a Makefile target runs, its variables
// replaced by their defaults; targets here have one command.
func makeRecipe(t *testing.T, makefile, target string) string {
	t.Helper()
	vars := map[string]string{}
	lines := strings.Split(makefile, "\n")
	for _, l := range lines {
		if name, val, ok := strings.Cut(l, "?="); ok && !strings.ContainsAny(name, "\t:") {
			vars[strings.TrimSpace(name)] = strings.TrimSpace(val)
		}
	}
	for i, l := range lines {
		if strings.HasPrefix(l, target+":") && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t") {
			cmd := strings.TrimSpace(lines[i+1])
			for k, v := range vars {
				cmd = strings.ReplaceAll(cmd, "$("+k+")", v)
			}
			return cmd
		}
	}
	t.Fatalf("Makefile has no target %s with a command", target)
	return ""
}

// The README's run and test commands say what make runs.
func TestReadmeCommands(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"run", "test"} {
		recipe := makeRecipe(t, string(makefile), target)
		found := false
		for _, l := range strings.Split(string(readme), "\n") {
			cmd, comment, ok := strings.Cut(strings.TrimSpace(l), "#")
			if !ok || strings.TrimSpace(cmd) != "make "+target || !strings.HasPrefix(l, "    ") {
				continue
			}
			found = true
			// "# = <command>" or "# ..., then <command>".
			if !strings.HasSuffix(strings.TrimSpace(comment), recipe) {
				t.Errorf("README says `make %s` runs %q; the Makefile runs %q", target, comment, recipe)
			}
		}
		if !found {
			t.Errorf("README shows no `make %s` command line", target)
		}
	}
}
