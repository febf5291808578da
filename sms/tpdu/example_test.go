package tpdu_test

import (
	"encoding/hex"
	"fmt"
	"time"

	"iwf/smpp/coding"
	"iwf/sms/tpdu"
)

// ExampleDecode reads the SMS-SUBMIT a handset puts in RP-DATA.
func ExampleDecode() {
	b, _ := hex.DecodeString("31070B916407281553F80000A705E8329BFD06")
	p, err := tpdu.Decode(b, tpdu.MO)
	if err != nil {
		fmt.Println(err)
		return
	}
	s := p.(*tpdu.Submit)
	text, _ := s.UserData.Text(s.DCS)
	exp, _ := s.Validity.Expiry(time.Date(2024, 3, 9, 12, 0, 0, 0, time.UTC))
	fmt.Println(s.Destination, s.MessageRef, s.StatusReportRequest, s.DCS, text, exp.Format(time.RFC3339))
	// Output: +46708251358 7 true 0x00(gsm7) hello 2024-03-10T12:00:00Z
}

// ExampleDeliver_AppendEncode builds the SMS-DELIVER of a GSM 7-bit text.
func ExampleDeliver_AppendEncode() {
	units, _ := coding.Encode(coding.GSM7, "hello")
	d := &tpdu.Deliver{
		Originator:  tpdu.Address{TON: tpdu.TONInternational, NPI: tpdu.NPIISDN, Digits: "4917"},
		SCTimestamp: time.Date(2024, 3, 9, 14, 30, 5, 0, time.FixedZone("", 3600)),
		UserData:    tpdu.UserData{Units: units},
	}
	b, err := tpdu.Encode(d)
	fmt.Printf("% X %v\n", b, err)
	// Output: 04 04 91 94 71 00 00 42 30 90 41 03 50 40 05 E8 32 9B FD 06 <nil>
}
