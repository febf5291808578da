package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"iwf/internal/iwftest"
	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/sipsession"
	"iwf/smpp/coding"
	"iwf/sms/rp"
	"iwf/sms/tpdu"
	"iwf/store/redistest"
)

// The IMS network of these tests sends from 127.0.0.2; the RCS network
// keeps 127.0.0.1 (a source names one trunk).
const imsIP = "127.0.0.2"

// writeSMSIPConfig is a daemon configuration with one partner, ims,
// flagged sms_over_ip, whose next hop is imsPort on imsIP. The daemon's
// listeners are on port 0, as writeE2EConfig's.
func writeSMSIPConfig(t *testing.T, redis, rcs string, imsPort int) e2eConfig {
	t.Helper()
	var c e2eConfig
	yaml := fmt.Sprintf(`log_level: debug
node: e2e
store: {addr: %q}
status: {listen: 127.0.0.1:0}
drain: {grace: 5s}
msrp: {listen: 127.0.0.1:0, host: 127.0.0.1}
sip:
  listen:
    - {transport: udp, address: 127.0.0.1:0}
    - {transport: tcp, address: 127.0.0.1:0}
smpp:
  server: {listen: 127.0.0.1:0}
rcs:
  trunk: {next_hop: "sip:%s;transport=tcp", invite_timeout: 10s}
  pager: {allowed_sources: [127.0.0.1]}
partners:
  - name: ims
    routing: {numbers: ["+"]}
    sip:
      next_hop: "sip:%s:%d;transport=udp"
      allowed_sources: [%s]
      sms_over_ip: true
      sc_address: "+447700900999"
    session: {promotion: always, open_timeout: 10s}
`, redis, rcs, imsIP, imsPort, imsIP)
	c.path = filepath.Join(t.TempDir(), "iwf.yaml")
	if err := os.WriteFile(c.path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// readHexVector reads a hex file of testdata: "#" starts a comment.
func readHexVector(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var digits strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	out, err := hex.DecodeString(digits.String())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// freeUDPPort is a UDP port free on ip.
func freeUDPPort(t *testing.T, ip string) int {
	t.Helper()
	c, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startSIPp runs SIPp with a scenario of testdata/sipp in dir and returns
// a channel with its exit error and output.
func startSIPp(t *testing.T, dir, scenario string, args ...string) <-chan error {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp not installed (Debian package sip-tester): %v", err)
	}
	sf, err := filepath.Abs(filepath.Join("testdata", "sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	all := append([]string{"-sf", sf, "-t", "u1", "-m", "1", "-nostdin", "-skip_rlimit",
		"-timeout", "60s", "-timeout_error", "-trace_err", "-trace_msg"}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		if err != nil {
			logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
			var traces strings.Builder
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				traces.WriteString("== " + filepath.Base(l) + "\n" + string(b))
			}
			err = fmt.Errorf("sipp %s: %w\n%s", scenario, err, traces.String())
		}
		done <- err
	}()
	return done
}

func waitSIPp(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("sipp did not end")
	}
}

// An IMS handset submits a hand-built RP-DATA / SMS-SUBMIT with SIPp
// (testdata/sipp/smsip_submit.xml): the IWF answers 202, sends the RP-ACK
// in a MESSAGE of its own (a second SIPp, smsip_rpack.xml, plays the
// handset's receiving side on the trunk's next hop), and the text reaches
// the RCS side over MSRP.
func TestSMSOverIPSubmitSIPp(t *testing.T) {
	rcs := iwftest.StartRCS(t, 0)
	imsPort := freeUDPPort(t, imsIP)
	cfg := writeSMSIPConfig(t, redistest.Start(t), rcs.TCP(), imsPort)
	d := startDaemon(t, cfg)

	ueDir := t.TempDir()
	answers := startSIPp(t, ueDir, "smsip_rpack.xml", "-i", imsIP, "-p", strconv.Itoa(imsPort))
	// Ready once SIPp holds its port.
	testutil.Eventually(t, func() bool {
		c, err := net.ListenPacket("udp", net.JoinHostPort(imsIP, strconv.Itoa(imsPort)))
		if err == nil {
			c.Close()
		}
		return err != nil
	}, "SIPp did not bind %s:%d", imsIP, imsPort)

	submitDir := t.TempDir()
	rpData := readHexVector(t, filepath.Join("testdata", "sipp", "smsip_submit.hex"))
	if err := os.WriteFile(filepath.Join(submitDir, "smsip_submit.rp"), rpData, 0o600); err != nil {
		t.Fatal(err)
	}
	waitSIPp(t, startSIPp(t, submitDir, "smsip_submit.xml", "-i", imsIP, "-p", strconv.Itoa(freeUDPPort(t, imsIP)),
		"-s", "+447700900999", d.addr.sipUDP))

	got := rcs.Next(t)
	if got.Text != "hello" {
		t.Fatalf("the RCS side got %q, want hello", got.Text)
	}
	if got.CPIM == nil || !strings.Contains(got.CPIM.From.URI, "+447700900456") || len(got.CPIM.To) != 1 || !strings.Contains(got.CPIM.To[0].URI, "+447700900123") {
		t.Fatalf("CPIM %+v: want From +447700900456 (the MESSAGE's), To +447700900123 (the TP-DA)", got.CPIM)
	}

	waitSIPp(t, answers)
	// TS 24.011 7.3.3: RP-ACK n->ms is MTI 3 and the reference of the
	// RP-DATA it answers, 42; no RP-User-Data.
	logs, _ := filepath.Glob(filepath.Join(ueDir, "*_messages.log"))
	if len(logs) != 1 {
		t.Fatalf("SIPp message traces %v", logs)
	}
	trace, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(trace, []byte("Content-Length: 2\r\n")) || !bytes.Contains(trace, []byte("\r\n\r\n\x03\x2a")) {
		t.Fatalf("the handset's MESSAGE is no RP-ACK for reference 42:\n%q", trace)
	}
}

// imsPeer plays an IMS handset of an sms_over_ip partner with nothing of
// the IWF's SIP or SMS code: a UDP socket that reads MESSAGEs as RFC 3261
// section 7 lays them out, answers each 202, and answers each RP-DATA
// with an RP-ACK in a MESSAGE of its own (TS 24.341 5.3.2.4).
type imsPeer struct {
	conn *net.UDPConn
	// iwf is where RP-ACKs go: the daemon starts after the peer, which
	// holds its port from the start.
	iwf atomic.Pointer[net.UDPAddr]
	// bodies receives the body of every MESSAGE.
	bodies chan []byte
}

func startIMSPeer(t *testing.T) *imsPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(imsIP)})
	if err != nil {
		t.Fatal(err)
	}
	p := &imsPeer{conn: conn, bodies: make(chan []byte, 64)}
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		p.serve()
	}()
	return p
}

