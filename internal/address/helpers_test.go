package address

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// profiles are the Options the vectors name.
var profiles = map[string]Options{
	"none": {},
	"uk":   {CountryCode: "44", TrunkPrefix: "0", InternationalPrefix: "00"},
	"us":   {CountryCode: "1", TrunkPrefix: "1", InternationalPrefix: "011", NationalLength: 10},
	"keep": {KeepNumericUsers: true},
}

// vector is one line of testdata/vectors.txt.
type vector struct {
	line    int
	profile string
	input   string
	want    string // canonical form, or "" when wantErr is set
	wantErr string // a substring of the error
}

func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	f, err := os.Open("testdata/vectors.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Split(line, " | ")
		if len(fields) != 3 {
			tb.Fatalf("vectors.txt:%d: want 3 fields", n)
		}
		v := vector{line: n, profile: fields[0], input: fields[1]}
		if e, ok := strings.CutPrefix(fields[2], "!"); ok {
			v.wantErr = e
		} else {
			v.want = fields[2]
		}
		if _, ok := profiles[v.profile]; !ok {
			tb.Fatalf("vectors.txt:%d: unknown profile %q", n, v.profile)
		}
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return vs
}
