package tpdu

import (
	"testing"
	"time"

	"iwf/smpp/coding"
)

func TestRelativeDuration(t *testing.T) {
	tests := []struct {
		vp   uint8
		want time.Duration
	}{
		{0, 5 * time.Minute},
		{143, 12 * time.Hour},
		{144, 12*time.Hour + 30*time.Minute},
		{167, 24 * time.Hour},
		{168, 2 * 24 * time.Hour},
		{196, 30 * 24 * time.Hour},
		{197, 5 * 7 * 24 * time.Hour},
		{255, 63 * 7 * 24 * time.Hour},
	}
	for _, tc := range tests {
		if got := RelativeDuration(tc.vp); got != tc.want {
			t.Errorf("RelativeDuration(%d) = %v, want %v", tc.vp, got, tc.want)
		}
		// The inverse gives back the octet for every exact period.
		if got := RelativeValidity(tc.want); got.Relative != tc.vp || got.Format != VPRelative {
			t.Errorf("RelativeValidity(%v) = %+v, want %d", tc.want, got, tc.vp)
		}
	}
	for _, tc := range []struct {
		d    time.Duration
		want uint8
	}{
		{0, 0},
		{6 * time.Minute, 1},
		{13*time.Hour + time.Second, 146},
		{3*24*time.Hour + time.Second, 170},
		{1000 * 24 * time.Hour, 255},
	} {
		if got := RelativeValidity(tc.d).Relative; got != tc.want {
			t.Errorf("RelativeValidity(%v) = %d, want %d: the next period up", tc.d, got, tc.want)
		}
	}
}

func TestExpiry(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	abs := at.Add(48 * time.Hour)
	tests := []struct {
		name string
		v    Validity
		want time.Time
		ok   bool
	}{
		{name: "none", v: Validity{}},
		{name: "relative", v: RelativeValidity(time.Hour), want: at.Add(time.Hour), ok: true},
		{name: "absolute", v: AbsoluteValidity(abs), want: abs, ok: true},
		{name: "enhanced relative octet", v: Validity{Format: VPEnhanced, Enhanced: [7]byte{0x01, 167}}, want: at.Add(24 * time.Hour), ok: true},
		{name: "enhanced seconds", v: Validity{Format: VPEnhanced, Enhanced: [7]byte{0x42, 90}}, want: at.Add(90 * time.Second), ok: true},
		{name: "enhanced hh mm ss", v: Validity{Format: VPEnhanced, Enhanced: [7]byte{0x03, 0x10, 0x03, 0x54}}, want: at.Add(time.Hour + 30*time.Minute + 45*time.Second), ok: true},
		{name: "enhanced with extension octet", v: Validity{Format: VPEnhanced, Enhanced: [7]byte{0x82, 0x00, 30}}, want: at.Add(30 * time.Second), ok: true},
		{name: "enhanced none", v: Validity{Format: VPEnhanced}},
		{name: "enhanced reserved", v: Validity{Format: VPEnhanced, Enhanced: [7]byte{0x05, 1}}},
		{name: "enhanced bad digits", v: Validity{Format: VPEnhanced, Enhanced: [7]byte{0x03, 0xAA}}},
		{name: "enhanced extension to the end", v: Validity{Format: VPEnhanced, Enhanced: [7]byte{0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.v.Expiry(at)
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Fatalf("Expiry = %v, %t; want %v, %t", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestDCS(t *testing.T) {
	tests := []struct {
		dcs        DCS
		alphabet   coding.Coding
		compressed bool
		class      int // -1: none
	}{
		{0x00, coding.GSM7, false, -1},
		{0x04, coding.Binary, false, -1},
		{0x08, coding.UCS2, false, -1},
		{0x0C, coding.GSM7, false, -1}, // reserved alphabet: default alphabet
		{0x10, coding.GSM7, false, 0},  // flash
		{0x19, coding.UCS2, false, 1},
		{0x26, coding.Binary, true, -1},
		{0x48, coding.UCS2, false, -1}, // automatic deletion group
		{0x84, coding.GSM7, false, -1}, // reserved group
		{0xC0, coding.GSM7, false, -1}, // message waiting, discard
		{0xD8, coding.GSM7, false, -1},
		{0xE8, coding.UCS2, false, -1},
		{0xF0, coding.GSM7, false, 0},
		{0xF6, coding.Binary, false, 2},
	}
	for _, tc := range tests {
		if got := tc.dcs.Alphabet(); got != tc.alphabet {
			t.Errorf("%v Alphabet = %v, want %v", tc.dcs, got, tc.alphabet)
		}
		if got := tc.dcs.Compressed(); got != tc.compressed {
			t.Errorf("%v Compressed = %t", tc.dcs, got)
		}
		class, ok := tc.dcs.Class()
		if (tc.class < 0 && ok) || (tc.class >= 0 && (!ok || int(class) != tc.class)) {
			t.Errorf("%v Class = %d, %t; want %d", tc.dcs, class, ok, tc.class)
		}
	}
	for _, c := range []coding.Coding{coding.GSM7, coding.Binary, coding.UCS2} {
		d, err := DCSFor(c)
		if err != nil || d.Alphabet() != c {
			t.Errorf("DCSFor(%v) = %v, %v", c, d, err)
		}
	}
	if _, err := DCSFor(coding.Latin1); err == nil {
		t.Error("DCSFor(latin1) has no tp-dcs")
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		st        Status
		class     StatusClass
		final     bool
		delivered bool
		name      string
	}{
		{StatusReceived, ClassCompleted, true, true, "0x00 received by the SME"},
		{StatusReplaced, ClassCompleted, true, true, "0x02 replaced by the SC"},
		{Status(0x1F), ClassCompleted, true, true, "0x1f completed"},
		{StatusSMEBusy, ClassTemporaryRetrying, false, false, "0x21 SME busy, SC still trying"},
		{StatusValidityPeriodExpired, ClassPermanent, true, false, "0x46 validity period expired"},
		{StatusSMDoesNotExist, ClassPermanent, true, false, "0x49 SM does not exist"},
		{StatusErrorInSMEFinal, ClassTemporaryFinal, true, false, "0x65 error in SME, SC gave up"},
		{Status(0x7F), ClassTemporaryFinal, true, false, "0x7f temporary error, SC gave up"},
	}
	for _, tc := range tests {
		if tc.st.Class() != tc.class || tc.st.Final() != tc.final || tc.st.Delivered() != tc.delivered || tc.st.String() != tc.name {
			t.Errorf("%v: class %d final %t delivered %t %q", tc.st, tc.st.Class(), tc.st.Final(), tc.st.Delivered(), tc.st.String())
		}
	}
}

func TestTypeString(t *testing.T) {
	for ty, want := range map[Type]string{TypeDeliver: "SMS-DELIVER", TypeSubmitReport: "SMS-SUBMIT-REPORT", TypeCommand: "SMS-COMMAND", Type(9): "tpdu(9)"} {
		if got := ty.String(); got != want {
			t.Errorf("%d: %q", ty, got)
		}
	}
	if got := (Address{TON: TONInternational, Digits: "49"}).String(); got != "+49" {
		t.Errorf("Address.String = %q", got)
	}
}
