package rp_test

import (
	"encoding/hex"
	"fmt"

	"iwf/sms/rp"
)

// ExampleDecode reads an RP-DATA from a handset and builds the RP-ACK and
// the RP-ERROR that can answer it.
func ExampleDecode() {
	b, _ := hex.DecodeString("002A0007914477581006501331070B916407281553F80000A705E8329BFD06")
	m, err := rp.Decode(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	d := m.(*rp.Data)
	fmt.Println(d.MessageType(), d.Ref, d.Destination, len(d.UserData))
	ack, _ := rp.Encode(&rp.Ack{Direction: rp.MT, Ref: d.Ref})
	nack, _ := rp.Encode(&rp.ErrorMsg{Direction: rp.MT, Ref: d.Ref, Cause: rp.CauseCongestion})
	fmt.Printf("% X / % X %v\n", ack, nack, rp.CauseCongestion.Temporary())
	// Output:
	// RP-DATA(ms->n) 42 +447785016005 19
	// 03 2A / 05 2A 01 2A true
}
