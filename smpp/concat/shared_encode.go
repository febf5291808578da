package concat

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"iwf/internal/pctenc"
	"iwf/smpp/coding"
)

// memberEscapes are the characters escaped in a member's strings: the
// field separator and '%'; braces too, as the store's key tags once
// required, so that members written before read the same.
const memberEscapes = "%{}|"

// formatMember encodes a reassembly key as a SharedStore member:
// "partner|source|destination|ref|total", the strings escaped.
func formatMember(k Key) string {
	return pctenc.Escape(k.Partner, memberEscapes) + "|" + pctenc.Escape(k.Source, memberEscapes) + "|" + pctenc.Escape(k.Destination, memberEscapes) + "|" +
		strconv.FormatUint(uint64(k.Ref), 10) + "|" + strconv.Itoa(k.Total)
}

// parseMember decodes formatMember's output. Total is bounded as Key's
// (1-255 parts, TS 23.040 9.2.3.24.1).
func parseMember(s string) (Key, error) {
	f := strings.Split(s, "|")
	if len(f) != 5 {
		return Key{}, corrupt("member %q has %d fields, want 5", s, len(f))
	}
	var k Key
	var ok [3]bool
	k.Partner, ok[0] = unescape(f[0])
	k.Source, ok[1] = unescape(f[1])
	k.Destination, ok[2] = unescape(f[2])
	if !ok[0] || !ok[1] || !ok[2] {
		return Key{}, corrupt("member %q: bad escape", s)
	}
	ref, err := strconv.ParseUint(f[3], 10, 16)
	if err != nil {
		return Key{}, corrupt("member %q: ref", s)
	}
	total, err := strconv.Atoi(f[4])
	if err != nil || total < 1 || total > MaxSegments {
		return Key{}, corrupt("member %q: total", s)
	}
	k.Ref = uint16(ref)
	k.Total = total
	return k, nil
}

// unescape reverses escape (and decodes any other %XX escape): url's path
// unescaping, which leaves '+' alone.
func unescape(s string) (string, bool) {
	u, err := url.PathUnescape(s)
	return u, err == nil
}

// encodePart is one part as a field (the decimal sequence number) and
// value: coding, locking shift table, single shift table, then the units.
func encodePart(p Part) (field string, value []byte) {
	b := make([]byte, 3, 3+len(p.Units))
	b[0], b[1], b[2] = byte(p.Coding), byte(p.Tables.Locking), byte(p.Tables.Single)
	return strconv.Itoa(p.Seq), append(b, p.Units...)
}

// decodePart reverses encodePart.
func decodePart(field string, value []byte) (Part, error) {
	seq, err := strconv.Atoi(field)
	if err != nil || seq < 1 || seq > MaxSegments {
		return Part{}, corrupt("sequence number %q", field)
	}
	if len(value) < 3 {
		return Part{}, corrupt("part %d of %d bytes", seq, len(value))
	}
	return Part{
		Seq:    seq,
		Coding: coding.Coding(value[0]),
		Tables: coding.Tables{Locking: coding.Language(value[1]), Single: coding.Language(value[2])},
		Units:  slices.Clone(value[3:]),
	}, nil
}

// decodeParts decodes a message's fields, ordered by sequence number.
func decodeParts(fields map[string][]byte) ([]Part, error) {
	if len(fields) == 0 {
		return nil, nil
	}
	parts := make([]Part, 0, len(fields))
	for f, v := range fields {
		p, err := decodePart(f, v)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	slices.SortFunc(parts, func(a, b Part) int { return cmp.Compare(a.Seq, b.Seq) })
	return parts, nil
}
