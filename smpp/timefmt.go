package smpp

import (
	"fmt"
	"strconv"
	"time"
)

// ParseTime reads an SMPP time (SMPP 3.4 section 7.1.1, used by
// schedule_delivery_time and validity_period) as the instant it names:
//
//	YYMMDDhhmmsstnnp
//
// An absolute time (p '+' or '-') is local time nn quarter-hours ahead of
// (+) or behind (-) UTC, with t tenths of a second; a relative one (p 'R')
// is YY years, MM months, DD days, hh:mm:ss after now. An empty string is
// no time (the zero Time). Anything else is an error.
func ParseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if len(s) != timeLen {
		return time.Time{}, fmt.Errorf("smpp: time %q: %d characters, want %d", s, len(s), timeLen)
	}
	num := func(from, to int) int {
		n, err := strconv.Atoi(s[from:to])
		if err != nil || n < 0 || s[from] == '+' || s[from] == '-' {
			return -1
		}
		return n
	}
	f := [8]int{num(0, 2), num(2, 4), num(4, 6), num(6, 8), num(8, 10), num(10, 12), num(12, 13), num(13, 15)}
	for _, n := range f {
		if n < 0 {
			return time.Time{}, fmt.Errorf("smpp: time %q: not digits", s)
		}
	}
	yy, mo, dd, hh, mi, ss, tenths, quarters := f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]
	switch s[15] {
	case 'R':
		return now.AddDate(yy, mo, dd).Add(time.Duration(hh)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(ss)*time.Second), nil
	case '+', '-':
	default:
		return time.Time{}, fmt.Errorf("smpp: time %q: ends in %q, not +, - or R", s, s[15])
	}
	if mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 23 || mi > 59 || ss > 59 || quarters > 48 {
		return time.Time{}, fmt.Errorf("smpp: time %q: out of range", s)
	}
	offset := quarters * 15 * 60
	if s[15] == '-' {
		offset = -offset
	}
	t := time.Date(2000+yy, time.Month(mo), dd, hh, mi, ss, tenths*int(100*time.Millisecond), time.FixedZone("", offset))
	if t.Day() != dd {
		return time.Time{}, fmt.Errorf("smpp: time %q: no such day", s)
	}
	return t.UTC(), nil
}
