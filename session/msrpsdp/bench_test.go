package msrpsdp

import "testing"

func BenchmarkParse(b *testing.B) {
	body := readVector(b, "rcs_chat_offer_tls_actpass")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildAnswer(b *testing.B) {
	offer, err := Parse(readVector(b, "rcs_chat_offer_tls_actpass"))
	if err != nil {
		b.Fatal(err)
	}
	local := iwfLocal(b, true)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := BuildAnswer(iwfOrigin, offer, local); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildOffer(b *testing.B) {
	local := iwfLocal(b, true)
	local.Setup = SetupActPass
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildOffer(iwfOrigin, local); err != nil {
			b.Fatal(err)
		}
	}
}
