package tpdu

import "time"

// ValidityFormat is TP-VPF, bits 4-3 of the first octet of SMS-SUBMIT
// (9.2.3.3): which form TP-VP takes.
type ValidityFormat uint8

// The TP-VPF values.
const (
	// VPNone: no TP-VP; the service centre applies its default.
	VPNone ValidityFormat = 0
	// VPEnhanced: 7 octets, 9.2.3.12.3.
	VPEnhanced ValidityFormat = 1
	// VPRelative: 1 octet, 9.2.3.12.1.
	VPRelative ValidityFormat = 2
	// VPAbsolute: 7 octets as TP-SCTS, 9.2.3.12.2.
	VPAbsolute ValidityFormat = 3
)

// Validity is TP-VP with its format. Only the field of Format counts.
type Validity struct {
	Format ValidityFormat
	// Relative is the octet of the relative format (9.2.3.12.1); see
	// RelativeDuration.
	Relative uint8
	// Absolute is the expiry of the absolute format (9.2.3.12.2).
	Absolute time.Time
	// Enhanced holds the seven octets of the enhanced format as received
	// (9.2.3.12.3); Expiry reads its relative forms.
	Enhanced [7]byte
}

// RelativeValidity is the relative TP-VP that keeps a message at least d
// (9.2.3.12.1), capped at the longest the octet says, 63 weeks.
func RelativeValidity(d time.Duration) Validity {
	for vp := 0; vp < 255; vp++ {
		if RelativeDuration(uint8(vp)) >= d {
			return Validity{Format: VPRelative, Relative: uint8(vp)}
		}
	}
	return Validity{Format: VPRelative, Relative: 255}
}

// AbsoluteValidity is the absolute TP-VP for expiry t.
func AbsoluteValidity(t time.Time) Validity {
	return Validity{Format: VPAbsolute, Absolute: t}
}

// RelativeDuration is the period a relative TP-VP octet stands for
// (9.2.3.12.1): 5-minute steps to 12 hours, 30-minute steps to 24 hours,
// then days to 30, then weeks to 63.
func RelativeDuration(vp uint8) time.Duration {
	v := time.Duration(vp)
	switch {
	case vp <= 143:
		return (v + 1) * 5 * time.Minute
	case vp <= 167:
		return 12*time.Hour + (v-143)*30*time.Minute
	case vp <= 196:
		return (v - 166) * 24 * time.Hour
	}
	return (v - 192) * 7 * 24 * time.Hour
}

// Expiry is when a message submitted at submitted expires, and false when
// the TP-VP gives no period (VPNone, an enhanced format without one, or a
// reserved enhanced format), so the service centre's default applies.
func (v Validity) Expiry(submitted time.Time) (time.Time, bool) {
	switch v.Format {
	case VPRelative:
		return submitted.Add(RelativeDuration(v.Relative)), true
	case VPAbsolute:
		return v.Absolute, true
	case VPEnhanced:
		if d, ok := v.enhancedDuration(); ok {
			return submitted.Add(d), true
		}
	}
	return time.Time{}, false
}

// enhancedDuration reads the relative forms of the enhanced format
// (9.2.3.12.3): after the functionality indicator (and its extension
// octets, bit 7), bits 2-0 say 1: one relative octet as 9.2.3.12.1, 2: an
// octet of seconds, 3: hours, minutes and seconds in semi-octets.
func (v Validity) enhancedDuration() (time.Duration, bool) {
	i := 0
	for v.Enhanced[i]&0x80 != 0 {
		if i++; i >= len(v.Enhanced) {
			return 0, false
		}
	}
	body := v.Enhanced[i+1:]
	switch v.Enhanced[0] & 0x07 {
	case 1:
		if len(body) >= 1 {
			return RelativeDuration(body[0]), true
		}
	case 2:
		if len(body) >= 1 {
			return time.Duration(body[0]) * time.Second, true
		}
	case 3:
		if len(body) >= 3 {
			h, ok1 := bcd(body[0])
			m, ok2 := bcd(body[1])
			s, ok3 := bcd(body[2])
			if ok1 && ok2 && ok3 {
				return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second, true
			}
		}
	}
	return 0, false
}

// appendValidity writes TP-VP in its format; VPNone writes nothing.
func appendValidity(dst []byte, v Validity) ([]byte, error) {
	switch v.Format {
	case VPRelative:
		return append(dst, v.Relative), nil
	case VPAbsolute:
		return appendTimestamp(dst, TypeSubmit, "TP-VP", v.Absolute)
	case VPEnhanced:
		return append(dst, v.Enhanced[:]...), nil
	case VPNone:
		return dst, nil
	}
	return dst, invalid(TypeSubmit, "TP-VPF", "format %d out of 0..3", v.Format)
}

// validity reads TP-VP in format f.
func (r *reader) validity(f ValidityFormat) (Validity, error) {
	v := Validity{Format: f}
	var err error
	switch f {
	case VPRelative:
		v.Relative, err = r.octet("TP-VP")
	case VPAbsolute:
		v.Absolute, err = r.timestamp("TP-VP")
	case VPEnhanced:
		var b []byte
		if b, err = r.take("TP-VP", len(v.Enhanced)); err == nil {
			copy(v.Enhanced[:], b)
		}
	}
	return v, err
}