func (p *imsPeer) serve() {
	buf := make([]byte, 65535)
	seq := 0
	for {
		n, from, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		msg := append([]byte(nil), buf[:n]...)
		head, body, ok := bytes.Cut(msg, []byte("\r\n\r\n"))
		if !ok || !bytes.HasPrefix(head, []byte("MESSAGE ")) {
			continue // a response to our RP-ACK
		}
		hdr := map[string]string{}
		var vias []string
		sc := bufio.NewScanner(bytes.NewReader(head))
		sc.Scan() // request line
		for sc.Scan() {
			name, value, _ := strings.Cut(sc.Text(), ":")
			name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
			if name == "via" || name == "v" {
				vias = append(vias, value)
				continue
			}
			hdr[name] = value
		}
		if cl, err := strconv.Atoi(hdr["content-length"]); err == nil && cl <= len(body) {
			body = body[:cl]
		}
		// RFC 3261 section 8.2.6.2: the response copies Via, From, To,
		// Call-ID and CSeq, and To gets a tag.
		var res strings.Builder
		res.WriteString("SIP/2.0 202 Accepted\r\n")
		for _, v := range vias {
			res.WriteString("Via: " + v + "\r\n")
		}
		res.WriteString("From: " + hdr["from"] + "\r\nTo: " + hdr["to"] + ";tag=ue1\r\nCall-ID: " + hdr["call-id"] +
			"\r\nCSeq: " + hdr["cseq"] + "\r\nContent-Length: 0\r\n\r\n")
		_, _ = p.conn.WriteToUDP([]byte(res.String()), from)
		p.bodies <- body
		// TS 24.011 7.3.1.1, 7.3.3: RP-DATA n->ms is MTI 1; the RP-ACK
		// ms->n is MTI 2 with its reference.
		if len(body) < 2 || body[0]&0x07 != 1 {
			continue
		}
		seq++
		ack := fmt.Sprintf("MESSAGE sip:+447700900999@127.0.0.1 SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bK-ue-%d\r\n"+
			"From: <sip:+447700900456@ims.partner.example;user=phone>;tag=ue%d\r\n"+
			"To: <sip:+447700900999@127.0.0.1;user=phone>\r\n"+
			"Call-ID: rpack-%d@%s\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\n"+
			"In-Reply-To: %s\r\nContent-Type: application/vnd.3gpp.sms\r\nContent-Length: 2\r\n\r\n",
			p.conn.LocalAddr(), seq, seq, seq, imsIP, hdr["call-id"])
		_, _ = p.conn.WriteToUDP(append([]byte(ack), 0x02, body[1]), p.iwf.Load())
	}
}

func (p *imsPeer) next(t *testing.T) []byte {
	t.Helper()
	select {
	case b := <-p.bodies:
		return b
	case <-time.After(iwftest.Wait):
		t.Fatal("the IMS handset got no MESSAGE")
		return nil
	}
}

