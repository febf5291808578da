package address_test

import (
	"fmt"

	"iwf/internal/address"
)

// Three spellings of one UK number, from an IMS network, a tel URI and an
// SMS originator, key one conversation.
func ExampleNormalize() {
	uk := address.Options{CountryCode: "44", TrunkPrefix: "0", InternationalPrefix: "00"}
	for _, in := range []string{
		`"Ann" <sip:+44-20-7946-0958@IMS.example.net;user=phone>;tag=a1`,
		"tel:+442079460958",
		"020 7946 0958",
		"sip:Alice@Example.COM:5060;transport=tcp",
	} {
		key, err := address.Normalize(in, uk)
		fmt.Println(key, err)
	}
	// Output:
	// tel:+442079460958 <nil>
	// tel:+442079460958 <nil>
	// tel:+442079460958 <nil>
	// sip:Alice@example.com <nil>
}
