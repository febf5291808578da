package smpp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/testutil"
	"iwf/smpp/coding"
	"iwf/smpp/concat"
	"iwf/smpp/receipt"
)

// The PDUs in these tests are written byte by byte from SMPP 3.4 section
// 4, not with the package's codec, so they check it against the spec.

// body is a PDU under construction: header fields, then body octets.
type body struct{ b []byte }

func (p *body) cstr(s string) *body { p.b = append(append(p.b, s...), 0); return p }
func (p *body) u8(v ...byte) *body  { p.b = append(p.b, v...); return p }
func (p *body) tlv(tag uint16, v []byte) *body {
	p.b = binary.BigEndian.AppendUint16(p.b, tag)
	p.b = binary.BigEndian.AppendUint16(p.b, uint16(len(v)))
	p.b = append(p.b, v...)
	return p
}

// pduOf frames body under cmd and seq.
func pduOf(cmd, seq uint32, p *body) []byte {
	out := appendHeader(nil, header{Length: uint32(HeaderLen + len(p.b)), Command: cmd, Seq: seq})
	return append(out, p.b...)
}

// dataSM is a data_sm body (SMPP 3.4 4.7.1).
func dataSM(src, dst string, tlvs ...TLV) *body {
	p := (&body{}).cstr("").u8(1, 1).cstr(src).u8(1, 1).cstr(dst).u8(0, 0, 0)
	for _, t := range tlvs {
		p.tlv(t.Tag, t.Value)
	}
	return p
}

// submitSM is a submit_sm body (SMPP 3.4 4.4.1) with sm as short_message.
func submitSM(src, dst string, sm []byte, tlvs ...TLV) *body {
	p := (&body{}).cstr("").u8(1, 1).cstr(src).u8(1, 1).cstr(dst).
		u8(0, 0, 0).cstr("").cstr("").u8(0, 0, 0, 0, byte(len(sm))).u8(sm...)
	for _, t := range tlvs {
		p.tlv(t.Tag, t.Value)
	}
	return p
}

// bindRaw binds c as a transceiver with interface_version v and returns
// the bind_transceiver_resp.
func (c *rawConn) bindRaw(v byte, seq uint32) []byte {
	c.t.Helper()
	c.send(pduOf(CmdBindTransceiver, seq, (&body{}).cstr("acme").cstr("pw").cstr("").u8(v, 0, 0).cstr("")))
	h, frame, err := c.next()
	if err != nil || h.Command != CmdBindTransceiverResp || h.Status != StatusOK || h.Seq != seq {
		c.t.Fatalf("bind: %+v %v", h, err)
	}
	return frame
}

func TestServerBindRespInterfaceVersion(t *testing.T) {
	testutil.CheckLeaks(t)
	srv := startServer(t, serverConfig(acme()), nil)
	tests := []struct {
		name    string
		version byte
		want    []byte // what follows system_id "iwf\0"
	}{
		// SMPP 3.4 5.3.2.25: sc_interface_version 0x0210, length 1, 0x34.
		{"3.4 bind gets sc_interface_version", 0x34, []byte{0x02, 0x10, 0x00, 0x01, 0x34}},
		{"3.3 bind gets no TLV", 0x33, nil},
		{"older bind gets no TLV", 0x00, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, srv.Addr().String())
			frame := c.bindRaw(tc.version, 1)
			rest := frame[HeaderLen+len("iwf\x00"):]
			if !bytes.Equal(rest, tc.want) {
				t.Fatalf("after system_id: % x, want % x", rest, tc.want)
			}
		})
	}
}

