package concat

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"iwf/smpp/coding"
)

func TestInspect(t *testing.T) {
	tests := []struct {
		name      string
		esm       byte
		sm        string // hex
		tlvs      []TLV
		concat    bool
		info      Info
		headerLen int
		text      string // hex
		ies       int
	}{
		{name: "udh8", esm: 0x40, sm: "050003420201 616263", concat: true, info: Info{UDH8, 0x42, 2, 1}, headerLen: 6, text: "616263", ies: 1},
		{name: "udh16", esm: 0x43, sm: "0608041234 0302 61", concat: true, info: Info{UDH16, 0x1234, 3, 2}, headerLen: 7, text: "61", ies: 1},
		{name: "other IE skipped", esm: 0x40, sm: "08 240101 00034203 03 61", concat: true, info: Info{UDH8, 0x42, 3, 3}, headerLen: 9, text: "61", ies: 2},
		{name: "last concat IE wins", esm: 0x40, sm: "0a 0003010201 0003020202 61", concat: true, info: Info{UDH8, 2, 2, 2}, headerLen: 11, text: "61", ies: 2},
		{name: "seq zero ignored", esm: 0x40, sm: "050003420200 61", headerLen: 6, text: "61", ies: 1},
		{name: "seq past total ignored", esm: 0x40, sm: "050003420203 61", headerLen: 6, text: "61", ies: 1},
		{name: "concat IE of wrong length ignored", esm: 0x40, sm: "06000442020100 61", headerLen: 7, text: "61", ies: 1},
		{name: "overrunning IE drops the header", esm: 0x40, sm: "0400054202 61", headerLen: 5, text: "61"},
		{name: "empty header", esm: 0x40, sm: "00 6162", headerLen: 1, text: "6162"},
		{name: "no udhi leaves text alone", esm: 0x00, sm: "050003420201", text: "050003420201"},
		{name: "sar", sm: "6162", tlvs: []TLV{{TagSARMsgRefNum, []byte{1, 2}}, {TagSARTotalSegments, []byte{4}}, {TagSARSegmentSeqnum, []byte{3}}},
			concat: true, info: Info{SAR, 0x0102, 4, 3}, text: "6162"},
		{name: "udh wins over sar", esm: 0x40, sm: "050003420201 61", tlvs: []TLV{{TagSARMsgRefNum, []byte{1, 2}}, {TagSARTotalSegments, []byte{4}}, {TagSARSegmentSeqnum, []byte{3}}},
			concat: true, info: Info{UDH8, 0x42, 2, 1}, headerLen: 6, text: "61", ies: 1},
		{name: "message_payload with udh", esm: 0x40, tlvs: []TLV{{TagMessagePayload, []byte{5, 0, 3, 9, 2, 2, 'z'}}},
			concat: true, info: Info{UDH8, 9, 2, 2}, headerLen: 6, text: "7a", ies: 1},
		{name: "message_payload plain", tlvs: []TLV{{TagMessagePayload, []byte("hi")}}, text: "6869"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := Inspect(tc.esm, unhex(t, tc.sm), tc.tlvs)
			if err != nil {
				t.Fatal(err)
			}
			if in.Concatenated != tc.concat || in.Concat != tc.info {
				t.Errorf("concat %v %v, want %v %v", in.Concatenated, in.Concat, tc.concat, tc.info)
			}
			if in.HeaderLen != tc.headerLen || len(in.Header) != tc.ies {
				t.Errorf("header %d octets %d IEs, want %d, %d", in.HeaderLen, len(in.Header), tc.headerLen, tc.ies)
			}
			if !bytes.Equal(in.Text, unhex(t, tc.text)) {
				t.Errorf("text % x, want %s", in.Text, tc.text)
			}
		})
	}
}

func TestInspectErrors(t *testing.T) {
	sar := func(ref, total, seq []byte) []TLV {
		var out []TLV
		for tag, v := range map[uint16][]byte{TagSARMsgRefNum: ref, TagSARTotalSegments: total, TagSARSegmentSeqnum: seq} {
			if v != nil {
				out = append(out, TLV{tag, v})
			}
		}
		return out
	}
	tests := []struct {
		name string
		esm  byte
		sm   []byte
		tlvs []TLV
	}{
		{name: "udhi on empty", esm: 0x40},
		{name: "udhl past end", esm: 0x40, sm: []byte{5, 0, 3, 1}},
		{name: "sar without seq", tlvs: sar([]byte{0, 1}, []byte{2}, nil)},
		{name: "sar ref one octet", tlvs: sar([]byte{1}, []byte{2}, []byte{1})},
		{name: "sar seq zero", tlvs: sar([]byte{0, 1}, []byte{2}, []byte{0})},
		{name: "sar seq past total", tlvs: sar([]byte{0, 1}, []byte{2}, []byte{3})},
		{name: "both short_message and payload", sm: []byte("a"), tlvs: []TLV{{TagMessagePayload, []byte("b")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Inspect(tc.esm, tc.sm, tc.tlvs); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Inspect error = %v, want ErrMalformed", err)
			}
		})
	}
}

