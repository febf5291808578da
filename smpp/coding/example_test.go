package coding_test

import (
	"errors"
	"fmt"

	"iwf/smpp/coding"
)

func ExampleEncode() {
	text := "Cost: 5€"
	c := coding.Choose(text)
	b, _ := coding.Encode(c, text)
	n, _ := coding.Length(c, text)
	fmt.Printf("%v %d septets % x\n", c, n, b)
	// Output: gsm7 9 septets 43 6f 73 74 3a 20 35 1b 65
}

func ExampleEncode_misfit() {
	_, err := coding.Encode(coding.GSM7, "Ça va? ça va")
	fmt.Println(errors.Is(err, coding.ErrUnencodable), err)
	// Output: true coding: gsm7 cannot carry U+00E7 'ç' at byte offset 8
}

func ExamplePack() {
	septets, _ := coding.Encode(coding.GSM7, "hellohello")
	packed, _ := coding.Pack(septets, 0)
	fmt.Printf("% x\n", packed)
	// Output: e8 32 9b fd 46 97 d9 ec 37
}

func ExampleDecode() {
	text, _ := coding.Decode(coding.UCS2, []byte{0x00, 0x6f, 0x00, 0x6b, 0xd8, 0x3d, 0xde, 0x00})
	fmt.Println(text)
	// Output: ok😀
}
