package concat

import (
	"bytes"
	"slices"
	"testing"

	"iwf/smpp/coding"
)

// sameIEs compares headers, nil and empty alike.
func sameIEs(a, b []IE) bool {
	return slices.EqualFunc(a, b, func(x, y IE) bool { return x.ID == y.ID && bytes.Equal(x.Data, y.Data) })
}

// FuzzInspect parses arbitrary UDH / SAR / message_payload input, encodes
// what it found again (AppendUDH, the SAR TLVs, Info.segment) and parses
// that: the header, text and concatenation info must survive.
func FuzzInspect(f *testing.F) {
	f.Add(byte(0x40), []byte{5, 0, 3, 0x42, 2, 1, 'a'}, []byte{}, byte(0), byte(0), uint8(0))
	f.Add(byte(0x40), []byte{6, 8, 4, 0x12, 0x34, 3, 2, 'b'}, []byte{}, byte(0), byte(0), uint8(0))
	f.Add(byte(0x00), []byte("sar"), []byte{1, 2}, byte(4), byte(3), uint8(7))
	f.Add(byte(0x40), []byte{8, 0x24, 1, 1, 0, 3, 9, 3, 3, 'c'}, []byte{}, byte(0), byte(0), uint8(8))
	f.Add(byte(0x40), []byte{4, 0, 5, 0x42, 2, 'd'}, []byte{}, byte(0), byte(0), uint8(0))
	f.Fuzz(func(t *testing.T, esm byte, body, ref []byte, total, seq byte, flags uint8) {
		var tlvs []TLV
		if flags&1 != 0 {
			tlvs = append(tlvs, TLV{TagSARMsgRefNum, ref})
		}
		if flags&2 != 0 {
			tlvs = append(tlvs, TLV{TagSARTotalSegments, []byte{total}})
		}
		if flags&4 != 0 {
			tlvs = append(tlvs, TLV{TagSARSegmentSeqnum, []byte{seq}})
		}
		sm := body
		if flags&8 != 0 {
			tlvs = append(tlvs, TLV{TagMessagePayload, body})
			sm = nil
		}
		in, err := Inspect(esm, sm, tlvs)
		if err != nil {
			return
		}
		rebuilt := slices.Clone(in.Text)
		if esm&ESMClassUDHI != 0 {
			rebuilt = append(AppendUDH(nil, in.Header), in.Text...)
		}
		var tlvs2 []TLV
		if in.Concatenated && in.Concat.Style == SAR {
			tlvs2 = in.Concat.sarTLVs()
		}
		again, err := Inspect(esm, rebuilt, tlvs2)
		if err != nil {
			t.Fatalf("Inspect of the re-encoded message: %v", err)
		}
		if !sameIEs(again.Header, in.Header) || !bytes.Equal(again.Text, in.Text) ||
			again.Concat != in.Concat || again.Concatenated != in.Concatenated {
			t.Fatalf("re-encoded message reads %+v, first read %+v", again, in)
		}
		if esm&ESMClassUDHI != 0 && again.HeaderLen != UDHLen(in.Header) {
			t.Fatalf("header length %d, want %d", again.HeaderLen, UDHLen(in.Header))
		}
		if !in.Concatenated {
			return
		}
		seg, err := Options{}.segment(&in.Concat, in.Text, coding.Binary)
		if err != nil {
			t.Fatal(err)
		}
		third, err := Inspect(seg.ESMClass, seg.ShortMessage, seg.TLVs)
		if err != nil || third.Concat != in.Concat || !bytes.Equal(third.Text, in.Text) {
			t.Fatalf("segment rebuilt from %v reads %+v, %v", in.Concat, third, err)
		}
	})
}

// FuzzSplit splits arbitrary text in every coding and style and checks
// the segments as a receiver would (verifySplit).
func FuzzSplit(f *testing.F) {
	f.Add([]byte("hello {world} €"), uint8(0), uint8(0), false, uint8(0))
	f.Add(bytes.Repeat([]byte("a€"), 120), uint8(0), uint8(1), true, uint8(0))
	f.Add(bytes.Repeat([]byte("ж😀"), 50), uint8(1), uint8(2), false, uint8(0))
	f.Add(bytes.Repeat([]byte{0xff}, 300), uint8(3), uint8(3), false, uint8(0))
	f.Add(bytes.Repeat([]byte("Şişli ğİı "), 20), uint8(0), uint8(0), true, uint8(2))
	f.Add(bytes.Repeat([]byte("ação ª "), 30), uint8(0), uint8(1), false, uint8(5))
	codings := []coding.Coding{coding.GSM7, coding.UCS2, coding.Latin1, coding.Binary, coding.IA5}
	tables := []coding.Tables{{}, {Single: coding.Turkish}, {Locking: coding.Turkish, Single: coding.Turkish},
		{Single: coding.Spanish}, {Single: coding.Portuguese}, {Locking: coding.Portuguese, Single: coding.Portuguese}}
	f.Fuzz(func(t *testing.T, text []byte, cs, st uint8, packed bool, ts uint8) {
		c := codings[int(cs)%len(codings)]
		o := Options{Style: Style(st % 4), Packed: packed}
		if c == coding.GSM7 {
			o.Tables = tables[int(ts)%len(tables)]
		}
		if !o.Tables.IsDefault() {
			o.Style %= 2
		}
		a, err := coding.NewAlphabet(o.Tables)
		if err != nil {
			t.Fatal(err)
		}
		var enc []byte
		if c == coding.GSM7 {
			enc, err = a.AppendEncode(nil, string(text))
		} else {
			enc, err = coding.Encode(c, string(text))
		}
		if err != nil {
			return
		}
		verifySplit(t, enc, c, o)
	})
}
