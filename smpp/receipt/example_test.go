package receipt_test

import (
	"fmt"
	"time"

	"iwf/smpp/receipt"
)

func ExampleParse() {
	text := []byte("id:1F2E3D sub:001 dlvrd:000 submit date:2601021504 done date:2601021506 stat:UNDELIV err:034 text:Hello")
	r, _ := receipt.Parse(text, receipt.Params{MessageState: []byte{5}})
	fmt.Println(r.ID, r.State, r.State.Final(), r.ErrorCode, r.DoneDate.Format(time.RFC3339))
	// Output: 1F2E3D UNDELIV true 34 2026-01-02T15:06:00Z
}

func ExampleBuild() {
	text, p := receipt.Build(receipt.Receipt{
		ID: "iwf-42", State: receipt.Delivered, Submitted: 1, Delivered: 1,
		SubmitDate: time.Date(2026, 1, 2, 15, 4, 0, 0, time.UTC),
		DoneDate:   time.Date(2026, 1, 2, 15, 5, 0, 0, time.UTC),
		Text:       "See you at the station at five",
	})
	fmt.Printf("%s\n%q %v\n", text, p.ReceiptedMessageID, p.MessageState)
	// Output:
	// id:iwf-42 sub:001 dlvrd:001 submit date:2601021504 done date:2601021505 stat:DELIVRD err:000 text:See you at the stati
	// "iwf-42\x00" [2]
}
