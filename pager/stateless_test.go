package pager_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"iwf/pager"
)

// rawPeer is a partner written from RFC 3261 on a bare UDP socket: it
// sends MESSAGE datagrams byte for byte (a retransmission is the same
// bytes again) and reads the answers, with no SIP stack of its own.
type rawPeer struct {
	*net.UDPConn
	port int
	to   net.Addr
}

func newRawPeer(t *testing.T, iw *iwf) *rawPeer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rawPeer{UDPConn: c, port: c.LocalAddr().(*net.UDPAddr).Port, to: iw.stack.Addr("udp")}
}

var rawSeq atomic.Uint64

// message returns a new MESSAGE from a UK number (its own Call-ID, From
// tag and branch) with the content type and body.
func (p *rawPeer) message(contentType, body string) []byte {
	n := rawSeq.Add(1)
	return fmt.Appendf(nil, "MESSAGE sip:+447700900123@127.0.0.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:%d;rport;branch=z9hG4bKraw%d\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:+447700900456@partner.example;user=phone>;tag=raw%d\r\n"+
		"To: <sip:+447700900123@iwf.example.net;user=phone>\r\n"+
		"Call-ID: raw-%d@partner.example\r\n"+
		"CSeq: 1 MESSAGE\r\n"+
		"Content-Type: %s\r\n"+
		"Content-Length: %d\r\n\r\n%s", p.port, n, n, n, contentType, len(body), body)
}

func (p *rawPeer) send(t *testing.T, datagram []byte) {
	t.Helper()
	if _, err := p.WriteTo(datagram, p.to); err != nil {
		t.Fatal(err)
	}
}

// read returns the next answer and its To tag. The deadline only bounds a
// broken test.
func (p *rawPeer) read(t *testing.T) (status int, toTag string, raw []byte) {
	t.Helper()
	if err := p.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	n, _, err := p.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	msg, err := sip.NewParser().ParseSIP(buf[:n])
	if err != nil {
		t.Fatalf("%v\n%s", err, buf[:n])
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		t.Fatalf("not a response:\n%s", buf[:n])
	}
	tag, _ := res.To().Params.Get("tag")
	return res.StatusCode, tag, buf[:n]
}

