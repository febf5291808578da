package smpp

import (
	"errors"
	"strings"
	"testing"

	"iwf/smpp/coding"
	"iwf/smpp/concat"
)

func TestTextMessages(t *testing.T) {
	ref := func() (uint16, error) { return 7, nil }
	ucs2 := coding.UCS2
	tests := []struct {
		name     string
		text     string
		o        TextOptions
		segments int
		dc       byte
		esm      byte
	}{
		{"one gsm7", "hello", TextOptions{}, 1, 0x00, 0},
		{"161 gsm7 chars, udh8", strings.Repeat("a", 161), TextOptions{Concat: concat.Options{Style: concat.UDH8}}, 2, 0x00, concat.ESMClassUDHI},
		{"ucs2 chosen", "hej Ω ☃", TextOptions{}, 1, 0x08, 0},
		{"forced ucs2", "hello", TextOptions{Coding: &ucs2}, 1, 0x08, 0},
		{"71 ucs2 chars", strings.Repeat("☃", 71), TextOptions{Concat: concat.Options{Style: concat.UDH8}}, 2, 0x08, concat.ESMClassUDHI},
		{"latin1 as data_coding 0", "café ½", TextOptions{Default: coding.Latin1}, 1, 0x00, 0},
		{"ascii as data_coding 0", "plain {text}", TextOptions{Default: coding.IA5}, 1, 0x00, 0},
		{"ascii partner, ucs2 beyond", "über", TextOptions{Default: coding.IA5}, 1, 0x08, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := TextMessages(Address{Addr: "1"}, Address{Addr: "2"}, tt.text, tt.o, ref)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != tt.segments {
				t.Fatalf("%d segments, want %d", len(msgs), tt.segments)
			}
			var got strings.Builder
			for _, m := range msgs {
				if m.DataCoding != tt.dc || m.ESMClass != tt.esm || m.Source.Addr != "1" || m.Dest.Addr != "2" {
					t.Fatalf("segment %+v", m)
				}
				in, err := m.Inspect()
				if err != nil {
					t.Fatal(err)
				}
				sc, err := coding.ParseScheme(m.DataCoding, tt.o.Default)
				if err != nil {
					t.Fatal(err)
				}
				s, err := in.Decode(sc.Coding, false)
				if err != nil {
					t.Fatal(err)
				}
				got.WriteString(s)
			}
			if got.String() != tt.text {
				t.Fatalf("round trip %q", got.String())
			}
		})
	}
}

func TestUnits(t *testing.T) {
	n, per, err := Units(strings.Repeat("€", 10), TextOptions{Concat: concat.Options{Style: concat.UDH8}})
	if err != nil || n != 20 || per != 153 {
		t.Fatalf("units %d per %d err %v, want 20 153", n, per, err)
	}
	if _, _, err := Units("\xff", TextOptions{}); err == nil {
		t.Fatal("invalid utf-8 accepted")
	}
}

func TestSegments(t *testing.T) {
	o := TextOptions{Concat: concat.Options{Style: concat.SAR, MaxSegments: 2}}
	tests := []struct {
		name string
		text string
		want int
		err  bool
	}{
		{name: "one", text: strings.Repeat("a", 160), want: 1},
		{name: "two sar segments of 153", text: strings.Repeat("a", 306), want: 2},
		{name: "307 needs three", text: strings.Repeat("a", 307), err: true},
		// 152 septets then a € (2 septets) at the boundary: the € moves
		// to the second segment, which still holds the rest.
		{name: "euro at the boundary", text: strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10), want: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Segments(tc.text, o)
			if tc.err {
				if !errors.Is(err, concat.ErrTooManySegments) {
					t.Fatalf("Segments = %d, %v; want ErrTooManySegments", n, err)
				}
				return
			}
			if err != nil || n != tc.want {
				t.Fatalf("Segments = %d, %v; want %d", n, err, tc.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want Content
	}{
		{name: "gsm7 text", m: Message{ShortMessage: []byte("hi")}, want: ContentText},
		{name: "class 1 text", m: Message{DataCoding: 0x11, ShortMessage: []byte("hi")}, want: ContentText},
		{name: "ucs2 class 0", m: Message{DataCoding: 0x18, ShortMessage: []byte{0, 'h'}}, want: ContentText},
		{name: "8-bit data", m: Message{DataCoding: 0x04, ShortMessage: []byte{1, 2}}, want: ContentBinary},
		{name: "8-bit data class 1", m: Message{DataCoding: 0xF5, ShortMessage: []byte{1, 2}}, want: ContentBinary},
		{name: "general group 8-bit", m: Message{DataCoding: 0x16, ShortMessage: []byte{1, 2}}, want: ContentBinary},
		{name: "16-bit ports", m: Message{ESMClass: concat.ESMClassUDHI, DataCoding: 0x04,
			ShortMessage: []byte{6, 5, 4, 0x0B, 0x84, 0x23, 0xF0, 1}}, want: ContentPorts},
		{name: "8-bit ports on text", m: Message{ESMClass: concat.ESMClassUDHI,
			ShortMessage: []byte{4, 4, 2, 0xF5, 0xF5, 'h'}}, want: ContentPorts},
		{name: "type 0", m: Message{ProtocolID: 0x40, ShortMessage: []byte("x")}, want: ContentType0},
		{name: "sme delivery ack", m: Message{ESMClass: 0x08, ShortMessage: []byte("ok")}, want: ContentSMEAck},
		{name: "sme manual ack", m: Message{ESMClass: 0x10 | 0x03, ShortMessage: []byte("ok")}, want: ContentSMEAck},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := tc.m.Inspect()
			if err != nil {
				t.Fatal(err)
			}
			s, err := coding.ParseScheme(tc.m.DataCoding, coding.GSM7)
			if err != nil {
				t.Fatal(err)
			}
			if got := Classify(&tc.m, in, s); got != tc.want {
				t.Fatalf("Classify = %v, want %v", got, tc.want)
			}
		})
	}
}