func TestServerMessageManagement(t *testing.T) {
	testutil.CheckLeaks(t)
	srv := startServer(t, serverConfig(acme()), nil)
	c := dialRaw(t, srv.Addr().String())
	c.bindRaw(0x34, 1)

	// query_sm (SMPP 3.4 4.8.1): message_id, source address.
	c.send(pduOf(CmdQuerySM, 2, (&body{}).cstr("msg-7").u8(1, 1).cstr("4915112345678")))
	h, frame, err := c.next()
	if err != nil || h.Command != CmdQuerySMResp || h.Status != StatusOK || h.Seq != 2 {
		t.Fatalf("query_sm: %+v %v", h, err)
	}
	// query_sm_resp (4.8.2): message_id, final_date NULL, message_state
	// UNKNOWN (5.2.28: 7), error_code 0.
	if want := []byte("msg-7\x00\x00\x07\x00"); !bytes.Equal(frame[HeaderLen:], want) {
		t.Fatalf("query_sm_resp body % x, want % x", frame[HeaderLen:], want)
	}

	// cancel_sm (4.9.1): service_type, message_id, source, destination.
	c.send(pduOf(CmdCancelSM, 3, (&body{}).cstr("").cstr("msg-7").u8(1, 1).cstr("4915112345678").u8(1, 1).cstr("4917612345678")))
	c.expect(CmdCancelSMResp, StatusCancelFail, 3)

	// replace_sm (4.10.1): message_id, source, schedule, validity,
	// registered_delivery, sm_default_msg_id, sm_length, short_message.
	c.send(pduOf(CmdReplaceSM, 4, (&body{}).cstr("msg-7").u8(1, 1).cstr("4915112345678").cstr("").cstr("").u8(0, 0, 2).u8('h', 'i')))
	c.expect(CmdReplaceSMResp, StatusReplaceFail, 4)

	// alert_notification (4.12.1) has no response: the next PDU read is
	// the answer to the enquire_link sent after it.
	c.send(pduOf(CmdAlertNotification, 5, (&body{}).u8(1, 1).cstr("4915112345678").u8(1, 1).cstr("4917612345678")))
	c.send(pduOf(CmdEnquireLink, 6, &body{}))
	c.expect(CmdEnquireLinkResp, StatusOK, 6)
}

func TestServerDataSM(t *testing.T) {
	testutil.CheckLeaks(t)
	got := make(chan *Message, 1)
	h := SubmitHandlerFunc(func(_ context.Context, partner string, m *Message) (string, error) {
		got <- m
		return "id-42", nil
	})
	srv := startServer(t, serverConfig(acme()), h)
	c := dialRaw(t, srv.Addr().String())
	c.bindRaw(0x34, 1)

	text := bytes.Repeat([]byte("long text "), 40)
	c.send(pduOf(CmdDataSM, 2, dataSM("4915112345678", "4917612345678", TLV{Tag: concat.TagMessagePayload, Value: text})))
	m := recv(t, got)
	if m.Source.Addr != "4915112345678" || m.Dest.Addr != "4917612345678" || m.Dest.TON != 1 {
		t.Fatalf("addresses %v %v", m.Source, m.Dest)
	}
	if v, ok := m.TLV(concat.TagMessagePayload); !ok || !bytes.Equal(v, text) {
		t.Fatalf("message_payload not passed on: %v", m.TLVs)
	}
	_, frame, err := c.next()
	if err != nil {
		t.Fatal(err)
	}
	// data_sm_resp (SMPP 3.4 4.7.2) carries the message_id.
	if h := parseHeader(frame); h.Command != CmdDataSMResp || h.Status != StatusOK || h.Seq != 2 || string(frame[HeaderLen:]) != "id-42\x00" {
		t.Fatalf("got %+v % x", h, frame[HeaderLen:])
	}

	// A data_sm without destination is refused before the handler.
	c.send(pduOf(CmdDataSM, 3, dataSM("4915112345678", "", TLV{Tag: concat.TagMessagePayload, Value: []byte("x")})))
	c.expect(CmdDataSMResp, StatusInvDstAdr, 3)
}

func TestServerSubmitValidation(t *testing.T) {
	testutil.CheckLeaks(t)
	srv := startServer(t, serverConfig(acme()), nil)
	payload := TLV{Tag: concat.TagMessagePayload, Value: []byte("payload")}
	tests := []struct {
		name string
		body *body
		want uint32
	}{
		{"accepted", submitSM("4915112345678", "4917612345678", []byte("hi")), StatusOK},
		{"payload alone", submitSM("4915112345678", "4917612345678", nil, payload), StatusOK},
		// SMPP 3.4 5.2.9: the destination is where the message goes.
		{"empty destination", submitSM("4915112345678", "", []byte("hi")), StatusInvDstAdr},
		// SMPP 3.4 5.3.2.32: short_message or message_payload, not both.
		{"short_message and message_payload", submitSM("4915112345678", "4917612345678", []byte("hi"), payload), StatusInvMsgLen},
		{"two message_payload", submitSM("4915112345678", "4917612345678", nil, payload, payload), StatusInvOptParStr},
		// 5.2.21: sm_length is at most 254.
		{"sm_length 255", submitSM("4915112345678", "4917612345678", make([]byte, 255)), StatusInvMsgLen},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, srv.Addr().String())
			c.bindRaw(0x34, 1)
			seq := uint32(10 + i)
			c.send(pduOf(CmdSubmitSM, seq, tc.body))
			c.expect(CmdSubmitSMResp, tc.want, seq)
		})
	}
}

