package store

import (
	"net/url"
	"strconv"
	"strings"

	"iwf/smpp/coding"
	"iwf/smpp/concat"
)

// Key layout (prefix "iwf"):
//
//	iwf:{<conv>}:q             stream, the conversation's queue
//	iwf:{<conv>}:d:<msgID>     string, dedup marker of one message (TTL)
//	iwf:{<conv>}:c             hash, the conversation record (TTL)
//	iwf:{<name>}:lease         string, the lease's owner (TTL)
//	iwf:pending                sorted set, conversations with queued entries
//	iwf:hit:<key>              string, window counter (TTL)
//	iwf:kv:<key>               string, Put/Get value (TTL)
//	iwf:counters               hash, cluster-wide counters
//	iwf:node:<node>            pub/sub channel of one node's wake-ups
//	iwf:{parts}:m:<member>     hash, the parts of one SMS being reassembled
//	iwf:{parts}:index          sorted set of <member> by first arrival
//	iwf:ref:<destination>      string, concatenation reference counter (TTL)
//
// <conv> is the conversation escaped, not hashed: '%', '{' and '}' become
// %25, %7B and %7D, so the tag ends at our closing brace, two
// conversations never share a key, and operators can read the keys. Redis
// Cluster hashes only the text between the first '{' and the next '}'
// (Cluster specification, "Hash tags"), so every key of one conversation
// lives in one slot and the Lua scripts that touch several of them are
// legal on a cluster. An empty tag would disable that, so an empty
// conversation is refused.

// tagEscapes are the characters escaped inside a hash tag.
const tagEscapes = "%{}"

// memberEscapes are the characters escaped in a part key member: the
// tag's, and the field separator.
const memberEscapes = "%{}|"

// keys builds the key names of one Store.
type keys struct{ prefix string }

// conv is the common start of a conversation's keys: "<prefix>:{<conv>}".
func (k keys) conv(conv string) string {
	return k.prefix + ":{" + escape(conv, tagEscapes) + "}"
}

func (k keys) queue(conv string) string        { return k.conv(conv) + ":q" }
func (k keys) dedup(conv, msgID string) string { return k.conv(conv) + ":d:" + msgID }
func (k keys) record(conv string) string       { return k.conv(conv) + ":c" }
func (k keys) lease(name string) string        { return k.conv(name) + ":lease" }
func (k keys) pending() string                 { return k.prefix + ":pending" }
func (k keys) hit(key string) string           { return k.prefix + ":hit:" + key }
func (k keys) kv(key string) string            { return k.prefix + ":kv:" + key }
func (k keys) counters() string                { return k.prefix + ":counters" }
func (k keys) node(node string) string         { return k.prefix + ":node:" + node }
func (k keys) ref(dest string) string          { return k.prefix + ":ref:" + dest }

// parts and partsIndex share one tag, so that the Put script may count and
// index waiting messages atomically on a cluster: all reassembly state is
// in one slot. SMS reassembly is a small share of the traffic, so one shard
// carries it easily.
func (k keys) parts(member string) string { return k.prefix + ":{parts}:m:" + member }
func (k keys) partsIndex() string         { return k.prefix + ":{parts}:index" }

// escape percent-encodes every byte of s found in special, and '%'.
func escape(s, special string) string {
	if !strings.ContainsAny(s, special) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(special, c) >= 0 {
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// unescape reverses escape (and decodes any other %XX escape): url's
// path unescaping, which leaves '+' alone.
func unescape(s string) (string, bool) {
	u, err := url.PathUnescape(s)
	return u, err == nil
}

// formatMember encodes a reassembly key as the index member and hash key
// suffix: "partner|source|destination|ref|total", the strings escaped.
func formatMember(k concat.Key) string {
	return escape(k.Partner, memberEscapes) + "|" + escape(k.Source, memberEscapes) + "|" +
		escape(k.Destination, memberEscapes) + "|" + strconv.FormatUint(uint64(k.Ref), 10) + "|" +
		strconv.Itoa(k.Total)
}

// parseMember decodes formatMember's output. Total is bounded as concat
// bounds it (1-255 parts, TS 23.040 9.2.3.24.1).
func parseMember(s string) (concat.Key, error) {
	f := strings.Split(s, "|")
	if len(f) != 5 {
		return concat.Key{}, corrupt("parts", "member %q has %d fields, want 5", s, len(f))
	}
	var k concat.Key
	var ok [3]bool
	k.Partner, ok[0] = unescape(f[0])
	k.Source, ok[1] = unescape(f[1])
	k.Destination, ok[2] = unescape(f[2])
	if !ok[0] || !ok[1] || !ok[2] {
		return concat.Key{}, corrupt("parts", "member %q: bad escape", s)
	}
	ref, err := strconv.ParseUint(f[3], 10, 16)
	if err != nil {
		return concat.Key{}, corrupt("parts", "member %q: ref", s)
	}
	total, err := strconv.Atoi(f[4])
	if err != nil || total < 1 || total > concat.MaxSegments {
		return concat.Key{}, corrupt("parts", "member %q: total", s)
	}
	k.Ref = uint16(ref)
	k.Total = total
	return k, nil
}

// encodePart is one part as a hash field (the decimal sequence number) and
// value: coding, locking shift table, single shift table, then the units.
func encodePart(p concat.Part) (field, value string) {
	b := make([]byte, 3, 3+len(p.Units))
	b[0], b[1], b[2] = byte(p.Coding), byte(p.Tables.Locking), byte(p.Tables.Single)
	return strconv.Itoa(p.Seq), string(append(b, p.Units...))
}

// decodePart reverses encodePart.
func decodePart(field, value string) (concat.Part, error) {
	seq, err := strconv.Atoi(field)
	if err != nil || seq < 1 || seq > concat.MaxSegments {
		return concat.Part{}, corrupt("parts", "sequence number %q", field)
	}
	if len(value) < 3 {
		return concat.Part{}, corrupt("parts", "part %d of %d bytes", seq, len(value))
	}
	return concat.Part{
		Seq:    seq,
		Coding: coding.Coding(value[0]),
		Tables: coding.Tables{Locking: coding.Language(value[1]), Single: coding.Language(value[2])},
		Units:  []byte(value[3:]),
	}, nil
}
