package msrpsdp

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// seedVectors adds every test vector and golden file to the corpus.
func seedVectors(f *testing.F) {
	f.Helper()
	for _, pattern := range []string{"testdata/*.sdp", "testdata/golden/*.sdp"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// FuzzParse: Parse never panics, fails only with an *Error matching
// ErrNotAcceptable, and what it accepts survives a round trip: Parse ->
// BuildOffer from the parsed media -> Parse gives the same origin and
// media.
func FuzzParse(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrNotAcceptable) || e.Local {
				t.Fatalf("error %v (%T) is not a peer *Error", err, err)
			}
			return
		}
		out, err := BuildOffer(d.Origin, d.Media)
		if err != nil {
			t.Fatalf("parsed media does not build: %v\n%+v", err, d.Media)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("built description does not parse: %v\n%s", err, out)
		}
		if again.Origin != d.Origin {
			t.Fatalf("origin %+v became %+v", d.Origin, again.Origin)
		}
		if !again.Media.Equal(d.Media) {
			t.Fatalf("media\n%+v\nbecame\n%+v\nvia\n%s", d.Media, again.Media, out)
		}
	})
}

// FuzzAnswer: any offer Parse accepts is either refused with a peer
// error or answered with a description that parses, keeps the m= lines
// of the offer, and leads the offerer to the opposite connection role.
func FuzzAnswer(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		offer, err := Parse(b)
		if err != nil {
			return
		}
		for _, policy := range []Setup{SetupActive, SetupPassive} {
			local := iwfLocal(t, offer.Media.Secure)
			local.Setup = policy
			out, neg, err := BuildAnswer(iwfOrigin, offer, local)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Local || !errors.Is(err, ErrNotAcceptable) {
					t.Fatalf("answer failed with %v (%T)", err, err)
				}
				return
			}
			ans, err := Parse(out)
			if err != nil {
				t.Fatalf("answer does not parse: %v\n%s", err, out)
			}
			if ans.MediaIndex != offer.MediaIndex || len(ans.MLines) != len(offer.MLines) {
				t.Fatalf("answer m=message %d of %d, offer %d of %d\n%s",
					ans.MediaIndex, len(ans.MLines), offer.MediaIndex, len(offer.MLines), out)
			}
			peer, err := Negotiate(Offerer, offer.Media, ans.Media)
			if err != nil {
				t.Fatalf("offerer rejects our answer: %v\n%s", err, out)
			}
			if peer.Active == neg.Active || peer.CEMA != neg.CEMA {
				t.Fatalf("offerer active=%v cema=%v, we active=%v cema=%v", peer.Active, peer.CEMA, neg.Active, neg.CEMA)
			}
		}
	})
}