func TestServerEnquiresQuietBind(t *testing.T) {
	testutil.CheckLeaks(t)
	cfg := serverConfig(acme())
	cfg.EnquireLink = 20 * time.Millisecond
	cfg.ResponseTimeout = 200 * time.Millisecond
	srv := startServer(t, cfg, nil)
	c := dialRaw(t, srv.Addr().String())
	c.bindRaw(0x34, 1)

	// The bind stays quiet: the server probes it (SMPP 3.4 4.11).
	h, _, err := c.next()
	if err != nil || h.Command != CmdEnquireLink {
		t.Fatalf("want enquire_link from the server, got %+v %v", h, err)
	}
	c.send(headerOnly(CmdEnquireLinkResp, StatusOK, h.Seq))
	// A probe left unanswered ends the connection.
	for {
		h, _, err := c.next()
		if err != nil {
			if !isEOF(err) {
				t.Fatalf("connection not closed: %v", err)
			}
			break
		}
		if h.Command != CmdEnquireLink {
			t.Fatalf("unexpected %s", CommandName(h.Command))
		}
	}
	testutil.Eventually(t, func() bool { return len(srv.Status()) == 0 }, "the server to drop the silent bind")
}

// TestServerLegacyBindGetsNoTLVs: toward an ESME that bound as SMPP 3.3, a
// long message_payload is cut into UDH segments and receipts lose their
// TLVs; no PDU carries a TLV.
func TestServerLegacyBindGetsNoTLVs(t *testing.T) {
	testutil.CheckLeaks(t)
	srv := startServer(t, serverConfig(acme()), nil)
	c := dialRaw(t, srv.Addr().String())
	c.bindRaw(0x33, 1)
	testutil.Eventually(t, func() bool { return srv.HasReceiver("acme") }, "the bind")

	text := bytes.Repeat([]byte("0123456789"), 40) // 400 GSM-7 septets, unpacked
	long := &Message{
		Source:     Address{TON: 1, NPI: 1, Addr: "4915112345678"},
		Dest:       Address{TON: 1, NPI: 1, Addr: "4917612345678"},
		DataCoding: 0,
		TLVs:       []TLV{{Tag: concat.TagMessagePayload, Value: text}},
	}
	rc, err := ReceiptMessage(long.Dest, long.Source, receipt.Receipt{ID: "abc", State: receipt.Delivered, Submitted: 1, Delivered: 1})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	go func() {
		_, err := srv.Deliver(testutil.Context(t), "acme", long)
		errc <- err
		_, err = srv.Deliver(testutil.Context(t), "acme", rc)
		errc <- err
	}()
	var got []byte
	for i := 0; ; i++ {
		h, frame, err := c.next()
		if err != nil {
			t.Fatal(err)
		}
		m, err := DecodeMessage(frame)
		if err != nil || h.Command != CmdDeliverSM {
			t.Fatalf("%s: %v", CommandName(h.Command), err)
		}
		c.send(pduOf(CmdDeliverSMResp, h.Seq, (&body{}).cstr("")))
		if len(m.TLVs) != 0 {
			t.Fatalf("deliver_sm %d carries TLVs %v", i, m.TLVs)
		}
		if m.IsReceipt() {
			if r, err := m.Receipt(); err != nil || r.ID != "abc" {
				t.Fatalf("receipt %+v %v", r, err)
			}
			break
		}
		in, err := m.Inspect()
		if err != nil || !in.Concatenated || in.Concat.Total != 3 || in.Concat.Seq != i+1 {
			t.Fatalf("segment %d: %+v %v", i, in, err)
		}
		units, err := in.Units(coding.GSM7, false)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, units...)
	}
	for range 2 {
		if err := recv(t, errc); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, text) {
		t.Fatalf("reassembled %q", got)
	}
}

