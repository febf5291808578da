package msrpsdp_test

import (
	"fmt"
	"strings"

	"iwf/session/msrp"
	"iwf/session/msrpsdp"
)

// An RCS handset offers a chat; the IWF answers and learns who connects.
func ExampleBuildAnswer() {
	offer, err := msrpsdp.Parse([]byte("v=0\r\n" +
		"o=- 1234562 1234562 IN IP4 198.51.100.20\r\n" +
		"s=-\r\n" +
		"c=IN IP4 198.51.100.20\r\n" +
		"t=0 0\r\n" +
		"m=message 8880 TCP/MSRP *\r\n" +
		"a=accept-types:message/cpim application/im-iscomposing+xml\r\n" +
		"a=accept-wrapped-types:text/plain message/imdn+xml\r\n" +
		"a=path:msrp://198.51.100.20:8880/FmnP2wq;tcp\r\n" +
		"a=setup:actpass\r\n" +
		"a=msrp-cema\r\n"))
	if err != nil {
		fmt.Println(err) // answer 488 with msrpsdp.SIPStatusOf(err)
		return
	}
	path, _ := msrp.ParsePath("msrp://192.0.2.100:2855/iwf0001;tcp")
	local := msrpsdp.Media{
		Addr:               "192.0.2.100",
		Port:               2855,
		Path:               path,
		AcceptTypes:        []string{"message/cpim", "text/plain"},
		AcceptWrappedTypes: []string{"text/plain", "message/imdn+xml"},
		MaxSize:            65536,
		Setup:              msrpsdp.SetupPassive, // our choice against actpass
		CEMA:               true,
	}
	origin := msrpsdp.Origin{SessionID: 42, Version: 1, Addr: "192.0.2.100"}
	answer, neg, err := msrpsdp.BuildAnswer(origin, offer, local)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(strings.ReplaceAll(string(answer), "\r\n", "\n"))
	fmt.Println("we connect:", neg.Active, "CEMA:", neg.CEMA, "peer:", neg.RemoteURI().String())
	// Output:
	// v=0
	// o=- 42 1 IN IP4 192.0.2.100
	// s=-
	// c=IN IP4 192.0.2.100
	// t=0 0
	// m=message 2855 TCP/MSRP *
	// a=path:msrp://192.0.2.100:2855/iwf0001;tcp
	// a=accept-types:message/cpim
	// a=accept-wrapped-types:text/plain message/imdn+xml
	// a=max-size:65536
	// a=setup:passive
	// a=msrp-cema
	// we connect: false CEMA: true peer: msrp://198.51.100.20:8880/FmnP2wq;tcp
}

// The IWF offers a session, then reads the answer to learn where to
// connect.
func ExampleNegotiate() {
	path, _ := msrp.ParsePath("msrp://192.0.2.100:2855/iwf0002;tcp")
	local := msrpsdp.Media{
		Addr:        "192.0.2.100",
		Port:        2855,
		Path:        path,
		AcceptTypes: []string{"message/cpim", "text/plain"},
		Setup:       msrpsdp.SetupActPass,
	}
	if _, err := msrpsdp.BuildOffer(msrpsdp.Origin{SessionID: 7, Version: 1}, local); err != nil {
		fmt.Println(err)
		return
	}
	answer, err := msrpsdp.Parse([]byte("v=0\r\no=- 9 9 IN IP4 198.51.100.30\r\ns=-\r\n" +
		"c=IN IP4 198.51.100.30\r\nt=0 0\r\nm=message 7000 TCP/MSRP *\r\n" +
		"a=accept-types:message/cpim\r\na=accept-wrapped-types:text/plain\r\na=path:msrp://198.51.100.30:7000/peer9;tcp\r\n" +
		"a=setup:passive\r\na=max-size:10240\r\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	neg, err := msrpsdp.Negotiate(msrpsdp.Offerer, local, answer.Media)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("we connect:", neg.Active, "to", neg.ConnectAddr(), "send limit", neg.SendLimit())
	fmt.Println("text/plain in CPIM:", neg.CanSend("text/plain", true), "bare:", neg.CanSend("text/plain", false))
	// Output:
	// we connect: true to 198.51.100.30:7000 send limit 10240
	// text/plain in CPIM: true bare: false
}
