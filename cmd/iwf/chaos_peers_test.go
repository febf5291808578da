//go:build chaos

package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// fds counts the daemon's open descriptors (/proc/<pid>/fd).
func (d *daemonProc) fds() int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", d.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// hogs holds idle TCP connections to the daemon's listeners.
type hogs struct {
	conns []net.Conn
	// refused counts the dials that failed.
	refused int
}

// openHogs dials n connections, in turn to each of addrs, and sends
// nothing on them: each one the daemon accepts takes a descriptor.
func openHogs(addrs []string, n int) *hogs {
	h := &hogs{}
	for i := range n {
		c, err := net.DialTimeout("tcp", addrs[i%len(addrs)], 2*time.Second)
		if err != nil {
			h.refused++
			continue
		}
		h.conns = append(h.conns, c)
	}
	return h
}

func (h *hogs) close() {
	for _, c := range h.conns {
		_ = c.Close()
	}
}

// flooder is a peer that writes requests and never reads the answers:
// once the daemon's writes to it block, whatever the daemon queues for it
// is held in the daemon's memory.
type flooder struct {
	name    string
	written atomic.Int64
	err     error
}

// flood connects to addr, writes hello once and then request(i) for
// i = 0, 1, ... until the deadline or limit bytes, and closes. It never
// reads.
func (f *flooder) flood(addr string, hello []byte, request func(i int) []byte, deadline time.Time, limit int64) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		f.err = err
		return
	}
	defer c.Close()
	// The deadline ends a write the daemon stopped reading.
	if err := c.SetWriteDeadline(deadline); err != nil {
		f.err = err
		return
	}
	if hello != nil {
		if _, err := c.Write(hello); err != nil {
			f.err = err
			return
		}
	}
	for i := 0; f.written.Load() < limit && time.Now().Before(deadline); i++ {
		n, err := c.Write(request(i))
		f.written.Add(int64(n))
		if err != nil {
			f.err = err
			return
		}
	}
}

// msrpSend is a bodiless MSRP SEND (RFC 4975 section 7.1) to a session
// that does not exist; the daemon answers each with a response (481 or
// 400), which nobody reads.
func msrpSend(addr string) func(i int) []byte {
	return func(i int) []byte {
		tid := fmt.Sprintf("t%d", i)
		return fmt.Appendf(nil, "MSRP %s SEND\r\nTo-Path: msrp://%s/nosuchsession;tcp\r\n"+
			"From-Path: msrp://127.0.0.1:9/flooder;tcp\r\nMessage-ID: m%d\r\nByte-Range: 1-0/0\r\n-------%s$\r\n",
			tid, addr, i, tid)
	}
}

// sipOptions is an OPTIONS over TCP (RFC 3261 section 11), answered by
// the daemon's SIP stack.
func sipOptions(addr string) func(i int) []byte {
	return func(i int) []byte {
		return fmt.Appendf(nil, "OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-flood%d\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:flooder@127.0.0.1>;tag=f%d\r\nTo: <sip:%s>\r\nCall-ID: flood-%d@127.0.0.1\r\n"+
			"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", addr, i, i, addr, i)
	}
}

// smppPDU is an SMPP 3.4 PDU: the 16-octet header (section 3.2) and body.
func smppPDU(command uint32, seq uint32, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(16+len(body)))
	b = binary.BigEndian.AppendUint32(b, command)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, seq)
	return append(b, body...)
}

// smppBind is a bind_transceiver (SMPP 3.4 section 4.1.5) as demo/demo.
func smppBind() []byte {
	var body []byte
	body = append(body, "demo\x00demo\x00\x00"...) // system_id, password, system_type
	body = append(body, 0x34, 0, 0, 0)             // interface_version, addr_ton, addr_npi, address_range
	return smppPDU(0x00000009, 1, body)
}

// smppEnquireLink is enquire_link (SMPP 3.4 section 4.11.1), which the
// daemon answers with enquire_link_resp.
func smppEnquireLink(i int) []byte { return smppPDU(0x00000015, uint32(i+2), nil) }

// floodAll runs one flooder per listener until deadline, each writing at
// most limit bytes, and waits for them.
func floodAll(a daemonAddrs, deadline time.Time, limit int64) []*flooder {
	fs := []*flooder{{name: "msrp"}, {name: "sip-tcp"}, {name: "smpp"}}
	var wg sync.WaitGroup
	wg.Go(func() {
		fs[0].flood(a.msrp, nil, msrpSend(a.msrp), deadline, limit)
	})
	wg.Go(func() {
		fs[1].flood(a.sipTCP, nil, sipOptions(a.sipTCP), deadline, limit)
	})
	wg.Go(func() {
		fs[2].flood(a.smpp, smppBind(), smppEnquireLink, deadline, limit)
	})
	wg.Wait()
	return fs
}
