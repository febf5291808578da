package tpdu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"iwf/smpp/coding"
	"iwf/smpp/concat"
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestRoundTrip encodes values to the octets TS 23.040 lays out and
// decodes them back.
func TestRoundTrip(t *testing.T) {
	utc := zone(0)
	tests := []struct {
		name   string
		pdu    PDU
		wire   string
		decode func([]byte) (PDU, error)
	}{
		{
			name: "submit with a 16-bit concatenation header: no fill bits",
			pdu: &Submit{
				ReplyPath:   true,
				MessageRef:  0xFF,
				Destination: Address{TON: TONInternational, NPI: NPIISDN, Digits: "4915"},
				UserData:    UserData{Header: []byte{0x08, 0x04, 0x12, 0x34, 0x03, 0x02}, Units: []byte("ab")},
			},
			// 7-octet header = 8 septets exactly, then "ab" packed from
			// bit 0: a=0x61, b=0x62.
			wire:   "C1 FF 04 91 94 51 00 00 0A 06 08 04 12 34 03 02 61 31",
			decode: func(b []byte) (PDU, error) { return Decode(b, MO) },
		},
		{
			name: "submit with enhanced validity and 8-bit data",
			pdu: &Submit{
				Destination: Address{TON: TONUnknown, NPI: NPIUnknown, Digits: "123"},
				PID:         0x41,
				DCS:         0xF4,
				Validity:    Validity{Format: VPEnhanced, Enhanced: [7]byte{0x02, 0x3C}},
				UserData:    UserData{Units: []byte{0xDE, 0xAD}},
			},
			wire:   "09 00 03 80 21 F3 41 F4 02 3C 00 00 00 00 00 02 DE AD",
			decode: func(b []byte) (PDU, error) { return Decode(b, MO) },
		},
		{
			name: "deliver with every flag and an empty text",
			pdu: &Deliver{
				MoreMessages: true, LoopPrevention: true, ReplyPath: true, StatusReportIndication: true,
				Originator:  Address{TON: TONInternational, NPI: NPIISDN, Digits: "1"},
				SCTimestamp: time.Date(2099, 12, 31, 23, 59, 59, 0, zone(-13.75)),
			},
			// Zone -13:45 is 55 quarters: 0x55 with the sign bit, 0x5D.
			wire:   "A8 01 91 F1 00 00 99 21 13 32 95 95 5D 00",
			decode: func(b []byte) (PDU, error) { return Decode(b, MT) },
		},
		{
			name: "deliver from an 11-character alphanumeric sender",
			pdu: &Deliver{
				Originator:  Address{TON: TONAlphanumeric, Digits: "ABCDEFGHIJK"},
				SCTimestamp: time.Date(2000, 1, 1, 0, 0, 0, 0, utc),
				UserData:    UserData{Units: []byte{}},
			},
			wire:   "04 14 D0 41 E1 90 58 34 1E 91 49 E5 12 00 00 00 10 10 00 00 00 00 00",
			decode: func(b []byte) (PDU, error) { return Decode(b, MT) },
		},
		{
			name: "status report with every optional field",
			pdu: &StatusReport{
				MoreMessages:  true,
				CommandResult: true,
				MessageRef:    1,
				Recipient:     Address{TON: TONInternational, NPI: NPIISDN, Digits: "12"},
				SCTimestamp:   time.Date(2024, 1, 2, 3, 4, 5, 0, utc),
				DischargeTime: time.Date(2024, 1, 2, 3, 4, 6, 0, utc),
				Status:        StatusValidityPeriodExpired,
				HasOptional:   true,
				Optional:      Optional{PI: PIPID | PIDCS | PIUDL, PID: 0x00, DCS: 0x08, UserData: UserData{Units: []byte{0x00, 0x41}}},
			},
			wire:   "22 01 02 91 21 42 10 20 30 40 50 00 42 10 20 30 40 60 00 46 07 00 08 02 00 41",
			decode: func(b []byte) (PDU, error) { return Decode(b, MT) },
		},
		{
			name: "submit report: TP-SCTS between TP-PI and the fields it names",
			pdu: &Report{
				Direction:    MT,
				Error:        true,
				FailureCause: FCSInvalidSMEAddress,
				SCTimestamp:  time.Date(2024, 1, 2, 3, 4, 5, 0, utc),
				Optional:     Optional{PI: PIUDL, UserData: UserData{Header: []byte{}, Units: []byte("A")}},
			},
			// UDHL 0: one header octet is 2 septets with 6 fill bits,
			// then 'A' (0x41): 0x41<<6 spreads over two octets.
			wire:   "41 C3 04 42 10 20 30 40 50 00 03 00 40 10",
			decode: func(b []byte) (PDU, error) { return DecodeReport(b, MT, true) },
		},
		{
			name: "submit of 7 septets: the 7 spare bits stay zero, no CR padding",
			pdu: &Submit{
				Destination: Address{TON: TONInternational, NPI: NPIISDN, Digits: "1"},
				UserData:    UserData{Units: []byte("1234567")},
			},
			wire:   "01 00 01 91 F1 00 00 07 31 D9 8C 56 B3 DD 00",
			decode: func(b []byte) (PDU, error) { return Decode(b, MO) },
		},
		{
			name: "alphanumeric sender of 7 septets: 13 semi-octets, no CR padding",
			pdu: &Deliver{
				Originator:  Address{TON: TONAlphanumeric, Digits: "1234567"},
				SCTimestamp: time.Date(2000, 1, 1, 0, 0, 0, 0, utc),
			},
			wire:   "04 0D D0 31 D9 8C 56 B3 DD 00 00 00 00 10 10 00 00 00 00 00",
			decode: func(b []byte) (PDU, error) { return Decode(b, MT) },
		},
		{
			name:   "deliver report in an rp-ack",
			pdu:    &Report{Direction: MO, Optional: Optional{PI: PIPID, PID: 0x7F}},
			wire:   "00 01 7F",
			decode: func(b []byte) (PDU, error) { return DecodeReport(b, MO, false) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.wire)
			enc, err := Encode(tc.pdu)
			if err != nil || !bytes.Equal(enc, want) {
				t.Fatalf("Encode = % X, %v\nwant % X", enc, err, want)
			}
			got, err := tc.decode(want)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			normalise(tc.pdu)
			if !reflect.DeepEqual(got, tc.pdu) {
				t.Fatalf("decode = %#v\nwant %#v", got, tc.pdu)
			}
		})
	}
}

