package smpp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"

	"github.com/linxGnu/gosmpp/pdu"
)

// The wire layer of the package: framing, the PDU header and the
// submit_sm / deliver_sm body codec. Everything here is pure: bytes in, typed
// values out, no sockets, goroutines or logging.
//
// Binds, enquire_link, unbind, generic_nack and every response go through
// gosmpp's codec (pdu.Parse, GetResponse, Marshal). submit_sm and deliver_sm
// bodies do not: gosmpp strips and re-parses the user data header on decode
// (so the raw short_message is lost and a UDHL of 0 fails the whole PDU),
// reads TLV lengths as int16 (message_payload over 32 KB breaks), keeps TLVs
// in a map (order and duplicates lost) and drops zero-length TLVs on encode.
// A gateway must pass those bytes through exactly, so this file carries its
// own codec for the two message PDUs.

// Command IDs (SMPP 3.4 section 5.1.2.1).
const (
	CmdGenericNack         uint32 = 0x80000000
	CmdBindReceiver        uint32 = 0x00000001
	CmdBindTransmitter     uint32 = 0x00000002
	CmdQuerySM             uint32 = 0x00000003
	CmdSubmitSM            uint32 = 0x00000004
	CmdDeliverSM           uint32 = 0x00000005
	CmdUnbind              uint32 = 0x00000006
	CmdReplaceSM           uint32 = 0x00000007
	CmdCancelSM            uint32 = 0x00000008
	CmdBindTransceiver     uint32 = 0x00000009
	CmdOutbind             uint32 = 0x0000000B
	CmdEnquireLink         uint32 = 0x00000015
	CmdSubmitMulti         uint32 = 0x00000021
	CmdAlertNotification   uint32 = 0x00000102
	CmdDataSM              uint32 = 0x00000103
	CmdBindReceiverResp    uint32 = 0x80000001
	CmdBindTransmitterResp uint32 = 0x80000002
	CmdSubmitSMResp        uint32 = 0x80000004
	CmdDeliverSMResp       uint32 = 0x80000005
	CmdUnbindResp          uint32 = 0x80000006
	CmdBindTransceiverResp uint32 = 0x80000009
	CmdEnquireLinkResp     uint32 = 0x80000015
	CmdQuerySMResp         uint32 = 0x80000003
	CmdReplaceSMResp       uint32 = 0x80000007
	CmdCancelSMResp        uint32 = 0x80000008
	CmdDataSMResp          uint32 = 0x80000103
)

// respBit marks a response command_id (SMPP 3.4 5.1.2.1: "the response
// command_id is the request's with bit 31 set").
const respBit uint32 = 0x80000000

// Command status values the package produces or reacts to (SMPP 3.4
// section 5.1.3).
const (
	StatusOK           uint32 = 0x00000000
	StatusInvMsgLen    uint32 = 0x00000001
	StatusInvCmdLen    uint32 = 0x00000002
	StatusInvCmdID     uint32 = 0x00000003
	StatusInvBndSts    uint32 = 0x00000004
	StatusAlyBnd       uint32 = 0x00000005
	StatusSysErr       uint32 = 0x00000008
	StatusInvSrcAdr    uint32 = 0x0000000A
	StatusInvDstAdr    uint32 = 0x0000000B
	StatusBindFail     uint32 = 0x0000000D
	StatusInvPaswd     uint32 = 0x0000000E
	StatusInvSysID     uint32 = 0x0000000F
	StatusCancelFail   uint32 = 0x00000011
	StatusReplaceFail  uint32 = 0x00000013
	StatusMsgQFul      uint32 = 0x00000014
	StatusInvSerTyp    uint32 = 0x00000015
	StatusInvEsmClass  uint32 = 0x00000043
	StatusThrottled    uint32 = 0x00000058
	StatusInvSched     uint32 = 0x00000061
	StatusInvExpiry    uint32 = 0x00000062
	StatusXTAppn       uint32 = 0x00000064
	StatusXPAppn       uint32 = 0x00000065
	StatusXRAppn       uint32 = 0x00000066
	StatusInvOptParStr uint32 = 0x000000C0
)

