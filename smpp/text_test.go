package smpp

import (
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
				s, err := in.Decode(coding.Coding(m.DataCoding), false)
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