// A long text from the RCS side reaches the IMS handset as concatenated
// SMS-DELIVERs, one RP-DATA each, every one answered RP-ACK; read back with
// package tpdu, and the first checked octet by octet against TS 23.040.
func TestSMSOverIPDeliverConcatenated(t *testing.T) {
	rcs := iwftest.StartRCS(t, 0)
	ue := startIMSPeer(t)
	cfg := writeSMSIPConfig(t, redistest.Start(t), rcs.TCP(), ue.conn.LocalAddr().(*net.UDPAddr).Port)
	d := startDaemon(t, cfg)
	ia, err := net.ResolveUDPAddr("udp", d.addr.sipUDP)
	if err != nil {
		t.Fatal(err)
	}
	ue.iwf.Store(ia)

	trunk := sipsession.DefaultTrunk()
	trunk.Name = "iwf"
	trunk.NextHop = "sip:" + d.addr.sipTCP + ";transport=tcp"
	call, err := rcs.Manager.Open(t.Context(), sipsession.OpenRequest{From: "sip:+46700000009@rcs.test", To: "sip:+447700900456@iwf.test;user=phone", Trunk: trunk})
	if err != nil {
		t.Fatal(err)
	}
	defer call.Close(context.Background())
	text := strings.Repeat("A long message from RCS. ", 8) // 200 characters: two segments of GSM-7
	if _, err := call.Send(t.Context(), &session.OutgoingMessage{ContentType: "text/plain", Body: []byte(text)}); err != nil {
		t.Fatal(err)
	}

	var got strings.Builder
	var firstTPDU []byte
	var ref byte
	for i := range 2 {
		b := ue.next(t)
		m, err := rp.Decode(b)
		if err != nil {
			t.Fatalf("segment %d: %v (% X)", i+1, err, b)
		}
		d, ok := m.(*rp.Data)
		if !ok || d.Direction != rp.MT || d.Originator.String() != "+447700900999" {
			t.Fatalf("segment %d: %#v, want RP-DATA n->ms from the SC +447700900999", i+1, m)
		}
		p, err := tpdu.Decode(d.UserData, tpdu.MT)
		if err != nil {
			t.Fatal(err)
		}
		dl := p.(*tpdu.Deliver)
		if dl.Originator.String() != "+46700000009" || dl.DCS.Alphabet() != coding.GSM7 {
			t.Fatalf("segment %d: TP-OA %v, TP-DCS %v", i+1, dl.Originator, dl.DCS)
		}
		ies := dl.UserData.IEs()
		if len(ies) != 1 || ies[0].ID != 0x00 || len(ies[0].Data) != 3 || ies[0].Data[1] != 2 || ies[0].Data[2] != byte(i+1) {
			t.Fatalf("segment %d: UDH %v, want the 8-bit concatenation element, part %d of 2", i+1, ies, i+1)
		}
		if i == 0 {
			firstTPDU, ref = d.UserData, ies[0].Data[0]
		} else if ies[0].Data[0] != ref {
			t.Fatalf("segment 2 under reference %d, segment 1 under %d", ies[0].Data[0], ref)
		}
		part, err := dl.UserData.Text(dl.DCS)
		if err != nil {
			t.Fatal(err)
		}
		got.WriteString(part)
	}
	if got.String() != text {
		t.Fatalf("the handset put together %q, want %q", got.String(), text)
	}

	// The first SMS-DELIVER by hand, TS 23.040 9.2.2.1 field by field.
	want := []struct {
		name string
		off  int
		b    []byte
	}{
		// TP-MTI 00, TP-MMS 1 (no more messages), TP-UDHI 1: 0x44.
		{"first octet", 0, []byte{0x44}},
		// TP-OA: 11 semi-octets, international/ISDN, 46700000009 swapped
		// with an F filler.
		{"TP-OA", 1, []byte{0x0B, 0x91, 0x64, 0x07, 0x00, 0x00, 0x00, 0xF9}},
		{"TP-PID, TP-DCS", 9, []byte{0x00, 0x00}},
		// TP-SCTS takes 7 octets at 11; TP-UDL counts septets: a full
		// segment is 160, the 6 header octets taking 7 of them.
		{"TP-UDL", 18, []byte{0xA0}},
		// UDHL 5, IEI 0 (8-bit reference), length 3, the reference, 2
		// parts, part 1 (9.2.3.24.1).
		{"TP-UDH", 19, []byte{0x05, 0x00, 0x03, ref, 0x02, 0x01}},
		// The text starts after one fill bit (9.2.3.24): 'A' (0x41)
		// shifted left once, with the next septet's low bit (' ' is
		// 0x20, bit 0 clear) not yet there.
		{"TP-UD first octet", 25, []byte{0x41 << 1}},
	}
	for _, w := range want {
		if w.off+len(w.b) > len(firstTPDU) || !bytes.Equal(firstTPDU[w.off:w.off+len(w.b)], w.b) {
			t.Fatalf("%s at octet %d: % X, want % X (TPDU % X)", w.name, w.off, firstTPDU[w.off:min(len(firstTPDU), w.off+len(w.b))], w.b, firstTPDU)
		}
	}
	if len(firstTPDU) != 19+140 {
		t.Fatalf("a full segment's TPDU is %d octets, want 19 and 140 of TP-UD", len(firstTPDU))
	}
}