func TestLegacyMessages(t *testing.T) {
	next := func() (uint16, error) { return 0x1234, nil }
	sar := []TLV{{Tag: concat.TagSARMsgRefNum, Value: []byte{0xAB, 0xCD}}, {Tag: concat.TagSARTotalSegments, Value: []byte{2}}, {Tag: concat.TagSARSegmentSeqnum, Value: []byte{1}}}
	tests := []struct {
		name    string
		in      Message
		wantSM  [][]byte
		wantESM byte
	}{
		{"no TLVs", Message{ShortMessage: []byte("hi")}, [][]byte{[]byte("hi")}, 0},
		{"receipt TLVs dropped", Message{ShortMessage: []byte("id:1"), TLVs: []TLV{{Tag: receipt.TagMessageState, Value: []byte{2}}}}, [][]byte{[]byte("id:1")}, 0},
		{"short payload into short_message", Message{TLVs: []TLV{{Tag: concat.TagMessagePayload, Value: []byte("hello")}}}, [][]byte{[]byte("hello")}, 0},
		// TS 23.040 9.2.3.24.8: 08 04 ref-hi ref-lo total seq.
		{"sar into a 16-bit UDH", Message{ShortMessage: []byte("part"), TLVs: sar}, [][]byte{append([]byte{6, 8, 4, 0xAB, 0xCD, 2, 1}, "part"...)}, concat.ESMClassUDHI},
		{"long UCS-2 payload into UDH8 segments", Message{DataCoding: 8, TLVs: []TLV{{Tag: concat.TagMessagePayload, Value: make([]byte, 200)}}},
			[][]byte{append([]byte{5, 0, 3, 0x34, 2, 1}, make([]byte, 134)...), append([]byte{5, 0, 3, 0x34, 2, 2}, make([]byte, 66)...)}, concat.ESMClassUDHI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			msgs, err := legacyMessages(&in, next)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != len(tc.wantSM) {
				t.Fatalf("%d messages, want %d", len(msgs), len(tc.wantSM))
			}
			for i, m := range msgs {
				if len(m.TLVs) != 0 || !bytes.Equal(m.ShortMessage, tc.wantSM[i]) || m.ESMClass != tc.wantESM {
					t.Errorf("message %d: sm % x esm %#x tlvs %v", i, m.ShortMessage, m.ESMClass, m.TLVs)
				}
			}
			if len(in.TLVs) != len(tc.in.TLVs) {
				t.Error("input changed")
			}
		})
	}
}

// rawSMSC accepts one ESME bind on ln and hands the connection over.
func rawSMSC(t *testing.T, ln net.Listener) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(nc)
	frame, err := readFrame(r, nil, DefaultMaxPDULen)
	if err != nil {
		t.Fatal(err)
	}
	h := parseHeader(frame)
	if _, err := nc.Write(pduOf(h.Command|respBit, h.Seq, (&body{}).cstr("smsc"))); err != nil {
		t.Fatal(err)
	}
	return nc, r
}

func TestClientDataSM(t *testing.T) {
	testutil.CheckLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan *Message, 1)
	startClient(t, clientConfig(ln.Addr().String()), DeliverHandlerFunc(func(_ context.Context, _ string, m *Message) error {
		got <- m
		return nil
	}), nil)
	nc, r := rawSMSC(t, ln)
	// An SMSC delivers with data_sm (SMPP 3.4 4.7) as with deliver_sm.
	if _, err := nc.Write(pduOf(CmdDataSM, 77, dataSM("4915112345678", "4917612345678", TLV{Tag: concat.TagMessagePayload, Value: []byte("mo text")}))); err != nil {
		t.Fatal(err)
	}
	m := recv(t, got)
	if v, _ := m.TLV(concat.TagMessagePayload); string(v) != "mo text" || m.Source.Addr != "4915112345678" {
		t.Fatalf("got %+v", m)
	}
	for {
		frame, err := readFrame(r, nil, DefaultMaxPDULen)
		if err != nil {
			t.Fatal(err)
		}
		h := parseHeader(frame)
		if h.Command == CmdEnquireLink {
			_, _ = nc.Write(headerOnly(CmdEnquireLinkResp, StatusOK, h.Seq))
			continue
		}
		if h.Command != CmdDataSMResp || h.Status != StatusOK || h.Seq != 77 {
			t.Fatalf("got %s %s seq %d", CommandName(h.Command), StatusName(h.Status), h.Seq)
		}
		p, err := parseGeneric(frame)
		if _, ok := p.(*pdu.DataSMResp); err != nil || !ok {
			t.Fatalf("gosmpp cannot read the data_sm_resp: %v", err)
		}
		break
	}
}
