package store

import (
	"net/url"
	"testing"

	"iwf/internal/pctenc"
)

// unescape reverses escape (and decodes any other %XX escape): url's path
// unescaping, which leaves '+' alone. That it exists shows escape keeps
// two names apart.
func unescape(s string) (string, bool) {
	u, err := url.PathUnescape(s)
	return u, err == nil
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
			if got := pctenc.Escape(tc.in, tagEscapes); got != tc.tag {
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
		{k.pending(conv), k.pendingShard(pendingShardOf(conv))},
		{k.pendingShard(3), "iwf:{pending:3}"},
		{k.group("parts", "p|a|b|1|2"), "iwf:{parts}:m:p|a|b|1|2"},
		{k.groupIndex("parts"), "iwf:{parts}:index"},
		{k.group("a{b}", "{m}"), "iwf:{a%7Bb%7D}:m:{m}"},
		{k.seq("ref:+4611"), "iwf:seq:ref:+4611"},
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
