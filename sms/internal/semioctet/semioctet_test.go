package semioctet

import (
	"bytes"
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		digits string
		octets []byte
	}{
		{name: "even", digits: "4917", octets: []byte{0x94, 0x71}},
		{name: "odd with filler", digits: "12345", octets: []byte{0x21, 0x43, 0xF5}},
		{name: "star hash abc", digits: "*#abc", octets: []byte{0xBA, 0xDC, 0xFE}},
		{name: "empty", digits: "", octets: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Append(nil, tc.digits)
			if err != nil || !bytes.Equal(got, tc.octets) {
				t.Fatalf("Append(%q) = % x, %v; want % x", tc.digits, got, err, tc.octets)
			}
			back, err := Decode(tc.octets, len(tc.digits))
			if err != nil || back != tc.digits {
				t.Fatalf("Decode(% x, %d) = %q, %v", tc.octets, len(tc.digits), back, err)
			}
			back, err = Decode(tc.octets, -1)
			if err != nil || back != tc.digits {
				t.Fatalf("Decode(% x, -1) = %q, %v", tc.octets, back, err)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	if _, err := Append(nil, "12+4"); !errors.Is(err, ErrDigit) {
		t.Errorf("Append with '+': %v", err)
	}
	if _, err := Decode([]byte{0xF1, 0x22}, 4); !errors.Is(err, ErrDigit) {
		t.Errorf("filler inside the count: %v", err)
	}
	if _, err := Decode([]byte{0x21}, 3); !errors.Is(err, ErrDigit) {
		t.Errorf("count past the octets: %v", err)
	}
}
