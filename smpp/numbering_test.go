package smpp

import (
	"errors"
	"testing"
)

// The rows of README "Numbering rules".
func TestNumberingKey(t *testing.T) {
	uk := Numbering{CountryCode: "44", TrunkPrefix: "0"}
	tests := []struct {
		name  string
		n     Numbering
		in    Address
		want  string
		wantS uint32 // status when refused, for the source side
	}{
		{"international", Numbering{}, Address{1, 1, "447700900123"}, "+447700900123", 0},
		{"international with +", Numbering{}, Address{1, 1, "+447700900123"}, "+447700900123", 0},
		{"international with 00", Numbering{}, Address{1, 1, "00447700900123"}, "+447700900123", 0},
		{"international NPI unknown", Numbering{}, Address{1, 0, "447700900123"}, "+447700900123", 0},
		{"national with trunk prefix", uk, Address{2, 1, "07700900123"}, "+447700900123", 0},
		{"national without trunk prefix", uk, Address{2, 1, "7700900123"}, "+447700900123", 0},
		{"national without country code", Numbering{}, Address{2, 1, "07700900123"}, "", StatusInvSrcAdr},
		// The case that used to become the alphanumeric "tel:447700900123".
		{"unknown without +", Numbering{}, Address{0, 1, "447700900123"}, "+447700900123", 0},
		{"unknown with +", Numbering{}, Address{0, 1, "+447700900123"}, "+447700900123", 0},
		{"unknown with 00", uk, Address{0, 1, "00447700900123"}, "+447700900123", 0},
		{"unknown with other international prefix", Numbering{CountryCode: "1", InternationalPrefix: "011"}, Address{0, 1, "011447700900123"}, "+447700900123", 0},
		{"unknown with trunk prefix", uk, Address{0, 1, "07700900123"}, "+447700900123", 0},
		{"unknown with trunk prefix, no plan", Numbering{}, Address{0, 1, "07700900123"}, "", StatusInvSrcAdr},
		{"unknown short code", uk, Address{0, 1, "12345"}, "tel:12345", 0},
		{"unknown short code limit", Numbering{ShortCodeMax: 4}, Address{0, 1, "12345"}, "+12345", 0},
		{"network specific short code", Numbering{}, Address{3, 0, "80888"}, "tel:80888", 0},
		{"abbreviated", Numbering{}, Address{6, 0, "112"}, "tel:112", 0},
		{"alphanumeric", Numbering{}, Address{5, 0, "ACME Bank"}, "ACME Bank", 0},
		{"alphanumeric as TON 0", Numbering{}, Address{0, 0, "ACME"}, "ACME", 0},
		{"digits as alphanumeric", Numbering{}, Address{5, 0, "80888"}, "tel:80888", 0},
		{"alphanumeric too long", Numbering{}, Address{5, 0, "ACME Bank Ltd"}, "", StatusInvSrcAdr},
		{"alphanumeric not GSM-7", Numbering{}, Address{5, 0, "Банк"}, "", StatusInvSrcAdr},
		{"alphanumeric with ':'", Numbering{}, Address{5, 0, "tel:1"}, "", StatusInvSrcAdr},
		{"empty", Numbering{}, Address{1, 1, ""}, "", StatusInvSrcAdr},
		{"letters in an international number", Numbering{}, Address{1, 1, "44ABC"}, "", StatusInvSrcAdr},
		{"over 15 digits", Numbering{}, Address{1, 1, "1234567890123456"}, "", StatusInvSrcAdr},
		{"country code 0", Numbering{}, Address{1, 1, "0447700900123"}, "", StatusInvSrcAdr},
		{"subscriber number", uk, Address{4, 1, "900123"}, "", StatusInvSrcAdr},
		{"data numbering plan", Numbering{}, Address{1, 3, "447700900123"}, "", StatusInvSrcAdr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.n.SourceKey(tc.in)
			if tc.wantS != 0 {
				var fe *FieldError
				if !errors.As(err, &fe) || StatusOf(err) != tc.wantS || fe.Path != "source_addr" {
					t.Fatalf("SourceKey(%v) = %q, %v; want status %s", tc.in, got, err, StatusName(tc.wantS))
				}
				if _, err := tc.n.DestKey(tc.in); StatusOf(err) != StatusInvDstAdr {
					t.Fatalf("DestKey(%v): %v, want ESME_RINVDSTADR", tc.in, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("SourceKey(%v) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestAddressOf(t *testing.T) {
	tests := []struct {
		key  string
		want Address
		ok   bool
	}{
		{"+447700900123", Address{1, 1, "447700900123"}, true},
		{"tel:+447700900123", Address{1, 1, "447700900123"}, true},
		{"tel:80888", Address{3, 0, "80888"}, true},
		{"ACME Bank", Address{5, 0, "ACME Bank"}, true},
		// Never an alphanumeric that is not one.
		{"tel:5550100;phone-context=example.com", Address{}, false},
		{"sip:alice@example.com", Address{}, false},
		{"ACME Bank Ltd", Address{}, false},
		{"Банк", Address{}, false},
		{"+0123", Address{}, false},
		{"+1234567890123456", Address{}, false},
		{"", Address{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			got, err := AddressOf(tc.key)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("AddressOf(%q) = %v, %v; want %v", tc.key, got, err, tc.want)
			}
			if err != nil && StatusOf(err) == StatusOK {
				t.Fatal("refusal without a status")
			}
		})
	}
}

// TestNumberingRoundTrip: every address AddressOf writes reads back to
// its key, whatever the partner's plan.
func TestNumberingRoundTrip(t *testing.T) {
	plans := []Numbering{{}, {CountryCode: "44", TrunkPrefix: "0"}, {CountryCode: "1", TrunkPrefix: "1", InternationalPrefix: "011"}}
	for _, key := range []string{"+447700900123", "+12125550100", "tel:80888", "tel:12345678", "ACME", "Bank-24"} {
		a, err := AddressOf(key)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range plans {
			if got, err := n.DestKey(a); err != nil || got != key {
				t.Errorf("%+v: %q -> %v -> %q, %v", n, key, a, got, err)
			}
		}
	}
}

func TestNumberingValidate(t *testing.T) {
	tests := []struct {
		n    Numbering
		path string
	}{
		{Numbering{CountryCode: "44", TrunkPrefix: "0", InternationalPrefix: "00", ShortCodeMax: 5}, ""},
		{Numbering{CountryCode: "4a"}, "country_code"},
		{Numbering{CountryCode: "044"}, "country_code"},
		{Numbering{TrunkPrefix: "0"}, "country_code"},
		{Numbering{CountryCode: "44", TrunkPrefix: "+"}, "trunk_prefix"},
		{Numbering{InternationalPrefix: "00000"}, "international_prefix"},
		{Numbering{ShortCodeMax: 9}, "short_code_max"},
	}
	for _, tc := range tests {
		err := tc.n.Validate()
		var fe *FieldError
		if tc.path == "" {
			if err != nil {
				t.Errorf("%+v: %v", tc.n, err)
			}
			continue
		}
		if !errors.As(err, &fe) || fe.Path != tc.path {
			t.Errorf("%+v: %v, want an error at %s", tc.n, err, tc.path)
		}
	}
}
