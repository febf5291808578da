package smpp

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"iwf/smpp/coding"
	"iwf/smpp/concat"
	"iwf/smpp/receipt"
)

// benchReceipt is a receipt as interwork sends one for every message
// whose sender asked: DELIVRD, the text's first 20 characters.
func benchReceipt() receipt.Receipt {
	at := time.Date(2026, 1, 2, 15, 4, 0, 0, time.UTC)
	return receipt.Receipt{ID: "Gz0cXvK1hNq2RTY5", State: receipt.Delivered, Submitted: 1, Delivered: 1,
		SubmitDate: at, DoneDate: at.Add(time.Second), Text: "Benchmark message of a typical SMS length"}
}

// BenchmarkReceiptMessage is a delivery receipt made into its deliver_sm
// message (Engine.receipt, one per message that asked for one).
func BenchmarkReceiptMessage(b *testing.B) {
	r := benchReceipt()
	src := Address{TON: 1, NPI: 1, Addr: "447700900123"}
	dst := Address{TON: 1, NPI: 1, Addr: "447700900456"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReceiptMessage(src, dst, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendDeliver is a message encoded as a fresh deliver_sm
// frame, as Server.Deliver encodes each.
func BenchmarkAppendDeliver(b *testing.B) {
	m, err := ReceiptMessage(Address{TON: 1, NPI: 1, Addr: "447700900123"}, Address{TON: 1, NPI: 1, Addr: "447700900456"}, benchReceipt())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("receipt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := AppendMessage(nil, CmdDeliverSM, 0, m); err != nil {
				b.Fatal(err)
			}
		}
	})
	seg := benchMessage()
	b.Run("segment", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := AppendMessage(nil, CmdDeliverSM, 0, seg); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestReceiptMessageMatchesBuild holds ReceiptMessage to what
// receipt.Build makes, the text encoded in the coding Choose picks.
func TestReceiptMessageMatchesBuild(t *testing.T) {
	long := strings.Repeat("x", 70)
	cases := map[string]func(*receipt.Receipt){
		"plain":     func(*receipt.Receipt) {},
		"no id":     func(r *receipt.Receipt) { r.ID = "" },
		"long id":   func(r *receipt.Receipt) { r.ID = long },
		"nul id":    func(r *receipt.Receipt) { r.ID = "a\x00b" },
		"text id":   func(r *receipt.Receipt) { r.TextID = "0123456789" },
		"network":   func(r *receipt.Receipt) { r.Network = &receipt.NetworkError{Type: 3, Code: 0x1234} },
		"bad state": func(r *receipt.Receipt) { r.State = 99 },
		"text":      func(r *receipt.Receipt) { r.Text = "Grüße € ^{} 日本語 😀 and more" },
		"gsm ext":   func(r *receipt.Receipt) { r.ID = "[^]{|}~\\€" + long[:40] },
		"payload":   func(r *receipt.Receipt) { r.TextID = strings.Repeat("日", 100) },
	}
	src := Address{TON: 1, NPI: 1, Addr: "447700900123"}
	dst := Address{TON: 5, NPI: 0, Addr: "Brand"}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			r := benchReceipt()
			edit(&r)
			text, p := receipt.Build(r)
			c := coding.Choose(string(text))
			sm, err := coding.Encode(c, string(text))
			if err != nil {
				t.Fatal(err)
			}
			want := &Message{Source: src, Dest: dst, ESMClass: receipt.ESMClassReceipt, DataCoding: byte(c), ShortMessage: sm}
			for _, tlv := range []TLV{{Tag: receipt.TagReceiptedMessageID, Value: p.ReceiptedMessageID}, {Tag: receipt.TagMessageState, Value: p.MessageState}, {Tag: receipt.TagNetworkErrorCode, Value: p.NetworkErrorCode}} {
				if tlv.Value != nil {
					want.TLVs = append(want.TLVs, tlv)
				}
			}
			if len(sm) > MaxShortMessage {
				want.TLVs = append(want.TLVs, TLV{Tag: concat.TagMessagePayload, Value: sm})
				want.ShortMessage = nil
			}
			got, err := ReceiptMessage(src, dst, r)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("ReceiptMessage = %+v\nwant             %+v", got, want)
			}
			frame, err := AppendMessage(nil, CmdDeliverSM, 7, got)
			if err != nil {
				t.Fatal(err)
			}
			if size, _ := got.validate(); size != len(frame) {
				t.Fatalf("validate counts %d octets, the frame has %d", size, len(frame))
			}
		})
	}
}

// TestReceiptMessageAllocs pins a receipt's deliver_sm at four
// allocations: the text, the short_message with the TLV values, the
// message with its TLVs, and the frame.
func TestReceiptMessageAllocs(t *testing.T) {
	r := benchReceipt()
	src := Address{TON: 1, NPI: 1, Addr: "447700900123"}
	dst := Address{TON: 1, NPI: 1, Addr: "447700900456"}
	n := testing.AllocsPerRun(100, func() {
		m, err := ReceiptMessage(src, dst, r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := AppendMessage(nil, CmdDeliverSM, 1, m); err != nil {
			t.Fatal(err)
		}
	})
	// 16 before: Build's pieces, the TLVs grown one by one, the text
	// converted twice, the frame grown by append.
	if n != 4 {
		t.Errorf("%v allocations, want 4", n)
	}
}
