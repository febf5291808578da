package coding

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// vector is one line of testdata/vectors.txt.
type vector struct {
	name  string
	kind  string
	text  string
	octet []byte
}

// loadVectors reads testdata/vectors.txt.
func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	f, err := os.Open("testdata/vectors.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 {
			tb.Fatalf("vectors.txt:%d: want 3 tab-separated fields", n)
		}
		text, err := strconv.Unquote(fields[1])
		if err != nil {
			tb.Fatalf("vectors.txt:%d: %v", n, err)
		}
		b, err := hex.DecodeString(fields[2])
		if err != nil {
			tb.Fatalf("vectors.txt:%d: %v", n, err)
		}
		out = append(out, vector{name: fields[0] + "/" + strconv.Itoa(n), kind: fields[0], text: text, octet: b})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// codingOf maps a vector kind to its coding and packing fill (-1:
// unpacked). National kinds ("gsm7:1.1") are handled by alphabetOf.
func codingOf(tb testing.TB, kind string) (Coding, int) {
	switch kind {
	case "gsm7":
		return GSM7, -1
	case "gsm7packed":
		return GSM7, 0
	case "gsm7packed1":
		return GSM7, 1
	case "ia5":
		return IA5, -1
	case "latin1":
		return Latin1, -1
	case "ucs2":
		return UCS2, -1
	case "binary":
		return Binary, -1
	}
	tb.Fatalf("unknown vector kind %q", kind)
	return 0, 0
}

// alphabetOf returns the national alphabet of a "gsm7:L.S" kind, or nil.
func alphabetOf(tb testing.TB, kind string) *Alphabet {
	var l, s Language
	if _, err := fmt.Sscanf(kind, "gsm7:%d.%d", &l, &s); err != nil {
		return nil
	}
	a, err := NewAlphabet(Tables{Locking: l, Single: s})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			if a := alphabetOf(t, v.kind); a != nil {
				testNationalVector(t, a, v)
				return
			}
			c, fill := codingOf(t, v.kind)
			got, err := Encode(c, v.text)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if fill >= 0 {
				if got, err = Pack(got, fill); err != nil {
					t.Fatalf("Pack: %v", err)
				}
			}
			if hex.EncodeToString(got) != hex.EncodeToString(v.octet) {
				t.Fatalf("Encode(%q) = %x, want %x", v.text, got, v.octet)
			}
			septets := v.octet
			if fill >= 0 {
				if septets, err = Unpack(v.octet, fill, -1); err != nil {
					t.Fatalf("Unpack: %v", err)
				}
			}
			text, err := Decode(c, septets)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if text != v.text {
				t.Fatalf("Decode(%x) = %q, want %q", v.octet, text, v.text)
			}
		})
	}
}

func testNationalVector(t *testing.T, a *Alphabet, v vector) {
	got, err := a.AppendEncode(nil, v.text)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !bytes.Equal(got, v.octet) {
		t.Fatalf("Encode(%q) = %x, want %x", v.text, got, v.octet)
	}
	if n, err := a.Length(v.text); err != nil || n != len(v.octet) {
		t.Fatalf("Length(%q) = %d, %v; want %d", v.text, n, err, len(v.octet))
	}
	text, err := a.Decode(v.octet)
	if err != nil || text != v.text {
		t.Fatalf("Decode(%x) = %q, %v; want %q", v.octet, text, err, v.text)
	}
}
