package smpp

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/pdu"

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

// TestRespFrameMatchesGosmpp holds the submit_sm_resp and
// deliver_sm_resp frames to what gosmpp's codec (which wrote them
// before) writes for the same values.
func TestRespFrameMatchesGosmpp(t *testing.T) {
	for _, tc := range []struct {
		name        string
		cmd, status uint32
		id          string
	}{
		{"submit", CmdSubmitSMResp, StatusOK, "Gz0cXvK1hNq2RTY5"},
		{"submit empty id", CmdSubmitSMResp, StatusOK, ""},
		{"submit long id", CmdSubmitSMResp, StatusOK, strings.Repeat("9", 64)},
		{"deliver", CmdDeliverSMResp, StatusOK, ""},
		{"deliver throttled", CmdDeliverSMResp, StatusThrottled, ""},
		{"deliver failed", CmdDeliverSMResp, StatusSysErr, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p pdu.PDU
			if tc.cmd == CmdSubmitSMResp {
				r := pdu.NewSubmitSMResp().(*pdu.SubmitSMResp)
				r.MessageID = tc.id
				r.CommandStatus = statusType(tc.status)
				p = r
			} else {
				r := pdu.NewDeliverSMResp().(*pdu.DeliverSMResp)
				r.CommandStatus = statusType(tc.status)
				p = r
			}
			want := marshal(p, 0x01020304)
			if got := respFrame(tc.cmd, tc.status, 0x01020304, tc.id); !bytes.Equal(got, want) {
				t.Fatalf("respFrame = % x\ngosmpp     % x", got, want)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { _ = respFrame(CmdSubmitSMResp, StatusOK, 1, "Gz0cXvK1hNq2RTY5") }); n != 1 {
		t.Errorf("%v allocations a submit_sm_resp, want 1", n)
	}
}

// BenchmarkSubmitSMResp is the answer to every submit_sm: respFrame, and
// gosmpp's codec that wrote it before.
func BenchmarkSubmitSMResp(b *testing.B) {
	b.Run("frame", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = respFrame(CmdSubmitSMResp, StatusOK, 7, "Gz0cXvK1hNq2RTY5")
		}
	})
	b.Run("gosmpp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := pdu.NewSubmitSMResp().(*pdu.SubmitSMResp)
			r.MessageID = "Gz0cXvK1hNq2RTY5"
			_ = marshal(r, 7)
		}
	})
}
