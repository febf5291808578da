package store

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"

	"iwf/smpp/coding"
	"iwf/smpp/concat"
)

type memberVector struct {
	Name string
	In   string
	Err  bool
	Key  concat.Key
}

type partVector struct {
	Name, Field, Value string // Value: hex
	Err                bool
	Seq                int
	Coding             uint8
	Locking, Single    uint8
	Units              string // hex
}

type vectors struct {
	Members []memberVector
	Parts   []partVector
}

func loadVectors(tb testing.TB) vectors {
	tb.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatal(err)
	}
	return v
}

func unhexT(tb testing.TB, s string) string {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestParseMember(t *testing.T) {
	for _, tc := range loadVectors(t).Members {
		t.Run(tc.Name, func(t *testing.T) {
			k, err := parseMember(tc.In)
			if tc.Err {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("parseMember(%q) = %+v, %v; want ErrCorrupt", tc.In, k, err)
				}
				return
			}
			if err != nil || k != tc.Key {
				t.Fatalf("parseMember(%q) = %+v, %v; want %+v", tc.In, k, err, tc.Key)
			}
			if back, err := parseMember(formatMember(k)); err != nil || back != k {
				t.Fatalf("round trip %+v: %+v, %v", k, back, err)
			}
		})
	}
}

func TestDecodePart(t *testing.T) {
	for _, tc := range loadVectors(t).Parts {
		t.Run(tc.Name, func(t *testing.T) {
			p, err := decodePart(tc.Field, unhexT(t, tc.Value))
			if tc.Err {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("decodePart = %+v, %v; want ErrCorrupt", p, err)
				}
				return
			}
			want := concat.Part{Seq: tc.Seq, Coding: coding.Coding(tc.Coding),
				Tables: coding.Tables{Locking: coding.Language(tc.Locking), Single: coding.Language(tc.Single)},
				Units:  []byte(unhexT(t, tc.Units))}
			if err != nil || !partEqual(p, want) {
				t.Fatalf("decodePart = %+v, %v; want %+v", p, err, want)
			}
			if f, v := encodePart(p); f != tc.Field || v != unhexT(t, tc.Value) {
				t.Fatalf("encodePart = %q %x, want %q %s", f, v, tc.Field, tc.Value)
			}
		})
	}
}

func partEqual(a, b concat.Part) bool {
	return a.Seq == b.Seq && a.Coding == b.Coding && a.Tables == b.Tables && slices.Equal(a.Units, b.Units)
}

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, tag string }{
		{"demo|+4611|+4622", "demo|+4611|+4622"},
		{"a{b}c", "a%7Bb%7Dc"},
		{"100%", "100%25"},
		{"%7B", "%257B"},
		{"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := escape(tc.in, tagEscapes); got != tc.tag {
				t.Fatalf("escape(%q) = %q, want %q", tc.in, got, tc.tag)
			}
			if back, ok := unescape(tc.tag); !ok || back != tc.in {
				t.Fatalf("unescape(%q) = %q, %v", tc.tag, back, ok)
			}
		})
	}
}

func TestKeyLayout(t *testing.T) {
	k := keys{prefix: "iwf"}
	for _, tc := range []struct{ got, want string }{
		{k.queue(conv), "iwf:{demo|+4611|+4622}:q"},
		{k.dedup(conv, "m1"), "iwf:{demo|+4611|+4622}:d:m1"},
		{k.record(conv), "iwf:{demo|+4611|+4622}:c"},
		{k.lease(conv), "iwf:{demo|+4611|+4622}:lease"},
		{k.queue("a}b"), "iwf:{a%7Db}:q"},
		{k.pending(), "iwf:pending"},
		{k.parts("p|a|b|1|2"), "iwf:{parts}:m:p|a|b|1|2"},
		{k.partsIndex(), "iwf:{parts}:index"},
	} {
		if tc.got != tc.want {
			t.Errorf("key %q, want %q", tc.got, tc.want)
		}
	}
}

// keySlot must be Redis's CLUSTER KEYSLOT for the slot test to mean
// anything: the vectors are the Cluster specification's.
func TestKeySlot(t *testing.T) {
	for _, tc := range []struct {
		key  string
		slot int
	}{
		{"123456789", 0x31C3},
		{"foo", 12182},
		{"{user1000}.following", keySlot("user1000")},
		{"foo{}{bar}", keySlot("foo{}{bar}")},
		{"foo{{bar}}zap", keySlot("{bar")},
		{"foo{bar}{zap}", keySlot("bar")},
	} {
		if got := keySlot(tc.key); got != tc.slot {
			t.Errorf("keySlot(%q) = %d, want %d", tc.key, got, tc.slot)
		}
	}
}
