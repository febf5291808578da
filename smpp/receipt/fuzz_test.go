package receipt

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzParse parses arbitrary receipt text and TLVs, builds the receipt
// again and parses that: every field must survive, except what Appendix B
// cannot hold (seconds of the dates, text past 20 characters).
func FuzzParse(f *testing.F) {
	for _, line := range loadReceipts(f) {
		f.Add([]byte(line), []byte{}, []byte{}, []byte{}, uint8(0))
		f.Add([]byte(line), []byte("ABC123\x00"), []byte{2}, []byte{3, 0, 1}, uint8(7))
	}
	f.Fuzz(func(t *testing.T, text, id, state, netErr []byte, flags uint8) {
		var p Params
		if flags&1 != 0 {
			p.ReceiptedMessageID = id
		}
		if flags&2 != 0 {
			p.MessageState = state
		}
		if flags&4 != 0 {
			p.NetworkErrorCode = netErr
		}
		first, err := Parse(text, p)
		if err != nil {
			return
		}
		built, bp := Build(first)
		second, err := Parse(built, bp)
		if err != nil {
			t.Fatalf("Parse(Build(%+v)) = %v", first, err)
		}
		want := first
		want.SubmitDate = want.SubmitDate.Truncate(time.Minute)
		want.DoneDate = want.DoneDate.Truncate(time.Minute)
		want.Text = strings.TrimLeft(string(appendExcerpt(nil, want.Text, maxTextRunes)), " ")
		if !reflect.DeepEqual(second, want) {
			t.Fatalf("round trip through %q\n got %+v\nwant %+v", built, second, want)
		}
	})
}