// Size limits.
const (
	// HeaderLen is the PDU header: command_length, command_id,
	// command_status, sequence_number (SMPP 3.4 3.2).
	HeaderLen = 16
	// DefaultMaxPDULen bounds command_length. SMPP 3.4 sets no maximum;
	// 64 KiB holds the largest message_payload plus the mandatory fields.
	DefaultMaxPDULen = 64 << 10
	// MaxShortMessage is the largest sm_length (SMPP 3.4 5.2.22).
	MaxShortMessage = 254
	// Field sizes of SMPP 3.4 4.4.1, terminating NUL excluded.
	maxServiceType = 5
	maxAddress     = 20
	timeLen        = 16
	// maxDataSMAddress is the address size of data_sm (SMPP 3.4 4.7.1:
	// source_addr and destination_addr are C-Octet Strings of up to 65
	// octets).
	maxDataSMAddress = 64
)

// TLV tags the session reads or writes itself (SMPP 3.4 5.3.2).
const (
	// TagSCInterfaceVersion is sc_interface_version (5.3.2.25), sent in
	// a bind response to an ESME that bound as SMPP 3.4.
	TagSCInterfaceVersion uint16 = 0x0210
)

// Interface versions (SMPP 3.4 5.2.4).
const (
	// Version34 is SMPP 3.4; an interface_version of 0x33 or lower is an
	// ESME of version 3.3 or earlier, which knows no TLVs.
	Version34 byte = 0x34
)

// message_state values of query_sm_resp (SMPP 3.4 5.2.28).
const (
	// MessageStateUnknown: the message is in an invalid or unknown state.
	MessageStateUnknown byte = 7
)

func commandName(id uint32) string {
	switch id {
	case CmdGenericNack:
		return "generic_nack"
	case CmdBindReceiver:
		return "bind_receiver"
	case CmdBindTransmitter:
		return "bind_transmitter"
	case CmdQuerySM:
		return "query_sm"
	case CmdSubmitSM:
		return "submit_sm"
	case CmdDeliverSM:
		return "deliver_sm"
	case CmdUnbind:
		return "unbind"
	case CmdReplaceSM:
		return "replace_sm"
	case CmdCancelSM:
		return "cancel_sm"
	case CmdBindTransceiver:
		return "bind_transceiver"
	case CmdOutbind:
		return "outbind"
	case CmdEnquireLink:
		return "enquire_link"
	case CmdSubmitMulti:
		return "submit_multi"
	case CmdAlertNotification:
		return "alert_notification"
	case CmdDataSM:
		return "data_sm"
	}
	if id&respBit != 0 && id != CmdGenericNack {
		if n := commandName(id &^ respBit); n != "" {
			return n + "_resp"
		}
	}
	return ""
}

// header is the fixed PDU header (SMPP 3.4 3.2).
type header struct {
	Length, Command, Status, Seq uint32
}

func parseHeader(b []byte) header {
	return header{
		Length:  binary.BigEndian.Uint32(b[0:]),
		Command: binary.BigEndian.Uint32(b[4:]),
		Status:  binary.BigEndian.Uint32(b[8:]),
		Seq:     binary.BigEndian.Uint32(b[12:]),
	}
}

func appendHeader(dst []byte, h header) []byte {
	dst = binary.BigEndian.AppendUint32(dst, h.Length)
	dst = binary.BigEndian.AppendUint32(dst, h.Command)
	dst = binary.BigEndian.AppendUint32(dst, h.Status)
	return binary.BigEndian.AppendUint32(dst, h.Seq)
}

// setSeq rewrites the sequence_number of an encoded PDU, so a message
// encoded once can be sent again under a new number.
func setSeq(frame []byte, seq uint32) { binary.BigEndian.PutUint32(frame[12:], seq) }

