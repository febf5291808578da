package msrpsdp

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"hash"
	"strings"
)

// FingerprintOf is the a=fingerprint of a DER-encoded certificate as we
// send it: SHA-256, the hash RFC 8122 section 5 recommends, written as
// uppercase hex pairs separated by colons (RFC 4572 section 5: fingerprint
// = 2UHEX *(":" 2UHEX)).
func FingerprintOf(der []byte) Fingerprint {
	sum := sha256.Sum256(der)
	return Fingerprint{Hash: "sha-256", Value: formatDigest(sum[:])}
}

func formatDigest(sum []byte) string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, 0, 3*len(sum))
	for i, c := range sum {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, digits[c>>4], digits[c&0xf])
	}
	return string(b)
}

// fingerprintHashes are the hash functions we check, strongest first.
// RFC 8122 section 5 forbids MD2 and MD5; SHA-1 remains for older peers.
var fingerprintHashes = []struct {
	name string
	new  func() hash.Hash
}{
	{"sha-512", sha512.New},
	{"sha-384", sha512.New384},
	{"sha-256", sha256.New},
	{"sha-224", sha256.New224},
	{"sha-1", sha1.New},
}

// VerifyFingerprints checks a peer's DER-encoded certificate against the
// a=fingerprint values of its SDP (RFC 8122 section 5): of the hash
// functions we support among them it takes the strongest, and the
// certificate must match one of the fingerprints made with it (a peer
// may list one per certificate it could present). Hash names and hex
// digits compare case-insensitively. It returns an error matching
// ErrFingerprintMismatch when the certificate matches none, and
// ErrNoUsableFingerprint when no fingerprint uses a hash we support.
func VerifyFingerprints(fps []Fingerprint, der []byte) error {
	for _, h := range fingerprintHashes {
		var want []string
		for _, f := range fps {
			if strings.EqualFold(f.Hash, h.name) {
				want = append(want, f.Value)
			}
		}
		if len(want) == 0 {
			continue
		}
		d := h.new()
		d.Write(der)
		got := formatDigest(d.Sum(nil))
		for _, w := range want {
			if subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToUpper(w))) == 1 {
				return nil
			}
		}
		return fmt.Errorf("%w: certificate %s %s, offered %s", ErrFingerprintMismatch, h.name, got, strings.Join(want, ", "))
	}
	hashes := make([]string, 0, len(fps))
	for _, f := range fps {
		hashes = append(hashes, f.Hash)
	}
	return fmt.Errorf("%w: offered %q", ErrNoUsableFingerprint, hashes)
}
