package coding

import (
	"errors"
	"fmt"
	"testing"
)

// TestParseScheme reads one value of every group of TS 23.038 section 4
// and SMPP 3.4 5.2.19.
func TestParseScheme(t *testing.T) {
	tests := []struct {
		dc   byte
		def  Coding
		want Scheme
		err  error
	}{
		// SMPP 3.4 5.2.19.
		{dc: 0x00, def: GSM7, want: Scheme{Coding: GSM7, Class: NoClass}},
		{dc: 0x00, def: Latin1, want: Scheme{Coding: Latin1, Class: NoClass}},
		{dc: 0x00, def: IA5, want: Scheme{Coding: IA5, Class: NoClass}},
		{dc: 0x01, def: Latin1, want: Scheme{Coding: IA5, Class: NoClass}},
		{dc: 0x02, def: GSM7, want: Scheme{Coding: Binary, Class: NoClass}},
		{dc: 0x03, def: GSM7, want: Scheme{Coding: Latin1, Class: NoClass}},
		{dc: 0x04, def: GSM7, want: Scheme{Coding: Binary, Class: NoClass}},
		{dc: 0x08, def: GSM7, want: Scheme{Coding: UCS2, Class: NoClass}},
		{dc: 0x05, def: GSM7, err: ErrUnsupported}, // JIS
		{dc: 0x06, def: GSM7, err: ErrUnsupported}, // Cyrillic
		{dc: 0x0E, def: GSM7, err: ErrUnsupported}, // KS C 5601
		// TS 23.038 general group with classes, as Kannel sends them.
		{dc: 0x10, def: GSM7, want: Scheme{Coding: GSM7, Class: 0}},
		{dc: 0x11, def: GSM7, want: Scheme{Coding: GSM7, Class: 1}},
		{dc: 0x12, def: Latin1, want: Scheme{Coding: Latin1, Class: 2}},
		{dc: 0x13, def: GSM7, want: Scheme{Coding: GSM7, Class: 3}},
		{dc: 0x14, def: GSM7, want: Scheme{Coding: Binary, Class: 0}},
		{dc: 0x16, def: GSM7, want: Scheme{Coding: Binary, Class: 2}},
		{dc: 0x18, def: GSM7, want: Scheme{Coding: UCS2, Class: 0}},
		{dc: 0x19, def: GSM7, want: Scheme{Coding: UCS2, Class: 1}},
		{dc: 0x1C, def: GSM7, err: ErrUnsupported},
		{dc: 0x20, def: GSM7, err: ErrCompressed},
		{dc: 0x3A, def: GSM7, err: ErrCompressed},
		// Automatic deletion group.
		{dc: 0x40, def: GSM7, want: Scheme{Coding: GSM7, Class: NoClass, AutoDelete: true}},
		{dc: 0x48, def: GSM7, want: Scheme{Coding: UCS2, Class: NoClass, AutoDelete: true}},
		{dc: 0x51, def: GSM7, want: Scheme{Coding: GSM7, Class: 1, AutoDelete: true}},
		{dc: 0x60, def: GSM7, err: ErrCompressed},
		// Reserved coding groups.
		{dc: 0x80, def: GSM7, err: ErrUnsupported},
		{dc: 0xBF, def: GSM7, err: ErrUnsupported},
		// Message waiting groups.
		{dc: 0xC0, def: GSM7, want: Scheme{Coding: GSM7, Class: NoClass, Waiting: true, Kind: Voicemail}},
		{dc: 0xC8, def: GSM7, want: Scheme{Coding: GSM7, Class: NoClass, Waiting: true, Active: true, Kind: Voicemail}},
		{dc: 0xD9, def: GSM7, want: Scheme{Coding: GSM7, Class: NoClass, Waiting: true, Active: true, Store: true, Kind: Fax}},
		{dc: 0xE2, def: GSM7, want: Scheme{Coding: UCS2, Class: NoClass, Waiting: true, Store: true, Kind: Email}},
		{dc: 0xEB, def: GSM7, want: Scheme{Coding: UCS2, Class: NoClass, Waiting: true, Active: true, Store: true, Kind: OtherWaiting}},
		// Data coding / message class group.
		{dc: 0xF0, def: GSM7, want: Scheme{Coding: GSM7, Class: 0}},
		{dc: 0xF3, def: IA5, want: Scheme{Coding: IA5, Class: 3}},
		{dc: 0xF5, def: GSM7, want: Scheme{Coding: Binary, Class: 1}},
		{dc: 0xFF, def: GSM7, want: Scheme{Coding: Binary, Class: 3}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("0x%02x_%v", tc.dc, tc.def), func(t *testing.T) {
			got, err := ParseScheme(tc.dc, tc.def)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("ParseScheme(0x%02x) error = %v, want %v", tc.dc, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseScheme(0x%02x, %v) = %+v, %v; want %+v", tc.dc, tc.def, got, err, tc.want)
			}
		})
	}
}

// TestSchemeDataCoding writes schemes back to their octet.
func TestSchemeDataCoding(t *testing.T) {
	tests := []struct {
		s    Scheme
		def  Coding
		want byte
		err  bool
	}{
		{s: Scheme{Coding: GSM7, Class: NoClass}, def: GSM7, want: 0x00},
		{s: Scheme{Coding: Latin1, Class: NoClass}, def: Latin1, want: 0x00},
		{s: Scheme{Coding: Latin1, Class: NoClass}, def: GSM7, want: 0x03},
		{s: Scheme{Coding: UCS2, Class: NoClass}, def: GSM7, want: 0x08},
		{s: Scheme{Coding: GSM7, Class: 0}, def: GSM7, want: 0x10},
		{s: Scheme{Coding: Binary, Class: 1}, def: GSM7, want: 0x15},
		{s: Scheme{Coding: UCS2, Class: 3}, def: GSM7, want: 0x1B},
		{s: Scheme{Coding: GSM7, Class: 2, AutoDelete: true}, def: GSM7, want: 0x52},
		{s: Scheme{Coding: UCS2, Class: NoClass, Waiting: true, Store: true, Active: true, Kind: Fax}, def: GSM7, want: 0xE9},
		{s: Scheme{Coding: IA5, Class: 1}, def: GSM7, err: true},
		{s: Scheme{Coding: Binary, Class: NoClass, Waiting: true}, def: GSM7, err: true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%+v", tc.s), func(t *testing.T) {
			got, err := tc.s.DataCoding(tc.def)
			if (err != nil) != tc.err || (!tc.err && got != tc.want) {
				t.Fatalf("DataCoding = 0x%02x, %v; want 0x%02x, error %t", got, err, tc.want, tc.err)
			}
		})
	}
}

// FuzzScheme checks that every octet ParseScheme reads writes back to an
// octet that reads the same.
func FuzzScheme(f *testing.F) {
	for _, dc := range []byte{0x00, 0x03, 0x08, 0x11, 0x14, 0x18, 0x45, 0xC9, 0xDA, 0xE3, 0xF2, 0xF7} {
		f.Add(dc, uint8(0))
	}
	f.Fuzz(func(t *testing.T, dc byte, d uint8) {
		def := [...]Coding{GSM7, IA5, Latin1}[d%3]
		s, err := ParseScheme(dc, def)
		if err != nil {
			return
		}
		back, err := s.DataCoding(def)
		if err != nil {
			t.Fatalf("ParseScheme(0x%02x) = %+v, which does not write back: %v", dc, s, err)
		}
		again, err := ParseScheme(back, def)
		if err != nil || again != s {
			t.Fatalf("0x%02x -> %+v -> 0x%02x -> %+v, %v", dc, s, back, again, err)
		}
	})
}
