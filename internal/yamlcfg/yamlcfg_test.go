package yamlcfg

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// level fails to unmarshal as pager's policy names do: without a
// position, quoting the value.
type level int

func (l *level) UnmarshalText(b []byte) error {
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return fmt.Errorf("level: %q is not a number", b)
	}
	*l = level(n)
	return nil
}

type item struct {
	Name  string        `yaml:"name"`
	Wait  time.Duration `yaml:"wait"`
	Level level         `yaml:"level"`
	Tags  []string      `yaml:"tags"`
}

type doc struct {
	Title string `yaml:"title"`
	Items []item `yaml:"items"`
	Inner struct {
		Items []item `yaml:"items"`
	} `yaml:"inner"`
}

// located lists the *Errors in err as "path@line: reason".
func located(err error) []string {
	var leaves []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		leaves = j.Unwrap()
	} else if err != nil {
		leaves = []error{err}
	}
	var out []string
	for _, e := range leaves {
		var ye *Error
		if errors.As(e, &ye) {
			out = append(out, ye.Path+"@"+strconv.Itoa(ye.Line)+": "+ye.Reason)
		} else {
			out = append(out, "unlocated: "+e.Error())
		}
	}
	return out
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string // prefixes, in order
	}{
		{"valid", "title: x\nitems:\n  - {name: a, wait: 1s, level: 2}\n", nil},
		{"empty", "", nil},
		{"trailing empty document", "title: x\n---\n", nil},
		{"unknown top key", "title: x\ncolour: red\n", []string{"colour@2: field colour not found"}},
		{"unknown item key", "items:\n  - name: a\n    colour: red\n", []string{"items[0].colour@3: field colour not found"}},
		{"bad duration", "items:\n  - name: a\n    wait: soon\n", []string{"items[0].wait@3: cannot unmarshal !!str `soon` into time.Duration"}},
		{"long value cut by yaml.v3", "items:\n  - wait: whenever-you-like\n", []string{"items[0].wait@2: cannot unmarshal !!str `wheneve...`"}},
		{"map for a string", "title:\n  a: b\n", []string{"title@2: cannot unmarshal !!map into string"}},
		{"list for a map", "inner: [a]\n", []string{"inner@1: cannot unmarshal !!seq"}},
		{"two faults", "title: [a]\nitems:\n  - wait: x\n", []string{"title@1: cannot unmarshal !!seq", "items[0].wait@3: cannot unmarshal !!str `x`"}},
		{"repeated key", "title: a\ntitle: b\n", []string{`title@2: mapping key "title" already defined at line 1`}},
		{"text unmarshaler", "items:\n  - {name: a, level: high}\n", []string{`items[0].level@2: level: "high" is not a number`}},
		{"text unmarshaler, value twice", "title: high\nitems:\n  - {level: high}\n", []string{`unlocated: level: "high" is not a number`}},
		{"second document", "title: a\n---\ntitle: b\n", []string{"@3: a second YAML document"}},
		{"syntax", "title: [\n", []string{"unlocated: yaml: line"}},
		{"not a mapping", "- x\n", []string{"@1: cannot unmarshal !!seq"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			f, err := Parse([]byte(tc.data))
			if err == nil {
				err = f.Decode(&d)
			}
			got := located(err)
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{Path: "a.b", Line: 3, Reason: "bad"}, "a.b: line 3: bad"},
		{Error{Path: "a.b", Reason: "bad"}, "a.b: bad"},
		{Error{Line: 3, Reason: "bad"}, "line 3: bad"},
		{Error{Reason: "bad"}, "bad"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Fatalf("%q, want %q", got, tc.want)
			}
		})
	}
	cause := errors.New("cause")
	if e := (&Error{Reason: "x", Err: cause}); !errors.Is(e, cause) {
		t.Fatal("Unwrap lost the decoder's error")
	}
}

// TestItems re-decodes list items over defaults, following aliases and
// merge keys as yaml.v3 does.
func TestItems(t *testing.T) {
	const data = `base: &base
  items: [{name: from-base}]
other: &other
  items: [{name: from-other}, {name: two}]
inner:
  <<: [*other, *base]
items:
  - &first {name: a}
  - *first
  - <<: *first
    tags: [x]
`
	f, err := Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	items := f.Items(nil, "items")
	if len(items) != 3 {
		t.Fatalf("%d items", len(items))
	}
	for i, n := range items {
		it := item{Wait: time.Second} // the default zero cannot stand for
		if err := f.DecodeNode(n, &it); err != nil {
			t.Fatal(err)
		}
		if it.Name != "a" || it.Wait != time.Second {
			t.Errorf("items[%d] %+v", i, it)
		}
	}
	// The first of several merged mappings wins.
	if inner := f.Items(nil, "inner", "items"); len(inner) != 2 {
		t.Errorf("inner items %d, want other's 2", len(inner))
	}
	// A key written in the mapping wins over a merged one.
	merged := items[2]
	if tags := f.Items(merged, "tags"); len(tags) != 1 || tags[0].Value != "x" {
		t.Errorf("tags %v", tags)
	}
	for _, keys := range [][]string{{"nothing"}, {"base"}, {"items", "name"}} {
		if got := f.Items(nil, keys...); got != nil {
			t.Errorf("Items(%q) = %v, want nil", keys, got)
		}
	}
}

func TestDecodeNodeErrors(t *testing.T) {
	f, err := Parse([]byte("items:\n  - name: a\n    wait: later\n"))
	if err != nil {
		t.Fatal(err)
	}
	var it item
	err = f.DecodeNode(f.Items(nil, "items")[0], &it)
	if got := located(err); !slices.Equal(got, []string{"items[0].wait@3: cannot unmarshal !!str `later` into time.Duration"}) {
		t.Fatalf("got %q", got)
	}
}

func ExampleFile_Decode() {
	data := []byte("title: demo\nitems:\n  - name: a\n    wait: soon\n")
	f, err := Parse(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	var d doc
	fmt.Println(f.Decode(&d))
	// Output:
	// items[0].wait: line 4: cannot unmarshal !!str `soon` into time.Duration
}
