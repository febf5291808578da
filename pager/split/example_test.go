package split_test

import (
	"fmt"

	"iwf/pager/split"
)

// A SIP MESSAGE body limit with part counters: cuts fall between words and
// the counters count inside the limit.
func ExampleText() {
	parts, err := split.Text("The quick brown fox jumps over the lazy dog", split.Options{
		Limit:   24,
		Counter: split.CounterSuffix,
	})
	if err != nil {
		panic(err)
	}
	for _, p := range parts {
		fmt.Printf("%q\n", p.Text)
	}
	// Output:
	// "The quick brown (1/3)"
	// "fox jumps over the (2/3)"
	// "lazy dog (3/3)"
}

// Truncation keeps the longest prefix that fits with the marker, cut at a
// word, and an emoji ZWJ sequence is never broken.
func ExampleText_truncate() {
	parts, _ := split.Text("Meet 👨‍👩‍👧 at the station at nine", split.Options{
		Limit:  30,
		Policy: split.PolicyTruncate,
		Marker: split.DefaultMarker,
	})
	fmt.Printf("%s truncated=%v\n", parts[0].Text, parts[0].Truncated)
	// Output:
	// Meet 👨‍👩‍👧 at… truncated=true
}

// The smpp side supplies its own measure: UCS-2 units here, where an emoji
// outside the BMP takes two.
func ExampleText_ucs2() {
	parts, _ := split.Text("😀😀😀 ok", split.Options{Limit: 5, Measure: split.UTF16Units})
	for _, p := range parts {
		fmt.Printf("%q\n", p.Text)
	}
	// Output:
	// "😀😀"
	// "😀 ok"
}
