package tpdu

import (
	"fmt"
	"time"
)

// timestampLen is the size of TP-SCTS, TP-DT and an absolute TP-VP.
const timestampLen = 7

// maxQuarters is the largest time zone two semi-octets hold once the sign
// takes bit 3 of the first: 7 tens and 9 units of quarter hours.
const maxQuarters = 79

// bcd is the two-digit value of a semi-octet pair, first digit in the low
// nibble (9.2.3.11), and false when a nibble is no decimal digit.
func bcd(o byte) (int, bool) {
	lo, hi := o&0x0F, o>>4
	return int(lo)*10 + int(hi), lo <= 9 && hi <= 9
}

// toBCD is the semi-octet pair of v, 0..99.
func toBCD(v int) byte {
	return byte(v/10) | byte(v%10)<<4
}

// appendTimestamp writes t in its own time zone as TP-SCTS does (9.2.3.11):
// year, month, day, hour, minute, second, then the offset from UTC in
// quarter hours with the sign in bit 3.
func appendTimestamp(dst []byte, pdu Type, field string, t time.Time) ([]byte, error) {
	_, off := t.Zone()
	if off%(15*60) != 0 {
		return dst, invalid(pdu, field, "utc offset %v is not whole quarter hours", time.Duration(off)*time.Second)
	}
	q := off / (15 * 60)
	sign := byte(0)
	if q < 0 {
		q, sign = -q, 0x08
	}
	if q > maxQuarters {
		return dst, invalid(pdu, field, "utc offset of %d quarter hours over %d", q, maxQuarters)
	}
	if y := t.Year(); y < 2000 || y > 2099 {
		return dst, invalid(pdu, field, "year %d outside 2000..2099, which two digits hold", y)
	}
	return append(dst,
		toBCD(t.Year()%100), toBCD(int(t.Month())), toBCD(t.Day()),
		toBCD(t.Hour()), toBCD(t.Minute()), toBCD(t.Second()),
		toBCD(q)|sign), nil
}

// timestamp reads a 7-octet time field (9.2.3.11). Two-digit years are
// taken as 2000-2099. A digit above 9 or a date that does not exist is
// ErrMalformed: time.Date would silently move it to another day.
func (r *reader) timestamp(field string) (time.Time, error) {
	start := r.off
	v, err := r.take(field, timestampLen)
	if err != nil {
		return time.Time{}, err
	}
	var d [6]int
	for i := range d {
		var ok bool
		if d[i], ok = bcd(v[i]); !ok {
			return time.Time{}, r.malformed(field, start+i, "octet 0x%02x is not two decimal digits", v[i])
		}
	}
	q, ok := bcd(v[6] &^ 0x08)
	if !ok {
		return time.Time{}, r.malformed(field, start+6, "time zone octet 0x%02x is not two decimal digits", v[6])
	}
	if v[6]&0x08 != 0 {
		q = -q
	}
	loc := time.FixedZone(zoneName(q), q*15*60)
	t := time.Date(2000+d[0], time.Month(d[1]), d[2], d[3], d[4], d[5], 0, loc)
	if int(t.Month()) != d[1] || t.Day() != d[2] || t.Hour() != d[3] || t.Minute() != d[4] || t.Second() != d[5] {
		return time.Time{}, r.malformed(field, start, "no such time %02d-%02d-%02d %02d:%02d:%02d", d[0], d[1], d[2], d[3], d[4], d[5])
	}
	return t, nil
}

// zoneName names a fixed zone of q quarter hours as "+01:00", so that two
// decodes of one timestamp give equal values.
func zoneName(q int) string {
	sign := '+'
	if q < 0 {
		sign, q = '-', -q
	}
	return fmt.Sprintf("%c%02d:%02d", sign, q/4, q%4*15)
}
