package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzParseConfig: any bytes give a configuration or an error starting
// "config: ", never a panic; a configuration that loads encodes to YAML
// that loads again to the same configuration. The same is judged by the
// encoding (parse, encode, parse, encode, compare): a list left out and an
// empty list differ in Go but not in meaning.
func FuzzParseConfig(f *testing.F) {
	seeds, _ := filepath.Glob("../../configs/*.yaml")
	vectors, _ := filepath.Glob("../../configs/testdata/*.yaml")
	for _, name := range append(seeds, vectors...) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(baseYAML))
	f.Add([]byte(""))
	f.Add([]byte("msrp:\n  listne: x\n"))
	env := func(k string) (string, bool) { v, ok := testEnv[k]; return v, ok }
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parseConfig(data, env)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		again, err := parseConfig(out, env)
		if err != nil {
			t.Fatalf("encoded configuration does not load: %v\n%s", err, out)
		}
		out2, err := yaml.Marshal(again)
		if err != nil {
			t.Fatalf("encode again: %v", err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the configuration:\n%s\n---\n%s", out, out2)
		}
	})
}
