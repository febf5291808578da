package smpp_test

import (
	"errors"
	"fmt"

	"iwf/smpp"
	"iwf/smpp/receipt"
)

func ExampleAppendMessage() {
	m := &smpp.Message{
		Source:             smpp.Address{TON: 1, NPI: 1, Addr: "4915112345678"},
		Dest:               smpp.Address{TON: 1, NPI: 1, Addr: "4917612345678"},
		RegisteredDelivery: 1,
		ShortMessage:       []byte("hi"),
	}
	frame, err := smpp.AppendMessage(nil, smpp.CmdSubmitSM, 7, m)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("% x\n", frame[:16])
	fmt.Printf("%d octets\n", len(frame))
	// Output:
	// 00 00 00 3d 00 00 00 04 00 00 00 00 00 00 00 07
	// 61 octets
}

func ExampleDecodeMessage() {
	m := &smpp.Message{
		Dest:         smpp.Address{TON: 1, NPI: 1, Addr: "4917612345678"},
		ESMClass:     0x40,
		ShortMessage: []byte{0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, 'h', 'i'},
	}
	frame, _ := smpp.AppendMessage(nil, smpp.CmdDeliverSM, 1, m)
	got, err := smpp.DecodeMessage(frame)
	if err != nil {
		fmt.Println(err)
		return
	}
	in, _ := got.Inspect()
	fmt.Println(got.Dest, in.Concat, string(in.Text))
	// Output: 1.1:4917612345678 udh8 ref=42 1/2 hi
}

func ExampleReceiptMessage() {
	m, err := smpp.ReceiptMessage(
		smpp.Address{Addr: "4917612345678"}, smpp.Address{Addr: "4915112345678"},
		receipt.Receipt{ID: "iwf-42", State: receipt.Delivered, Submitted: 1, Delivered: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	id, _ := m.TLV(receipt.TagReceiptedMessageID)
	fmt.Printf("esm_class 0x%02x receipted_message_id %q receipt %v\n", m.ESMClass, id, m.IsReceipt())
	// Output: esm_class 0x04 receipted_message_id "iwf-42\x00" receipt true
}

func ExampleStatusOf() {
	throttled := &smpp.StatusError{Command: smpp.CmdSubmitSMResp, Status: smpp.StatusThrottled}
	fmt.Println(smpp.StatusName(smpp.StatusOf(fmt.Errorf("store: %w", throttled))))
	fmt.Println(smpp.StatusName(smpp.StatusOf(errors.New("anything else"))))
	// Output:
	// ESME_RTHROTTLED (0x00000058)
	// ESME_RSYSERR (0x00000008)
}
