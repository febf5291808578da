package concat

import (
	"cmp"
	"encoding/binary"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"iwf/internal/pctenc"
	"iwf/smpp/coding"
)

// memberEscapes are the characters escaped in a member's strings: the
// field separator and '%'; braces too, as the store's key tags once
// required, so that members written before read the same.
const memberEscapes = "%{}|"

// formatMember encodes a reassembly key as a SharedStore member:
// "partner|source|destination|style|ref|total", the strings escaped; a
// legacy key, read from a member stored before keys had a style, is
// "partner|source|destination|ref|total" as it was.
func formatMember(k Key) string {
	head := pctenc.Escape(k.Partner, memberEscapes) + "|" + pctenc.Escape(k.Source, memberEscapes) + "|" + pctenc.Escape(k.Destination, memberEscapes) + "|"
	if !k.legacy {
		head += k.Style.String() + "|"
	}
	return head + strconv.FormatUint(uint64(k.Ref), 10) + "|" + strconv.Itoa(k.Total)
}

// parseMember decodes formatMember's output. Total is bounded as Key's
// (1-255 parts, TS 23.040 9.2.3.24.1); the style is one a segment can
// arrive with (udh8, udh16, sar).
func parseMember(s string) (Key, error) {
	f := strings.Split(s, "|")
	var k Key
	switch len(f) {
	case 5:
		k.legacy = true
	case 6:
		switch f[3] {
		case UDH8.String():
			k.Style = UDH8
		case UDH16.String():
			k.Style = UDH16
		case SAR.String():
			k.Style = SAR
		default:
			return Key{}, corrupt("member %q: style", s)
		}
		f = slices.Delete(f, 3, 4)
	default:
		return Key{}, corrupt("member %q has %d fields, want 6", s, len(f))
	}
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

// partVersion starts the value of a part: version 1 is the version
// octet, coding, locking shift table, single shift table, the arrival in
// Unix microseconds (8 octets, big-endian), the length of Meta (2 octets)
// and Meta, then the units. Legacy members hold version 0 values: coding,
// tables and units alone.
const partVersion = 1

// partHeader is the size of a version 1 value before Meta.
const partHeader = 1 + 3 + 8 + 2

// encodePart is one part as a field (the decimal sequence number) and a
// version 1 value.
func encodePart(p Part) (field string, value []byte) {
	b := make([]byte, partHeader, partHeader+len(p.Meta)+len(p.Units))
	b[0], b[1], b[2], b[3] = partVersion, byte(p.Coding), byte(p.Tables.Locking), byte(p.Tables.Single)
	var at int64
	if !p.At.IsZero() {
		at = p.At.UnixMicro()
	}
	binary.BigEndian.PutUint64(b[4:], uint64(at))
	binary.BigEndian.PutUint16(b[12:], uint16(len(p.Meta)))
	b = append(b, p.Meta...)
	return strconv.Itoa(p.Seq), append(b, p.Units...)
}

// decodePart reverses encodePart, or reads a legacy (version 0) value.
func decodePart(field string, value []byte, legacy bool) (Part, error) {
	seq, err := strconv.Atoi(field)
	if err != nil || seq < 1 || seq > MaxSegments {
		return Part{}, corrupt("sequence number %q", field)
	}
	if legacy {
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
	if len(value) < partHeader || value[0] != partVersion {
		return Part{}, corrupt("part %d of %d bytes, not version %d", seq, len(value), partVersion)
	}
	meta := int(binary.BigEndian.Uint16(value[12:]))
	if len(value) < partHeader+meta {
		return Part{}, corrupt("part %d: metadata of %d bytes past the end", seq, meta)
	}
	p := Part{
		Seq:    seq,
		Coding: coding.Coding(value[1]),
		Tables: coding.Tables{Locking: coding.Language(value[2]), Single: coding.Language(value[3])},
		Units:  slices.Clone(value[partHeader+meta:]),
	}
	if at := int64(binary.BigEndian.Uint64(value[4:])); at != 0 {
		p.At = time.UnixMicro(at)
	}
	if meta > 0 {
		p.Meta = slices.Clone(value[partHeader : partHeader+meta])
	}
	return p, nil
}

// decodeParts decodes a message's fields, ordered by sequence number.
func decodeParts(fields map[string][]byte, legacy bool) ([]Part, error) {
	if len(fields) == 0 {
		return nil, nil
	}
	parts := make([]Part, 0, len(fields))
	for f, v := range fields {
		p, err := decodePart(f, v, legacy)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	slices.SortFunc(parts, func(a, b Part) int { return cmp.Compare(a.Seq, b.Seq) })
	return parts, nil
}
