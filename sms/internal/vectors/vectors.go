// Package vectors loads the hand-written SMS over IP test vectors of
// sms/testdata/vectors.txt for the tests of packages rp and tpdu.
package vectors

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// Vector is one RP message of the file.
type Vector struct {
	Name string
	// Kind names the TPDU inside: submit, deliver, status-report,
	// submit-report, deliver-report or none.
	Kind string
	// RP is the whole RP message.
	RP []byte
	// TPDU is the RP-User-Data contents, nil for kind none.
	TPDU []byte
}

// Load reads the vectors of path.
func Load(path string) ([]Vector, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Vector
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "==":
			if len(fields) < 2 {
				return nil, fmt.Errorf("%s:%d: block without a name", path, line)
			}
			v := Vector{Name: fields[1]}
			for _, kv := range fields[2:] {
				if k, val, ok := strings.Cut(kv, "="); ok && k == "kind" {
					v.Kind = val
				}
			}
			out = append(out, v)
		case "rp", "tp":
			if len(out) == 0 {
				return nil, fmt.Errorf("%s:%d: octets before the first block", path, line)
			}
			b, err := hex.DecodeString(strings.Join(fields[1:], ""))
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, line, err)
			}
			v := &out[len(out)-1]
			v.RP = append(v.RP, b...)
			if fields[0] == "tp" {
				v.TPDU = append(v.TPDU, b...)
			}
		default:
			return nil, fmt.Errorf("%s:%d: unknown line kind %q", path, line, fields[0])
		}
	}
	return out, sc.Err()
}