// readFrame reads one PDU from r into buf (grown as needed) and returns it,
// header included. A command_length below 16 or above max is a *LengthError
// returned with the 16 header bytes, so the caller can nack the sequence
// number before closing (SMPP 3.4 3.3, generic_nack).
func readFrame(r io.Reader, buf []byte, max int) ([]byte, error) {
	if cap(buf) < HeaderLen {
		buf = make([]byte, 0, 512)
	}
	buf = buf[:HeaderLen]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(buf)
	if n < HeaderLen || uint64(n) > uint64(max) {
		return buf, &LengthError{Length: n, Max: max}
	}
	if cap(buf) < int(n) {
		nb := make([]byte, n)
		copy(nb, buf)
		buf = nb
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf[HeaderLen:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// parseGeneric decodes a PDU other than submit_sm / deliver_sm with
// gosmpp's codec. A panic inside the library is turned into a DecodeError,
// since no bytes from a socket may crash the process.
func parseGeneric(frame []byte) (p pdu.PDU, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, &DecodeError{Command: parseHeader(frame).Command, Field: "body", Status: StatusInvCmdLen, Reason: "undecodable"}
		}
	}()
	p, err = pdu.Parse(bytes.NewReader(frame))
	if err != nil {
		return nil, &DecodeError{Command: parseHeader(frame).Command, Field: "body", Status: StatusInvCmdLen, Reason: err.Error()}
	}
	return p, nil
}

// marshal encodes a gosmpp PDU under seq.
func marshal(p pdu.PDU, seq uint32) []byte {
	p.SetSequenceNumber(int32(seq))
	b := pdu.NewBuffer(make([]byte, 0, 64))
	p.Marshal(b)
	return b.Bytes()
}

// respFrame encodes a submit_sm_resp or deliver_sm_resp: the header and
// the message_id C-octet string (SMPP 3.4 4.4.2, 4.6.2), one allocation
// for every message answered.
func respFrame(cmd, status, seq uint32, messageID string) []byte {
	n := HeaderLen + len(messageID) + 1
	b := appendHeader(make([]byte, 0, n), header{Length: uint32(n), Command: cmd, Status: status, Seq: seq})
	return appendCString(b, messageID)
}

// headerOnly encodes a PDU without a body: generic_nack, and a
// submit_sm_resp with an error status, whose body SMPP 3.4 4.4.2 says is not
// returned.
func headerOnly(cmd, status, seq uint32) []byte {
	return appendHeader(make([]byte, 0, HeaderLen), header{Length: HeaderLen, Command: cmd, Status: status, Seq: seq})
}

// DecodeMessage reads a submit_sm or deliver_sm PDU (frame is the whole PDU,
// header included) into a Message. Both PDUs carry the same mandatory fields
// (SMPP 3.4 4.4.1, 4.6.1) and TLVs after them (3.2.4). The Message owns its
// memory: frame may be reused afterwards.
func DecodeMessage(frame []byte) (*Message, error) {
	if len(frame) < HeaderLen {
		return nil, &DecodeError{Field: "command_length", Status: StatusInvCmdLen, Reason: "shorter than the header"}
	}
	h := parseHeader(frame)
	if int(h.Length) != len(frame) {
		return nil, &DecodeError{Command: h.Command, Field: "command_length", Status: StatusInvCmdLen, Reason: "does not match the PDU size"}
	}
	m := new(Message)
	if err := decodeMessageBody(h.Command, frame, m); err != nil {
		return nil, err
	}
	return m, nil
}

// cursor walks a PDU body. strs is the body as one string, so that every
// C-octet string field is a substring of one allocation.
type cursor struct {
	cmd  uint32
	b    []byte
	strs string
	off  int
}

func (c *cursor) fail(field string, status uint32, reason string) error {
	return &DecodeError{Command: c.cmd, Field: field, Offset: c.off, Status: status, Reason: reason}
}

// cstring reads a C-octet string of at most max characters before its NUL
// (SMPP 3.4 3.1: "a series of ASCII characters terminated with the NULL
// character"). A string without NUL in the body makes the PDU shorter than
// its fields, so it is answered as a bad command length.
func (c *cursor) cstring(field string, max int, status uint32) (string, error) {
	i := bytes.IndexByte(c.b[c.off:], 0)
	if i < 0 {
		return "", c.fail(field, StatusInvCmdLen, "no terminating NUL")
	}
	if i > max {
		return "", c.fail(field, status, "longer than the SMPP 3.4 maximum")
	}
	s := c.strs[c.off : c.off+i]
	c.off += i + 1
	return s, nil
}

func (c *cursor) byte1(field string) (byte, error) {
	if c.off >= len(c.b) {
		return 0, c.fail(field, StatusInvCmdLen, "body ends before the field")
	}
	v := c.b[c.off]
	c.off++
	return v, nil
}

// address reads addr_ton, addr_npi and the address (SMPP 3.4 5.2.5-8),
// naming them ton, npi and addr in errors.
func (c *cursor) address(ton, npi, addr string, status uint32, a *Address) (err error) {
	return c.addressMax(ton, npi, addr, maxAddress, status, a)
}

// addressMax is address with the address size of the PDU at hand.
func (c *cursor) addressMax(ton, npi, addr string, max int, status uint32, a *Address) (err error) {
	if a.TON, err = c.byte1(ton); err != nil {
		return err
	}
	if a.NPI, err = c.byte1(npi); err != nil {
		return err
	}
	a.Addr, err = c.cstring(addr, max, status)
	return err
}

// timeField reads schedule_delivery_time / validity_period: NULL or the
// 16-character time format of SMPP 3.4 7.1.1.
func (c *cursor) timeField(field string, status uint32) (string, error) {
	s, err := c.cstring(field, timeLen, status)
	if err == nil && len(s) != 0 && len(s) != timeLen {
		return "", c.fail(field, status, "neither NULL nor 16 characters")
	}
	return s, err
}

func decodeMessageBody(cmd uint32, frame []byte, m *Message) (err error) {
	if cmd != CmdSubmitSM && cmd != CmdDeliverSM {
		return &DecodeError{Command: cmd, Field: "command_id", Status: StatusInvCmdID, Reason: "not submit_sm or deliver_sm"}
	}
	c := cursor{cmd: cmd, b: frame, strs: string(frame), off: HeaderLen}
	if m.ServiceType, err = c.cstring("service_type", maxServiceType, StatusInvSerTyp); err != nil {
		return err
	}
	if err = c.address("source_addr_ton", "source_addr_npi", "source_addr", StatusInvSrcAdr, &m.Source); err != nil {
		return err
	}
	if err = c.address("dest_addr_ton", "dest_addr_npi", "destination_addr", StatusInvDstAdr, &m.Dest); err != nil {
		return err
	}
	var b [3]byte
	for i, f := range [...]string{"esm_class", "protocol_id", "priority_flag"} {
		if b[i], err = c.byte1(f); err != nil {
			return err
		}
	}
	m.ESMClass, m.ProtocolID, m.PriorityFlag = b[0], b[1], b[2]
	if m.ScheduleDeliveryTime, err = c.timeField("schedule_delivery_time", StatusInvSched); err != nil {
		return err
	}
	if m.ValidityPeriod, err = c.timeField("validity_period", StatusInvExpiry); err != nil {
		return err
	}
	var f [4]byte
	for i, n := range [...]string{"registered_delivery", "replace_if_present_flag", "data_coding", "sm_default_msg_id"} {
		if f[i], err = c.byte1(n); err != nil {
			return err
		}
	}
	m.RegisteredDelivery, m.ReplaceIfPresent, m.DataCoding, m.DefaultMsgID = f[0], f[1], f[2], f[3]
	smLen, err := c.byte1("sm_length")
	if err != nil {
		return err
	}
	if smLen > MaxShortMessage {
		return c.fail("sm_length", StatusInvMsgLen, "above 254")
	}
	if len(frame)-c.off < int(smLen) {
		return c.fail("short_message", StatusInvCmdLen, "body ends inside short_message")
	}
	// One copy holds short_message and every TLV value.
	rest := append([]byte(nil), frame[c.off:]...)
	base := c.off
	m.ShortMessage = rest[:smLen:smLen]
	c.off += int(smLen)
	if int(smLen) == 0 {
		m.ShortMessage = nil
	}
	if err := decodeTLVs(&c, rest, base, m); err != nil {
		return err
	}
	return payloadRule(cmd, m)
}

// payloadRule is Message.checkPayload as a *DecodeError, the type every
// decode error has.
func payloadRule(cmd uint32, m *Message) error {
	var fe *FieldError
	if err := m.checkPayload(); errors.As(err, &fe) {
		return &DecodeError{Command: cmd, Field: fe.Path, Status: fe.Status, Reason: fe.Reason}
	}
	return nil
}

// DecodeDataSM reads a data_sm PDU (SMPP 3.4 4.7.1) into a Message: its
// addresses, esm_class, registered_delivery, data_coding and TLVs. The
// text is in the message_payload TLV; ShortMessage stays empty. The
// Message owns its memory.
func DecodeDataSM(frame []byte) (*Message, error) {
	if len(frame) < HeaderLen {
		return nil, &DecodeError{Field: "command_length", Status: StatusInvCmdLen, Reason: "shorter than the header"}
	}
	h := parseHeader(frame)
	if int(h.Length) != len(frame) {
		return nil, &DecodeError{Command: h.Command, Field: "command_length", Status: StatusInvCmdLen, Reason: "does not match the PDU size"}
	}
	if h.Command != CmdDataSM {
		return nil, &DecodeError{Command: h.Command, Field: "command_id", Status: StatusInvCmdID, Reason: "not data_sm"}
	}
	m := new(Message)
	c := cursor{cmd: h.Command, b: frame, strs: string(frame), off: HeaderLen}
	var err error
	if m.ServiceType, err = c.cstring("service_type", maxServiceType, StatusInvSerTyp); err != nil {
		return nil, err
	}
	if err = c.addressMax("source_addr_ton", "source_addr_npi", "source_addr", maxDataSMAddress, StatusInvSrcAdr, &m.Source); err != nil {
		return nil, err
	}
	if err = c.addressMax("dest_addr_ton", "dest_addr_npi", "destination_addr", maxDataSMAddress, StatusInvDstAdr, &m.Dest); err != nil {
		return nil, err
	}
	var f [3]byte
	for i, n := range [...]string{"esm_class", "registered_delivery", "data_coding"} {
		if f[i], err = c.byte1(n); err != nil {
			return nil, err
		}
	}
	m.ESMClass, m.RegisteredDelivery, m.DataCoding = f[0], f[1], f[2]
	rest := append([]byte(nil), frame[c.off:]...)
	if err := decodeTLVs(&c, rest, c.off, m); err != nil {
		return nil, err
	}
	if err := payloadRule(h.Command, m); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeTLVs reads the optional parameters (SMPP 3.4 3.2.4, 5.3): tag and
// length of two octets each, then the value.
func decodeTLVs(c *cursor, rest []byte, base int, m *Message) error {
	n := 0
	for off := c.off; off < len(c.b); {
		if len(c.b)-off < 4 {
			c.off = off
			return c.fail("tlv", StatusInvOptParStr, "truncated TLV header")
		}
		l := int(binary.BigEndian.Uint16(c.b[off+2:]))
		if len(c.b)-off-4 < l {
			c.off = off
			return c.fail("tlv", StatusInvOptParStr, "TLV value past the end of the PDU")
		}
		off += 4 + l
		n++
	}
	if n == 0 {
		return nil
	}
	m.TLVs = make([]TLV, 0, n)
	for c.off < len(c.b) {
		tag := binary.BigEndian.Uint16(c.b[c.off:])
		l := int(binary.BigEndian.Uint16(c.b[c.off+2:]))
		v := c.off + 4 - base
		m.TLVs = append(m.TLVs, TLV{Tag: tag, Value: rest[v : v+l : v+l]})
		c.off += 4 + l
	}
	return nil
}

// AppendMessage appends m encoded as a PDU with command cmd (CmdSubmitSM or
// CmdDeliverSM) and sequence number seq. It checks the SMPP 3.4 field sizes
// first and returns a *FieldError naming the field that breaks one.
func AppendMessage(dst []byte, cmd, seq uint32, m *Message) ([]byte, error) {
	if cmd != CmdSubmitSM && cmd != CmdDeliverSM {
		return dst, &FieldError{Path: "command_id", Reason: "not submit_sm or deliver_sm", Status: StatusInvCmdID}
	}
	size, err := m.validate()
	if err != nil {
		return dst, err
	}
	// One allocation for a fresh frame (Server.Deliver makes one each).
	dst = growBytes(dst, size)
	start := len(dst)
	dst = appendHeader(dst, header{Command: cmd, Seq: seq})
	dst = appendCString(dst, m.ServiceType)
	dst = append(dst, m.Source.TON, m.Source.NPI)
	dst = appendCString(dst, m.Source.Addr)
	dst = append(dst, m.Dest.TON, m.Dest.NPI)
	dst = appendCString(dst, m.Dest.Addr)
	dst = append(dst, m.ESMClass, m.ProtocolID, m.PriorityFlag)
	dst = appendCString(dst, m.ScheduleDeliveryTime)
	dst = appendCString(dst, m.ValidityPeriod)
	dst = append(dst, m.RegisteredDelivery, m.ReplaceIfPresent, m.DataCoding, m.DefaultMsgID, byte(len(m.ShortMessage)))
	dst = append(dst, m.ShortMessage...)
	for _, t := range m.TLVs {
		dst = binary.BigEndian.AppendUint16(dst, t.Tag)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(t.Value)))
		dst = append(dst, t.Value...)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst, nil
}

// growBytes makes room for n more octets in one allocation
// (slices.Grow makes two under the race detector).
func growBytes(dst []byte, n int) []byte {
	if cap(dst)-len(dst) >= n {
		return dst
	}
	grown := make([]byte, len(dst), len(dst)+n)
	copy(grown, dst)
	return grown
}

func appendCString(dst []byte, s string) []byte {
	return append(append(dst, s...), 0)
}
