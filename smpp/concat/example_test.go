package concat_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"iwf/smpp/coding"
	"iwf/smpp/concat"
)

func ExampleSplit() {
	text := strings.Repeat("a", 161)
	c := coding.Choose(text)
	enc, _ := coding.Encode(c, text)
	refs := concat.NewMemoryRefs(0, 0x41)
	segs, _ := concat.Split(enc, c, concat.Options{Style: concat.UDH8}, func() (uint16, error) {
		return refs.NextRef(context.Background(), "+33612345678")
	})
	for _, s := range segs {
		fmt.Printf("esm|=0x%02x udh=% x text=%d septets\n", s.ESMClass, s.ShortMessage[:6], len(s.ShortMessage)-6)
	}
	// Output:
	// esm|=0x40 udh=05 00 03 7c 02 01 text=153 septets
	// esm|=0x40 udh=05 00 03 7c 02 02 text=8 septets
}

func ExampleReassembler() {
	store := concat.NewMemoryStore()
	r, _ := concat.NewReassembler(store, concat.Config{Partner: "partner-a", Timeout: time.Minute, GapMarker: "…"})
	ctx, now := context.Background(), time.Now()
	// Two segments of "Hello, world", second one first.
	for _, sm := range [][]byte{
		append([]byte{5, 0, 3, 9, 2, 2}, "world"...),
		append([]byte{5, 0, 3, 9, 2, 1}, "Hello, "...),
	} {
		in, _ := concat.Inspect(concat.ESMClassUDHI, sm, nil)
		part, _ := in.Part(coding.GSM7, false)
		res, _ := r.Add(ctx, in.Key("partner-a", "+4915112345678", "+33612345678"), part, now)
		fmt.Printf("%v %d/%d %q\n", res.Status, res.Have, res.Key.Total, res.Text)
		if res.Status.Final() {
			// Persist res.Text first, then forget the parts.
			_ = r.Release(ctx, res.Key)
		}
	}
	// Output:
	// pending 1/2 ""
	// complete 2/2 "Hello, world"
}
