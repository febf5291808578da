package msrp_test

import (
	"fmt"
	"strings"

	"iwf/session/msrp"
)

func ExampleAppendFrame() {
	f := msrp.Frame{
		TransactionID: "a786hjs2",
		Method:        msrp.MethodSEND,
		ToPath:        "msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp",
		FromPath:      "msrp://atlanta.example.com:7654/jshA7weztas;tcp",
		MessageID:     "87652491",
		ByteRange:     msrp.ByteRange{Start: 1, End: 5, Total: 5},
		ContentType:   "text/plain",
		Body:          []byte("Hello"),
	}
	wire, err := msrp.AppendFrame(nil, &f)
	if err != nil {
		panic(err)
	}
	fmt.Print(strings.ReplaceAll(string(wire), "\r\n", "\n"))
	// Output:
	// MSRP a786hjs2 SEND
	// To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp
	// From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp
	// Message-ID: 87652491
	// Byte-Range: 1-5/5
	// Content-Type: text/plain
	//
	// Hello
	// -------a786hjs2$
}

func ExampleReader() {
	wire := "MSRP dkei38sd SEND\r\n" +
		"To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n" +
		"From-Path: msrp://bobpc.example.com:8888/9di4eae923wzd;tcp\r\n" +
		"Message-ID: 4564dpWd\r\n" +
		"Byte-Range: 1-*/8\r\n" +
		"Content-Type: text/plain\r\n" +
		"\r\n" +
		"abcd\r\n" +
		"-------dkei38sd+\r\n"
	rd := msrp.NewReader(strings.NewReader(wire), msrp.Limits{})
	var f msrp.Frame
	if err := rd.ReadFrame(&f); err != nil {
		panic(err)
	}
	fmt.Println(f.Method, f.MessageID, f.ByteRange, string(f.Body), string(f.Flag))
	// Output: SEND 4564dpWd 1-*/8 abcd +
}

func ExampleParseURI() {
	u, err := msrp.ParseURI("msrps://relay.example.net:2855/r5tz8;tcp")
	if err != nil {
		panic(err)
	}
	fmt.Println(u.Secure, u.Addr(), u.SessionID)
	// Output: true relay.example.net:2855 r5tz8
}