// TestSplitInspect feeds every segment Split makes back through Inspect
// (verifySplit).
func TestSplitInspect(t *testing.T) {
	texts := map[coding.Coding]string{
		coding.GSM7:   strings.Repeat("Ab{€}x", 90),
		coding.UCS2:   strings.Repeat("жx😀", 60),
		coding.Latin1: strings.Repeat("é", 400),
		coding.Binary: strings.Repeat("\x00\xff", 200),
	}
	for c, text := range texts {
		for _, st := range []Style{UDH8, UDH16, SAR, Payload} {
			for _, packed := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v-%v-packed=%t", c, st, packed), func(t *testing.T) {
					verifySplit(t, mustEncode(t, c, text), c, Options{Style: st, Packed: packed})
				})
			}
		}
	}
}

// verifySplit splits enc and checks what a receiver sees: every segment
// within the SMS limits, the infos counting 1..n under one reference, the
// units joining to enc, and each segment decoding on its own.
func verifySplit(t *testing.T, enc []byte, c coding.Coding, o Options) {
	t.Helper()
	const ref = 0xBEEF
	segs, err := Split(enc, c, o, func() (uint16, error) { return ref, nil })
	if err != nil {
		t.Fatal(err)
	}
	// Capacity, in coding.Length units, decides alone whether a text
	// needs concatenation: the pager splitter relies on that.
	units := len(enc)
	if c == coding.UCS2 {
		units /= 2
	}
	if fits := units <= Capacity(c, o, false); fits != (len(segs) == 1 && len(segs[0].TLVs) == 0) {
		t.Fatalf("%d units, lone capacity %d, but %d segments", units, Capacity(c, o, false), len(segs))
	}
	var joined []byte
	for i, s := range segs {
		in, err := Inspect(s.ESMClass, s.ShortMessage, s.TLVs)
		if err != nil {
			t.Fatal(err)
		}
		units, err := in.Units(c, o.Packed)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.Decode(c, o.Packed); err != nil {
			t.Fatalf("segment %d does not decode alone: %v", i+1, err)
		}
		if c == coding.GSM7 && in.Tables() != o.Tables {
			t.Fatalf("segment %d names tables %+v, want %+v", i+1, in.Tables(), o.Tables)
		}
		joined = append(joined, units...)
		if len(segs) == 1 {
			if in.Concatenated || (o.Style != Payload && len(s.ShortMessage) > 160) {
				t.Fatalf("lone segment %+v", in)
			}
			continue
		}
		n := len(units)
		if c == coding.UCS2 {
			n /= 2
		}
		if limit := Capacity(c, o, true); n > limit || (o.Packed || c != coding.GSM7) && len(s.ShortMessage) > 140 {
			t.Fatalf("segment %d: %d units, %d octets; capacity %d", i+1, n, len(s.ShortMessage), limit)
		}
		want := Info{Style: o.Style, Ref: ref, Total: len(segs), Seq: i + 1}
		if o.Style == UDH8 {
			want.Ref = ref & 0xFF
		}
		if !in.Concatenated || in.Concat != want {
			t.Fatalf("segment %d info %v, want %v", i+1, in.Concat, want)
		}
	}
	if !bytes.Equal(joined, enc) {
		t.Fatalf("joined units % x differ from the input % x", joined, enc)
	}
}

func TestUDHRoundTrip(t *testing.T) {
	ies := []IE{{ID: 0x24, Data: []byte{1}}, {ID: IEIConcat16, Data: []byte{1, 2, 3, 1}}, {ID: 0x70, Data: nil}}
	hdr := AppendUDH(nil, ies)
	if len(hdr) != UDHLen(ies) || !bytes.Equal(hdr, []byte{11, 0x24, 1, 1, 8, 4, 1, 2, 3, 1, 0x70, 0}) {
		t.Fatalf("AppendUDH = % x", hdr)
	}
	got, text, err := ParseUDH(append(hdr, 'x'))
	if err != nil || string(text) != "x" || fmt.Sprint(got) != fmt.Sprint(ies) {
		t.Fatalf("ParseUDH = %v %q %v", got, text, err)
	}
	if info, ok := ConcatInfo(got); !ok || info != (Info{UDH16, 0x0102, 3, 1}) {
		t.Fatalf("ConcatInfo = %v %v", info, ok)
	}
}

func TestInboundTables(t *testing.T) {
	tests := []struct {
		name string
		sm   string
		want coding.Tables
		text string
	}{
		{name: "single shift", sm: "03 240101 1b53691b736c69", want: coding.Tables{Single: coding.Turkish}, text: "Şişli"},
		{name: "both with concat", sm: "0b 0003050201 250101 240101 1c691d6c69", want: coding.Tables{Locking: coding.Turkish, Single: coding.Turkish}, text: "Şişli"},
		{name: "wrong length ignored", sm: "04 24020101 61", want: coding.Tables{}, text: "a"},
		{name: "last wins", sm: "06 240101 240102 1b69", want: coding.Tables{Single: coding.Spanish}, text: "í"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := Inspect(ESMClassUDHI, unhex(t, tc.sm), nil)
			if err != nil {
				t.Fatal(err)
			}
			if in.Tables() != tc.want {
				t.Fatalf("Tables = %+v, want %+v", in.Tables(), tc.want)
			}
			if text, err := in.Decode(coding.GSM7, false); err != nil || text != tc.text {
				t.Fatalf("Decode = %q, %v; want %q", text, err, tc.text)
			}
		})
	}
	in, _ := Inspect(ESMClassUDHI, unhex(t, "03 250102 41"), nil)
	if _, err := in.Decode(coding.GSM7, false); !errors.Is(err, coding.ErrUnsupported) {
		t.Fatalf("spanish locking shift decode error = %v", err)
	}
}
