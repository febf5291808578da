package rp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		wire string
	}{
		{
			name: "error with diagnostic towards the handset",
			msg:  &ErrorMsg{Direction: MT, Ref: 9, Cause: CauseCongestion, Diagnostic: 0x22, HasDiagnostic: true},
			wire: "05 09 02 2A 22",
		},
		{
			name: "error without user data",
			msg:  &ErrorMsg{Direction: MT, Ref: 1, Cause: CauseUnassignedNumber},
			wire: "05 01 01 01",
		},
		{
			name: "ack from the handset without user data",
			msg:  &Ack{Direction: MO, Ref: 200},
			wire: "02 C8",
		},
		{
			name: "data towards the handset, odd digit count",
			msg:  &Data{Direction: MT, Ref: 3, Originator: Address{TON: TONNational, NPI: NPIISDN, Digits: "12345"}, UserData: []byte{0x04}},
			wire: "01 03 04 A1 21 43 F5 00 01 04",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.wire)
			enc, err := Encode(tc.msg)
			if err != nil || !bytes.Equal(enc, want) {
				t.Fatalf("Encode = % X, %v; want % X", enc, err, want)
			}
			got, err := Decode(want)
			if err != nil || !reflect.DeepEqual(got, tc.msg) {
				t.Fatalf("Decode = %#v, %v; want %#v", got, err, tc.msg)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		wire  string
		is    error
		field string
		cause Cause
	}{
		{name: "empty", wire: "", is: ErrTruncated, field: "RP-Message-Reference", cause: CauseInvalidMandatoryInformation},
		{name: "reserved type", wire: "07 01", is: ErrMalformed, field: "RP-MTI", cause: CauseMessageTypeNonExistent},
		{name: "data without destination", wire: "00 01 00", is: ErrTruncated, field: "RP-Destination-Address", cause: CauseInvalidMandatoryInformation},
		{name: "originator from the handset", wire: "00 01 02 91 21 07 91 44 77 58 10 06 50 01 01", is: ErrMalformed, field: "RP-Originator-Address", cause: CauseInvalidMandatoryInformation},
		{name: "destination towards the handset", wire: "01 01 02 91 21 02 91 21 01 01", is: ErrMalformed, field: "RP-Destination-Address", cause: CauseInvalidMandatoryInformation},
		{name: "address of 12 octets", wire: "00 01 00 0C 91 11 11 11 11 11 11 11 11 11 11 11 01 01", is: ErrMalformed, field: "RP-Destination-Address"},
		{name: "address past the end", wire: "00 01 00 07 91 44 77", is: ErrTruncated, field: "RP-Destination-Address"},
		{name: "address digit filler inside", wire: "00 01 00 03 91 F4 44 01 01", is: ErrMalformed, field: "RP-Destination-Address"},
		{name: "user data past the end", wire: "00 01 00 02 91 21 05 01 02", is: ErrTruncated, field: "RP-User-Data"},
		{name: "empty user data", wire: "00 01 00 02 91 21 00", is: ErrMalformed, field: "RP-User-Data"},
		{name: "octets after user data", wire: "00 01 00 02 91 21 01 01 FF", is: ErrMalformed, field: "RP-User-Data", cause: CauseInformationElementNonExistent},
		{name: "ack with unknown element", wire: "03 01 42 01 00", is: ErrMalformed, field: "RP-User-Data", cause: CauseInformationElementNonExistent},
		{name: "ack element past the end", wire: "03 01 41 05 00", is: ErrTruncated, field: "RP-User-Data"},
		{name: "ack element without length", wire: "03 01 41", is: ErrTruncated, field: "RP-User-Data"},
		{name: "error without cause", wire: "05 01", is: ErrTruncated, field: "RP-Cause"},
		{name: "cause of length 3", wire: "05 01 03 01 02 03", is: ErrMalformed, field: "RP-Cause"},
		{name: "cause past the end", wire: "05 01 02 01", is: ErrTruncated, field: "RP-Cause"},
		{name: "smma with more", wire: "06 01 00", is: ErrMalformed, field: "RP-SMMA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(unhex(t, tc.wire))
			if !errors.Is(err, tc.is) {
				t.Fatalf("Decode: %v, want %v", err, tc.is)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Decode: %v, want field %s", err, tc.field)
			}
			if tc.cause != 0 && fe.RPCause() != tc.cause {
				t.Errorf("RPCause = %v, want %v", fe.RPCause(), tc.cause)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
	}{
		{name: "originator from the handset", msg: &Data{Direction: MO, Originator: sc, Destination: sc, UserData: []byte{1}}},
		{name: "destination towards the handset", msg: &Data{Direction: MT, Originator: sc, Destination: sc, UserData: []byte{1}}},
		{name: "no service centre", msg: &Data{Direction: MO, UserData: []byte{1}}},
		{name: "no user data", msg: &Data{Direction: MO, Destination: sc}},
		{name: "user data over 255", msg: &Data{Direction: MO, Destination: sc, UserData: make([]byte, 256)}},
		{name: "plus in digits", msg: &Data{Direction: MO, Destination: Address{TON: 1, NPI: 1, Digits: "+44"}, UserData: []byte{1}}},
		{name: "21 digits", msg: &Data{Direction: MO, Destination: Address{TON: 1, NPI: 1, Digits: strings.Repeat("1", 21)}, UserData: []byte{1}}},
		{name: "ton and npi without digits", msg: &Data{Direction: MT, Originator: Address{TON: 1, NPI: 1}, UserData: []byte{1}}},
		{name: "cause over seven bits", msg: &ErrorMsg{Cause: 0x80}},
		{name: "empty optional user data", msg: &Ack{UserData: []byte{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if b, err := Encode(tc.msg); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Encode = % X, %v; want ErrInvalid", b, err)
			}
		})
	}
}

// TestSpareBits checks that the spare bits 8-4 of the first octet are
// ignored (24.011 8.2.2) and written back as zero.
func TestSpareBits(t *testing.T) {
	m, err := Decode([]byte{0xF3, 0x07})
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := m.(*Ack); !ok || a.Direction != MT || a.Ref != 7 {
		t.Fatalf("Decode = %#v", m)
	}
	if enc, _ := Encode(m); !bytes.Equal(enc, []byte{0x03, 0x07}) {
		t.Fatalf("Encode = % X", enc)
	}
}

func TestCause(t *testing.T) {
	tests := []struct {
		cause     Cause
		temporary bool
		name      string
	}{
		{CauseMemoryCapacityExceeded, true, "22 memory capacity exceeded"},
		{CauseTemporaryFailure, true, "41 temporary failure"},
		{CauseCongestion, true, "42 congestion"},
		{CauseNetworkOutOfOrder, true, "38 network out of order"},
		{CauseUnassignedNumber, false, "1 unassigned number"},
		{CauseCallBarred, false, "10 call barred"},
		{CauseUnknownSubscriber, false, "30 unknown subscriber"},
		{CauseInvalidMandatoryInformation, false, "96 invalid mandatory information"},
		{Cause(3), true, "3 unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cause.Temporary(); got != tc.temporary {
				t.Errorf("Temporary = %t", got)
			}
			if got := tc.cause.String(); got != tc.name {
				t.Errorf("String = %q", got)
			}
			if got, want := tc.cause.Known(), tc.name != "3 unknown"; got != want {
				t.Errorf("Known = %t", got)
			}
		})
	}
}