// normalise gives empty units the nil the decoder returns.
func normalise(p PDU) {
	if d, ok := p.(*Deliver); ok && len(d.UserData.Units) == 0 {
		d.UserData.Units = nil
	}
}

// TestConcatSegments puts the segments concat.Split makes for SMPP into
// SMS-DELIVERs and reads them back through concat.Inspect, as the SMS over
// IP side will: packed GSM 7-bit with the fill bits of TS 23.040 9.2.3.24
// after a 6-octet header, and UCS2.
func TestConcatSegments(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		national bool
	}{
		{name: "gsm7", text: strings.Repeat("The quick brown fox jumps over the lazy dog {}. ", 5)},
		{name: "ucs2", text: strings.Repeat("Привет, мир! ", 12)},
		{name: "gsm7 national", text: strings.Repeat("Şişli'de buluşalım mı? ", 9), national: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := coding.Choose(tc.text)
			opts := concat.Options{Style: concat.UDH8}
			var units []byte
			var err error
			if tc.national {
				tables, ok := coding.ChooseTables(tc.text, []coding.Language{coding.Turkish})
				if !ok {
					t.Fatal("no turkish tables for the text")
				}
				a, err := coding.NewAlphabet(tables)
				if err != nil {
					t.Fatal(err)
				}
				c, opts.Tables = coding.GSM7, tables
				units, err = a.AppendEncode(nil, tc.text)
				if err != nil {
					t.Fatal(err)
				}
			} else if units, err = coding.Encode(c, tc.text); err != nil {
				t.Fatal(err)
			}
			segs, err := concat.Split(units, c, opts, func() (uint16, error) { return 0x42, nil })
			if err != nil || len(segs) < 2 {
				t.Fatalf("Split: %d segments, %v", len(segs), err)
			}
			dcs, err := DCSFor(c)
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			for i, seg := range segs {
				ud, err := NewUserData(seg.ShortMessage, seg.ESMClass&concat.ESMClassUDHI != 0)
				if err != nil {
					t.Fatal(err)
				}
				d := &Deliver{Originator: Address{TON: TONInternational, NPI: NPIISDN, Digits: "49"}, DCS: dcs,
					SCTimestamp: time.Date(2024, 1, 1, 0, 0, 0, 0, zone(0)), UserData: ud}
				b, err := Encode(d)
				if err != nil {
					t.Fatalf("segment %d: %v", i+1, err)
				}
				p, err := Decode(b, MT)
				if err != nil {
					t.Fatalf("segment %d: decode % X: %v", i+1, b, err)
				}
				back := p.(*Deliver).UserData
				if !bytes.Equal(back.ShortMessage(), seg.ShortMessage) {
					t.Fatalf("segment %d: short message % X, want % X", i+1, back.ShortMessage(), seg.ShortMessage)
				}
				in, err := concat.Inspect(concat.ESMClassUDHI, back.ShortMessage(), nil)
				if err != nil || !in.Concatenated || in.Concat.Seq != i+1 || in.Concat.Total != len(segs) || in.Concat.Ref != 0x42 {
					t.Fatalf("segment %d: Inspect = %+v, %v", i+1, in, err)
				}
				part, err := back.Text(dcs)
				if err != nil {
					t.Fatalf("segment %d: Text: %v", i+1, err)
				}
				got.WriteString(part)
			}
			if got.String() != tc.text {
				t.Fatalf("text = %q\nwant %q", got.String(), tc.text)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	mo := func(b []byte) error { _, err := Decode(b, MO); return err }
	mt := func(b []byte) error { _, err := Decode(b, MT); return err }
	tests := []struct {
		name   string
		decode func([]byte) error
		wire   string
		is     error
		field  string
	}{
		{name: "empty", decode: mo, wire: "", is: ErrTruncated, field: "TP-MTI"},
		{name: "command", decode: mo, wire: "02 00", is: ErrUnsupported, field: "TP-MTI"},
		{name: "deliver report in rp-data", decode: mo, wire: "00 00", is: ErrUnsupported, field: "TP-MTI"},
		{name: "submit report in rp-data", decode: mt, wire: "01 00", is: ErrUnsupported, field: "TP-MTI"},
		{name: "reserved type from a handset", decode: mo, wire: "03 00", is: ErrMalformed, field: "TP-MTI"},
		{name: "submit without reference", decode: mo, wire: "01", is: ErrTruncated, field: "TP-MR"},
		{name: "address of 21 digits", decode: mo, wire: "01 00 15 91 11 11 11 11 11 11 11 11 11 11 F1 00 00 00", is: ErrMalformed, field: "TP-DA"},
		{name: "address past the end", decode: mo, wire: "01 00 0B 91 64 07", is: ErrTruncated, field: "TP-DA"},
		{name: "address with filler inside", decode: mo, wire: "01 00 04 91 F4 44 00 00 00", is: ErrMalformed, field: "TP-DA"},
		{name: "no dcs", decode: mo, wire: "01 00 00 80 00", is: ErrTruncated, field: "TP-DCS"},
		{name: "relative validity missing", decode: mo, wire: "11 00 00 80 00 00", is: ErrTruncated, field: "TP-VP"},
		{name: "absolute validity month 13", decode: mo, wire: "19 00 00 80 00 00 42 31 01 00 00 00 00 00", is: ErrMalformed, field: "TP-VP"},
		{name: "udl over 160 septets", decode: mo, wire: "01 00 00 80 00 00 A1", is: ErrMalformed, field: "TP-UDL"},
		{name: "udl over 140 octets", decode: mo, wire: "01 00 00 80 00 04 8D", is: ErrMalformed, field: "TP-UDL"},
		{name: "user data past the end", decode: mo, wire: "01 00 00 80 00 00 05 E8 32", is: ErrTruncated, field: "TP-UD"},
		{name: "header past the user data", decode: mo, wire: "41 00 00 80 00 04 02 05 00", is: ErrMalformed, field: "TP-UDH"},
		{name: "header longer than the septet count", decode: mo, wire: "41 00 00 80 00 00 01 00", is: ErrMalformed, field: "TP-UDL"},
		{name: "octets after the user data", decode: mo, wire: "01 00 00 80 00 04 01 41 42", is: ErrMalformed, field: "TP-UD"},
		{name: "deliver timestamp digit A", decode: mt, wire: "04 00 80 00 00 A2 10 20 30 40 50 00 00", is: ErrMalformed, field: "TP-SCTS"},
		{name: "deliver 30 february", decode: mt, wire: "04 00 80 00 00 42 20 03 00 00 00 00 00", is: ErrMalformed, field: "TP-SCTS"},
		{name: "deliver time zone digit", decode: mt, wire: "04 00 80 00 00 42 10 20 00 00 00 A0 00", is: ErrMalformed, field: "TP-SCTS"},
		{name: "status report without status", decode: mt, wire: "02 00 00 80 42 10 20 00 00 00 00 42 10 20 00 00 00 00", is: ErrTruncated, field: "TP-ST"},
		{name: "status report pi extension past the end", decode: mt, wire: "02 00 00 80 42 10 20 00 00 00 00 42 10 20 00 00 00 00 00 80", is: ErrTruncated, field: "TP-PI"},
		{name: "submit report without timestamp", decode: func(b []byte) error { _, err := DecodeReport(b, MT, false); return err }, wire: "01 00 42", is: ErrTruncated, field: "TP-SCTS"},
		{name: "deliver report without failure cause", decode: func(b []byte) error { _, err := DecodeReport(b, MO, true); return err }, wire: "00", is: ErrTruncated, field: "TP-FCS"},
		{name: "deliver report of the wrong type", decode: func(b []byte) error { _, err := DecodeReport(b, MO, false); return err }, wire: "01 00", is: ErrMalformed, field: "TP-MTI"},
		{name: "deliver report pid missing", decode: func(b []byte) error { _, err := DecodeReport(b, MO, false); return err }, wire: "00 01", is: ErrTruncated, field: "TP-PID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.decode(unhex(t, tc.wire))
			if !errors.Is(err, tc.is) {
				t.Fatalf("decode: %v, want %v", err, tc.is)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("decode: %v, want field %s", err, tc.field)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, zone(0))
	tests := []struct {
		name string
		pdu  PDU
	}{
		{name: "plus in digits", pdu: &Submit{Destination: Address{Digits: "+49"}}},
		{name: "21 digits", pdu: &Submit{Destination: Address{Digits: strings.Repeat("1", 21)}}},
		{name: "12-character alphanumeric", pdu: &Deliver{Originator: Address{TON: TONAlphanumeric, Digits: "ABCDEFGHIJKL"}, SCTimestamp: ts}},
		{name: "alphanumeric outside gsm", pdu: &Deliver{Originator: Address{TON: TONAlphanumeric, Digits: "Привет"}, SCTimestamp: ts}},
		{name: "ton over 7", pdu: &Submit{Destination: Address{TON: 8}}},
		{name: "time zone off the quarter", pdu: &Deliver{SCTimestamp: time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("", 600))}},
		{name: "time zone over 79 quarters", pdu: &Deliver{SCTimestamp: time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("", 20*3600))}},
		{name: "year 1999", pdu: &Deliver{SCTimestamp: time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "161 septets", pdu: &Submit{UserData: UserData{Units: bytes.Repeat([]byte("a"), 161)}}},
		{name: "header and 154 septets", pdu: &Submit{UserData: UserData{Header: []byte{0, 3, 1, 2, 1}, Units: bytes.Repeat([]byte("a"), 154)}}},
		{name: "141 octets", pdu: &Submit{DCS: 0x04, UserData: UserData{Units: make([]byte, 141)}}},
		{name: "octet that is no septet", pdu: &Submit{UserData: UserData{Units: []byte{0x80}}}},
		{name: "validity format 4", pdu: &Submit{Validity: Validity{Format: 4}}},
		{name: "user data without pi bit", pdu: &Report{Direction: MO, Optional: Optional{UserData: UserData{Units: []byte("x")}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if b, err := Encode(tc.pdu); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Encode = % X, %v; want ErrInvalid", b, err)
			}
		})
	}
}

// TestReservedMTI checks 9.2.3.1: a handset takes a TPDU with the reserved
// TP-MTI as an SMS-DELIVER.
func TestReservedMTI(t *testing.T) {
	p, err := Decode(unhex(t, "07 00 80 00 00 42 10 20 00 00 00 00 00"), MT)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*Deliver); !ok {
		t.Fatalf("Decode = %T, want *Deliver", p)
	}
}

func TestNewUserData(t *testing.T) {
	if _, err := NewUserData([]byte{0x05, 0x00}, true); !errors.Is(err, ErrInvalid) {
		t.Errorf("header past the end: %v", err)
	}
	u, err := NewUserData([]byte{0x00, 'x'}, true)
	if err != nil || u.Header == nil || len(u.Header) != 0 || string(u.Units) != "x" || !u.HasHeader() {
		t.Errorf("empty header: %#v, %v", u, err)
	}
	if ies := (UserData{Header: []byte{0x00, 0x03, 1, 2, 1, 0x24, 0x01, 0x01}}).IEs(); len(ies) != 2 || ies[1].ID != concat.IEISingleShift {
		t.Errorf("IEs = %v", ies)
	}
	if ies := (UserData{}).IEs(); ies != nil {
		t.Errorf("IEs without header = %v", ies)
	}
	if _, err := (UserData{Units: []byte{1}}).Text(0x20); !errors.Is(err, ErrUnsupported) {
		t.Errorf("compressed Text: %v", err)
	}
}
