package smpp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/linxGnu/gosmpp/pdu"
)

var update = flag.Bool("update", false, "rewrite the golden PDUs in testdata/pdu from the encoder")

// readVector reads a testdata/pdu file: '#' comment lines, then hex.
func readVector(t testing.TB, name string) (comments string, frame []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "pdu", name))
	if err != nil {
		t.Fatal(err)
	}
	var hx strings.Builder
	var com strings.Builder
	for line := range strings.Lines(string(raw)) {
		if strings.HasPrefix(line, "#") {
			com.WriteString(line)
			continue
		}
		hx.WriteString(strings.TrimSpace(line))
	}
	b, err := hex.DecodeString(hx.String())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return com.String(), b
}

func writeVector(t *testing.T, name, comments string, frame []byte) {
	t.Helper()
	var b strings.Builder
	b.WriteString(comments)
	h := hex.EncodeToString(frame)
	for i := 0; i < len(h); i += 32 {
		b.WriteString(h[i:min(i+32, len(h))] + "\n")
	}
	if err := os.WriteFile(filepath.Join("testdata", "pdu", name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// goodVectors are the valid PDUs in testdata/pdu and what they hold.
func goodVectors() []struct {
	file     string
	cmd, seq uint32
	want     *Message
} {
	return []struct {
		file     string
		cmd, seq uint32
		want     *Message
	}{
		{"submit_sm_basic.hex", CmdSubmitSM, 1, &Message{
			Source: Address{1, 1, "447700900123"}, Dest: Address{1, 1, "447700900456"},
			RegisteredDelivery: 1, ShortMessage: []byte("hello"),
		}},
		{"submit_sm_udh_tlv.hex", CmdSubmitSM, 0x1234, &Message{
			ServiceType: "CMT", Source: Address{5, 0, "IWF"}, Dest: Address{1, 1, "491701234567"},
			ESMClass: 0x40, PriorityFlag: 1, ValidityPeriod: "000001000000000R", DataCoding: 8,
			ShortMessage: []byte{5, 0, 3, 0x2A, 2, 1, 0, 'H', 0, 'i'},
			TLVs:         []TLV{{Tag: 0x0204, Value: []byte{0, 7}}, {Tag: 0x130C, Value: []byte{}}},
		}},
		{"deliver_sm_receipt.hex", CmdDeliverSM, 9, &Message{
			Source: Address{1, 1, "491701234567"}, Dest: Address{1, 1, "447700900123"}, ESMClass: 0x04,
			ShortMessage: []byte("id:msg-77 sub:001 dlvrd:001 submit date:2401021504 done date:2401021505 stat:DELIVRD err:000 text:hello"),
			TLVs:         []TLV{{Tag: 0x001E, Value: []byte("msg-77\x00")}, {Tag: 0x0427, Value: []byte{2}}},
		}},
	}
}

func TestDecodeMessageVectors(t *testing.T) {
	for _, tc := range goodVectors() {
		t.Run(tc.file, func(t *testing.T) {
			_, frame := readVector(t, tc.file)
			h := parseHeader(frame)
			if h.Command != tc.cmd || h.Seq != tc.seq {
				t.Fatalf("header %+v", h)
			}
			got, err := DecodeMessage(frame)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decoded\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestAppendMessageGolden(t *testing.T) {
	for _, tc := range goodVectors() {
		t.Run(tc.file, func(t *testing.T) {
			comments, want := readVector(t, tc.file)
			got, err := AppendMessage(nil, tc.cmd, tc.seq, tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				writeVector(t, tc.file, comments, got)
				return
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encoded\n%x\nwant\n%x", got, want)
			}
		})
	}
}

// TestDecodeMessageAgreesWithGosmpp reads the vectors with gosmpp's codec
// too: the two readings of the wire must agree.
func TestDecodeMessageAgreesWithGosmpp(t *testing.T) {
	for _, tc := range goodVectors() {
		t.Run(tc.file, func(t *testing.T) {
			_, frame := readVector(t, tc.file)
			p, err := pdu.Parse(bytes.NewReader(frame))
			if err != nil {
				t.Fatal(err)
			}
			var dest string
			var udh, sm []byte
			switch q := p.(type) {
			case *pdu.SubmitSM:
				dest = q.DestAddr.Address()
				udh, _ = q.Message.UDH().MarshalBinary()
				sm, _ = q.Message.GetMessageData()
			case *pdu.DeliverSM:
				dest = q.DestAddr.Address()
				udh, _ = q.Message.UDH().MarshalBinary()
				sm, _ = q.Message.GetMessageData()
			}
			if dest != tc.want.Dest.Addr || !bytes.Equal(append(udh, sm...), tc.want.ShortMessage) {
				t.Errorf("gosmpp reads dest %q sm %x", dest, append(udh, sm...))
			}
		})
	}
}

func TestDecodeMessageErrors(t *testing.T) {
	tests := []struct {
		file   string
		status uint32
		field  string
	}{
		{"bad_source_too_long.hex", StatusInvSrcAdr, "source_addr"},
		{"bad_sm_length.hex", StatusInvMsgLen, "sm_length"},
		{"bad_no_nul.hex", StatusInvCmdLen, "destination_addr"},
		{"bad_tlv_truncated.hex", StatusInvOptParStr, "tlv"},
		{"bad_validity.hex", StatusInvExpiry, "validity_period"},
		{"bad_service_type.hex", StatusInvSerTyp, "service_type"},
		{"bad_short_message_past_end.hex", StatusInvCmdLen, "short_message"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, frame := readVector(t, tc.file)
			_, err := DecodeMessage(frame)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v, want a DecodeError", err)
			}
			if de.Status != tc.status || de.Field != tc.field || StatusOf(err) != tc.status {
				t.Errorf("%v: status %s field %s, want %s %s", err, StatusName(de.Status), de.Field, StatusName(tc.status), tc.field)
			}
		})
	}
}

func TestAppendMessageRejects(t *testing.T) {
	long := strings.Repeat("1", 21)
	tests := []struct {
		name   string
		m      Message
		path   string
		status uint32
	}{
		{"source too long", Message{Source: Address{Addr: long}}, "source_addr", StatusInvSrcAdr},
		{"destination too long", Message{Dest: Address{Addr: long}}, "destination_addr", StatusInvDstAdr},
		{"NUL inside", Message{Dest: Address{Addr: "12\x003"}}, "destination_addr", StatusInvDstAdr},
		{"service_type too long", Message{ServiceType: "ABCDEF"}, "service_type", StatusInvSerTyp},
		{"validity not 16", Message{ValidityPeriod: "0001"}, "validity_period", StatusInvExpiry},
		{"short_message over 254", Message{ShortMessage: make([]byte, 255)}, "short_message", StatusInvMsgLen},
		{"TLV over 65535", Message{TLVs: []TLV{{Tag: 0x0424, Value: make([]byte, 70000)}}}, "tlvs[0]", StatusInvOptParStr},
		{"PDU over 64 KiB", Message{TLVs: []TLV{{Tag: 0x0424, Value: make([]byte, 40000)}, {Tag: 0x0424, Value: make([]byte, 40000)}}}, "tlvs", StatusInvMsgLen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := AppendMessage(nil, CmdSubmitSM, 1, &tc.m)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Path != tc.path || fe.Status != tc.status || !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("error %v, want %s with %s", err, tc.path, StatusName(tc.status))
			}
		})
	}
	if _, err := AppendMessage(nil, CmdQuerySM, 1, &Message{}); err == nil {
		t.Error("query_sm encoded as a message")
	}
}

// TestMessagePayloadOver32K: gosmpp reads TLV lengths as int16, so a
// message_payload above 32767 octets breaks there; ours round-trips.
func TestMessagePayloadOver32K(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 4000)
	m := &Message{Dest: Address{Addr: "1"}, TLVs: []TLV{{Tag: 0x0424, Value: payload}}}
	frame, err := AppendMessage(nil, CmdDeliverSM, 1, m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeMessage(frame)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got.TLV(0x0424); !ok || !bytes.Equal(v, payload) {
		t.Errorf("message_payload of %d octets came back as %d", len(payload), len(v))
	}
}

func TestReadFrame(t *testing.T) {
	hdr := func(n uint32) []byte { return appendHeader(nil, header{Length: n, Command: CmdEnquireLink, Seq: 5}) }
	tests := []struct {
		name    string
		in      []byte
		wantLen int
		wantErr func(error) bool
	}{
		{"header only", hdr(16), 16, nil},
		{"with body", append(hdr(20), 1, 2, 3, 4), 20, nil},
		{"length 0", hdr(0), 0, isLengthErr},
		{"length 15", hdr(15), 0, isLengthErr},
		{"length above max", hdr(DefaultMaxPDULen + 1), 0, isLengthErr},
		{"length 2^32-1", hdr(0xFFFFFFFF), 0, isLengthErr},
		{"truncated body", append(hdr(20), 1, 2), 0, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"truncated header", hdr(16)[:10], 0, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"nothing", nil, 0, func(err error) bool { return err == io.EOF }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame, err := readFrame(bytes.NewReader(tc.in), nil, DefaultMaxPDULen)
			if tc.wantErr != nil {
				if !tc.wantErr(err) {
					t.Fatalf("error %v", err)
				}
				return
			}
			if err != nil || len(frame) != tc.wantLen {
				t.Fatalf("frame %x, %v", frame, err)
			}
		})
	}
}

func isLengthErr(err error) bool {
	var le *LengthError
	return errors.As(err, &le) && StatusOf(err) == StatusInvCmdLen
}

func TestCommandAndStatusNames(t *testing.T) {
	tests := []struct{ got, want string }{
		{CommandName(CmdSubmitSMResp), "submit_sm_resp"},
		{CommandName(CmdGenericNack), "generic_nack"},
		{CommandName(CmdBindTransceiverResp), "bind_transceiver_resp"},
		{CommandName(0x777), "command 0x00000777"},
		{StatusName(StatusThrottled), "ESME_RTHROTTLED (0x00000058)"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q", tc.got)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want uint32
	}{
		{"nil", nil, StatusOK},
		{"plain", errors.New("x"), StatusSysErr},
		{"status error", &StatusError{Status: StatusXTAppn}, StatusXTAppn},
		{"wrapped", errors.Join(errors.New("ctx"), &StatusError{Status: StatusMsgQFul}), StatusMsgQFul},
		{"coder saying OK", codedErr(0), StatusSysErr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := StatusOf(tc.err); got != tc.want {
				t.Errorf("got %s", StatusName(got))
			}
		})
	}
}
