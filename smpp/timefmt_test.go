package smpp

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{in: ""},
		// SMPP 3.4 7.1.1: absolute, 4 quarter-hours (1 h) ahead of UTC.
		{in: "261207120000504+", want: time.Date(2026, 12, 7, 11, 0, 0, 500_000_000, time.UTC)},
		{in: "261207120000008-", want: time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)},
		{in: "261207120000000+", want: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)},
		// Relative: 1 day 2 h 3 min 4 s from now.
		{in: "000001020304000R", want: now.Add(26*time.Hour + 3*time.Minute + 4*time.Second)},
		{in: "010000000000000R", want: now.AddDate(1, 0, 0)},
		{in: "26120712000000+", err: true},  // 15 characters
		{in: "261207120000000X", err: true}, // no such sign
		{in: "261307120000000+", err: true}, // month 13
		{in: "260231120000000+", err: true}, // 31 February
		{in: "2612071200000+0+", err: true}, // a sign among the digits
		{in: "261207120000049+", err: true}, // 49 quarter hours
	} {
		got, err := ParseTime(tc.in, now)
		if tc.err {
			if err == nil {
				t.Errorf("ParseTime(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"", "261207120000504+", "000001020304000R", "261207120000008-"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s, now)
		if err != nil {
			return
		}
		if s == "" != got.IsZero() {
			t.Fatalf("%q -> %v", s, got)
		}
		if s != "" && s[15] != 'R' && got.Year() >= 2000 && got.Year() <= 2099 {
			// An absolute time written back in UTC reads the same.
			back := got.Format("060102150405") + string('0'+byte(got.Nanosecond()/100_000_000)) + "00+"
			again, err := ParseTime(back, now)
			if err != nil || !again.Equal(got) {
				t.Fatalf("%q -> %v -> %q -> %v, %v", s, got, back, again, err)
			}
		}
	})
}
