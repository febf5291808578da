package msrpsdp

import (
	"errors"
	"testing"
)

// FIPS 180-2 vectors for "abc", written as RFC 4572 fingerprints.
const (
	abcSHA256 = "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
	abcSHA1   = "A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D"
)

func TestFingerprintOf(t *testing.T) {
	got := FingerprintOf([]byte("abc"))
	if got.Hash != "sha-256" || got.Value != abcSHA256 {
		t.Fatalf("got %q", got.String())
	}
	if !validDigest(got.Value) {
		t.Fatalf("%q is not an RFC 4572 fingerprint", got.Value)
	}
}

func TestVerifyFingerprints(t *testing.T) {
	other := "00:" + abcSHA256[3:]
	tests := []struct {
		name string
		fps  []Fingerprint
		want error
	}{
		{"sha-256 match", []Fingerprint{{"sha-256", abcSHA256}}, nil},
		{"case-insensitive", []Fingerprint{{"SHA-256", "ba:78:16:bf:8f:01:cf:ea:41:41:40:de:5d:ae:22:23:b0:03:61:a3:96:17:7a:9c:b4:10:ff:61:f2:00:15:ad"}}, nil},
		{"sha-1 match", []Fingerprint{{"sha-1", abcSHA1}}, nil},
		{"one of several certificates", []Fingerprint{{"sha-256", other}, {"sha-256", abcSHA256}}, nil},
		{"mismatch", []Fingerprint{{"sha-256", other}}, ErrFingerprintMismatch},
		// The strongest hash offered decides: a matching SHA-1 does not
		// save a wrong SHA-256.
		{"strongest hash decides", []Fingerprint{{"sha-1", abcSHA1}, {"sha-256", other}}, ErrFingerprintMismatch},
		{"md5 is not accepted", []Fingerprint{{"md5", "90:01:50:98:3C:D2:4F:B0:D6:96:3F:7D:28:E1:7F:72"}}, ErrNoUsableFingerprint},
		{"none", nil, ErrNoUsableFingerprint},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyFingerprints(tc.fps, []byte("abc"))
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestFingerprintInOfferRoundTrip: our fingerprint goes into a TLS offer
// and comes back out of Parse unchanged.
func TestFingerprintInOfferRoundTrip(t *testing.T) {
	m := iwfLocal(t, true)
	m.Fingerprints = []Fingerprint{FingerprintOf([]byte("abc"))}
	body, err := BuildOffer(iwfOrigin, m)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyFingerprints(d.Media.Fingerprints, []byte("abc")); err != nil {
		t.Fatalf("%v in\n%s", err, body)
	}
}
