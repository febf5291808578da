package address

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(fmt.Sprintf("%d %s %s", v.line, v.profile, v.input), func(t *testing.T) {
			o := profiles[v.profile]
			got, err := Normalize(v.input, o)
			if v.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), v.wantErr) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("Normalize(%q) = %q, %v; want an error with %q", v.input, got, err, v.wantErr)
				}
				return
			}
			if err != nil || got != v.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", v.input, got, err, v.want)
			}
			again, err := Normalize(got, o)
			if err != nil || again != got {
				t.Fatalf("Normalize(%q) = %q, %v: not idempotent", got, again, err)
			}
		})
	}
}

func TestAddressForms(t *testing.T) {
	tests := []struct {
		in     string
		kind   Kind
		number bool
		sipURI string
		fields Address
	}{
		{"tel:+442079460958", KindGlobal, true, "sip:+442079460958@gw.example.net;user=phone", Address{Kind: KindGlobal, Number: "+442079460958"}},
		{"tel:*100#;phone-context=example.com", KindLocal, true, "sip:*100%23;phone-context=example.com@gw.example.net;user=phone", Address{Kind: KindLocal, Number: "*100#", Context: "example.com"}},
		{"sip:Bob@Example.com", KindSIP, false, "sip:Bob@example.com", Address{Kind: KindSIP, User: "Bob", Host: "example.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			a, err := Parse(tc.in, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if a != tc.fields || a.Kind != tc.kind || a.IsNumber() != tc.number {
				t.Fatalf("%+v, want %+v", a, tc.fields)
			}
			if got := a.SIPURI("gw.example.net"); got != tc.sipURI {
				t.Fatalf("SIPURI = %q, want %q", got, tc.sipURI)
			}
		})
	}
	if (Address{}).String() != "" || (Address{}).SIPURI("x") != "" {
		t.Fatal("zero Address prints")
	}
}

func TestParseErrors(t *testing.T) {
	long := "sip:" + strings.Repeat("a", 2000) + "@example.com"
	_, err := Parse(long, Options{})
	var e *Error
	if !errors.As(err, &e) || len(e.Input) != 64 || e.SIPStatus() != 400 {
		t.Fatalf("%v", err)
	}
	if !strings.HasPrefix(err.Error(), "address: ") {
		t.Fatal(err)
	}
	if _, err := Parse("sip:a\x01b@example.com", Options{KeepNumericUsers: true}); err == nil {
		t.Fatal("control character accepted")
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name  string
		o     Options
		field string
	}{
		{"zero", Options{}, ""},
		{"uk", profiles["uk"], ""},
		{"us", profiles["us"], ""},
		{"letters in country code", Options{CountryCode: "4a"}, "country_code"},
		{"country code with 0", Options{CountryCode: "044"}, "country_code"},
		{"long country code", Options{CountryCode: "4444"}, "country_code"},
		{"trunk prefix without country", Options{TrunkPrefix: "0"}, "country_code"},
		{"bad trunk prefix", Options{CountryCode: "44", TrunkPrefix: "+"}, "trunk_prefix"},
		{"bad international prefix", Options{InternationalPrefix: "00000"}, "international_prefix"},
		{"national length", Options{CountryCode: "1", NationalLength: 16}, "national_length"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			var oe *OptionError
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.As(err, &oe) || oe.Field != tc.field {
				t.Fatalf("%v, want a fault in %s", err, tc.field)
			}
		})
	}
}