// TestUDPRetransmission: a MESSAGE over UDP is answered statelessly, so
// its retransmissions (the same datagram: same Call-ID, CSeq, From tag
// and branch) reach the handler again. Whenever they come (during the
// first copy's Accept, after its answer, after the dedup memory forgot
// it), they get the first copy's answer, To tag included, and the
// message is queued once.
func TestUDPRetransmission(t *testing.T) {
	t.Run("during and after the first Accept", func(t *testing.T) {
		iw := startIWF(t, []pager.Trunk{loopbackTrunk("uk")}, nil)
		p := newRawPeer(t, iw)
		msg := p.message("text/plain", "sent once, retransmitted")
		release := iw.store.Hold()
		p.send(t, msg)
		<-iw.store.Entered()
		p.send(t, msg) // while the first copy is being persisted
		release()
		st1, tag1, raw1 := p.read(t)
		st2, tag2, raw2 := p.read(t)
		if st1 != 202 || st2 != 202 || tag1 == "" || tag1 != tag2 {
			t.Fatalf("answers %d (tag %q) and %d (tag %q):\n%s\n%s", st1, tag1, st2, tag2, raw1, raw2)
		}
		p.send(t, msg) // after the answer
		if st, tag, raw := p.read(t); st != 202 || tag != tag1 {
			t.Fatalf("late copy answered %d with tag %q, want 202 and %q:\n%s", st, tag, tag1, raw)
		}
		if calls, n := iw.store.Calls(), len(iw.store.Messages()); calls != 1 || n != 1 {
			t.Fatalf("%d Accept calls, %d messages stored, want 1 and 1", calls, n)
		}
		if st := iw.inbound.Stats(); st.Accepted != 3 || st.Duplicates != 2 {
			t.Fatalf("stats %+v: want 3 accepted, 2 of them duplicates", st)
		}
	})
	t.Run("back to back", func(t *testing.T) {
		iw := startIWF(t, []pager.Trunk{loopbackTrunk("uk")}, nil)
		p := newRawPeer(t, iw)
		msg := p.message("text/plain", "sent twice at once")
		p.send(t, msg)
		p.send(t, msg)
		st1, tag1, _ := p.read(t)
		st2, tag2, _ := p.read(t)
		if st1 != 202 || st2 != 202 || tag1 != tag2 {
			t.Fatalf("answers %d %q and %d %q", st1, tag1, st2, tag2)
		}
		if calls := iw.store.Calls(); calls != 1 {
			t.Fatalf("%d Accept calls for one message", calls)
		}
	})
	t.Run("after the dedup memory forgot it", func(t *testing.T) {
		iw := startIWF(t, []pager.Trunk{loopbackTrunk("uk")}, func(c *pager.InboundConfig) { c.DedupSize = 1 })
		p := newRawPeer(t, iw)
		first, second := p.message("text/plain", "first"), p.message("text/plain", "second")
		p.send(t, first)
		_, tag1, _ := p.read(t)
		p.send(t, second) // pushes the first out of the dedup memory
		p.read(t)
		p.send(t, first)
		if st, tag, raw := p.read(t); st != 202 || tag != tag1 {
			t.Fatalf("late copy answered %d with tag %q, want 202 and %q:\n%s", st, tag, tag1, raw)
		}
		// The store knew the message: Accept said ErrDuplicate.
		if calls, n := iw.store.Calls(), len(iw.store.Messages()); calls != 3 || n != 2 {
			t.Fatalf("%d Accept calls, %d messages stored, want 3 and 2", calls, n)
		}
	})
	t.Run("a refusal is repeated without the store", func(t *testing.T) {
		iw := startIWF(t, []pager.Trunk{loopbackTrunk("uk")}, nil)
		p := newRawPeer(t, iw)
		msg := p.message("application/x-unknown", "no")
		p.send(t, msg)
		st1, _, raw1 := p.read(t)
		p.send(t, msg)
		_, _, raw2 := p.read(t)
		if st1 != 415 || !bytes.Equal(raw1, raw2) {
			t.Fatalf("answers differ or are not 415:\n%s\n%s", raw1, raw2)
		}
		if iw.store.Calls() != 0 {
			t.Fatal("a refused MESSAGE reached the store")
		}
	})
	t.Run("a store failure is tried again", func(t *testing.T) {
		iw := startIWF(t, []pager.Trunk{loopbackTrunk("uk")}, nil)
		p := newRawPeer(t, iw)
		msg := p.message("text/plain", "store down, then up")
		iw.store.SetError(&pager.StatusError{Status: 503, RetryAfter: 1, Err: errors.New("store down")})
		p.send(t, msg)
		if st, _, raw := p.read(t); st != 503 {
			t.Fatalf("answered %d, want 503:\n%s", st, raw)
		}
		iw.store.SetError(nil)
		p.send(t, msg) // a stateless UAS takes the copy anew
		if st, _, raw := p.read(t); st != 202 {
			t.Fatalf("answered %d, want 202:\n%s", st, raw)
		}
		if n := len(iw.store.Messages()); n != 1 {
			t.Fatalf("%d messages stored", n)
		}
	})
}

// TestUDPAnswerFromListener: the stateless answer leaves from the
// listening socket (the address the peer sent to), as sipgo's did.
func TestUDPAnswerFromListener(t *testing.T) {
	iw := startIWF(t, []pager.Trunk{loopbackTrunk("uk")}, nil)
	p := newRawPeer(t, iw)
	p.send(t, p.message("text/plain", "hi"))
	if err := p.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	n, from, err := p.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if from.String() != iw.stack.Addr("udp").String() || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 202 ") {
		t.Fatalf("from %s:\n%s", from, buf[:n])
	}
}
