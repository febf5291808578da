package sipstack

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// udpPeer is a raw UDP socket on loopback: the test peer writes requests
// from RFC 3261 by hand and reads what comes back, with no SIP stack of
// its own.
type udpPeer struct {
	*net.UDPConn
	port int
}

func newPeer(t *testing.T) *udpPeer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &udpPeer{UDPConn: c, port: c.LocalAddr().(*net.UDPAddr).Port}
}

// send writes raw to the stack's UDP listener.
func (p *udpPeer) send(t *testing.T, s *Stack, raw string) {
	t.Helper()
	if _, err := p.WriteTo([]byte(raw), s.Addr(UDP)); err != nil {
		t.Fatal(err)
	}
}

// read returns the next datagram parsed as a response, and its bytes.
// The deadline only bounds a broken test: the answers are awaited.
func (p *udpPeer) read(t *testing.T) (*sip.Response, []byte) {
	t.Helper()
	if err := p.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	n, _, err := p.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no answer on port %d: %v", p.port, err)
	}
	msg, err := sip.NewParser().ParseSIP(buf[:n])
	if err != nil {
		t.Fatalf("answer does not parse: %v\n%s", err, buf[:n])
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		t.Fatalf("not a response:\n%s", buf[:n])
	}
	return res, buf[:n]
}

var callSeq atomic.Uint64

// rawRequest is a request out of dialog as a UAC writes it (RFC 3261
// section 8.1.1), with via as the top Via's value and extra headers.
func rawRequest(method, via, callID string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:iwf@127.0.0.1 SIP/2.0\r\n", method)
	fmt.Fprintf(&b, "Via: %s\r\n", via)
	b.WriteString("Max-Forwards: 70\r\n")
	b.WriteString("From: <sip:peer@peer.example>;tag=from1\r\n")
	b.WriteString("To: <sip:iwf@127.0.0.1>\r\n")
	fmt.Fprintf(&b, "Call-ID: %s\r\n", callID)
	fmt.Fprintf(&b, "CSeq: 7 %s\r\n", method)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	const body = "hello"
	if method == "MESSAGE" {
		fmt.Fprintf(&b, "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	} else {
		b.WriteString("Content-Length: 0\r\n\r\n")
	}
	return b.String()
}

func newCallID() string { return fmt.Sprintf("call-%d@peer.example", callSeq.Add(1)) }

// statelessStack runs a Stack whose sipgo server answers MESSAGE 500 and
// whose stateless handler answers 202, unless the request has an
// X-Stateful header: which one answered shows which path a request took.
func statelessStack(t *testing.T, calls *atomic.Int64) *Stack {
	t.Helper()
	return startStack(t, loopback(""), func(s *Stack) {
		s.Server().OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 500, "Stateful", nil))
		})
		s.HandleStatelessUDP(sip.MESSAGE, StatelessHandler{
			Take: func(req *sip.Request) bool { return req.GetHeader("X-Stateful") == nil },
			Handle: func(req *sip.Request, r Responder) {
				if calls != nil {
					calls.Add(1)
				}
				// As pager answers; FuzzStatelessResponse holds Respond
				// to the same bytes.
				_ = r.(StatusResponder).RespondStatus(202, "Accepted")
			},
		})
	})
}

func TestStatelessUDPTakesOnlyItsRequests(t *testing.T) {
	var calls atomic.Int64
	s := statelessStack(t, &calls)
	p := newPeer(t)
	via := func() string { return fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%d", p.port, callSeq.Add(1)) }
	for _, tc := range []struct {
		name   string
		raw    string
		status int
	}{
		{"udp MESSAGE answered statelessly", rawRequest("MESSAGE", via(), newCallID()), 202},
		{"declined MESSAGE goes to the server transaction", rawRequest("MESSAGE", via(), newCallID(), "X-Stateful: yes"), 500},
		{"OPTIONS stays with sipgo", rawRequest("OPTIONS", via(), newCallID()), 200},
		{"unregistered method answered 405", rawRequest("SUBSCRIBE", via(), newCallID()), 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.send(t, s, tc.raw)
			if res, raw := p.read(t); res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d\n%s", res.StatusCode, tc.status, raw)
			}
		})
	}
	if calls.Load() != 1 {
		t.Fatalf("stateless handler called %d times, want 1", calls.Load())
	}

	t.Run("MESSAGE over tcp goes to the server transaction", func(t *testing.T) {
		res := do(t, startStack(t, loopback(""), nil), s, TCP, sip.MESSAGE)
		if res.StatusCode != 500 {
			t.Fatalf("status %d, want the server handler's 500", res.StatusCode)
		}
	})
}

// TestStatelessResponseAddr sends the same Via forms as OPTIONS (answered
// by sipgo's server transaction, the reference) and as MESSAGE (answered
// statelessly): both answers must reach the same socket (RFC 3261 section
// 18.2.2, RFC 3581 section 4) with the same rport and received.
func TestStatelessResponseAddr(t *testing.T) {
	s := statelessStack(t, nil)
	for _, tc := range []struct {
		name string
		// via is the top Via's value; %[1]d is the sending socket's
		// port, %[2]d another socket's.
		via string
		// toOther: the answer goes to the other socket, not the sender.
		toOther bool
		// wantReceived is the received parameter of the answer's Via,
		// "" for none.
		wantReceived string
		// sipgoOmitsReceived: sipgo sends no received where RFC 3261
		// section 18.2.1 asks for one (sent-by is not the source).
		sipgoOmitsReceived bool
	}{
		{name: "sent-by is the source", via: "SIP/2.0/UDP 127.0.0.1:%[1]d"},
		{name: "sent-by names another port", via: "SIP/2.0/UDP 127.0.0.1:%[2]d", toOther: true},
		{name: "rport asks for the source port", via: "SIP/2.0/UDP 127.0.0.1:%[2]d;rport", wantReceived: "127.0.0.1"},
		{name: "rport with a value", via: "SIP/2.0/UDP 127.0.0.1:%[1]d;rport=%[2]d", toOther: true},
		{name: "sent-by is a host name", via: "SIP/2.0/UDP peer.invalid:%[2]d", toOther: true, wantReceived: "127.0.0.1", sipgoOmitsReceived: true},
		{name: "host name and rport", via: "SIP/2.0/UDP peer.invalid:%[2]d;rport", wantReceived: "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sender, other := newPeer(t), newPeer(t)
			at := sender
			if tc.toOther {
				at = other
			}
			for _, method := range []string{"OPTIONS", "MESSAGE"} {
				via := fmt.Sprintf(tc.via, sender.port, other.port) + fmt.Sprintf(";branch=z9hG4bK%d", callSeq.Add(1))
				sender.send(t, s, rawRequest(method, via, newCallID()))
				res, raw := at.read(t)
				if want := map[string]int{"OPTIONS": 200, "MESSAGE": 202}[method]; res.StatusCode != want {
					t.Fatalf("%s: status %d, want %d\n%s", method, res.StatusCode, want, raw)
				}
				v := res.Via()
				if rport, ok := v.Params.Get("rport"); strings.Contains(tc.via, ";rport") && !strings.Contains(tc.via, "rport=") && rport != fmt.Sprint(sender.port) {
					t.Fatalf("%s: rport %q (present %v), want the source port %d\n%s", method, rport, ok, sender.port, raw)
				}
				want := tc.wantReceived
				if method == "OPTIONS" && tc.sipgoOmitsReceived {
					want = ""
				}
				if got, _ := v.Params.Get("received"); got != want {
					t.Fatalf("%s: received %q, want %q\n%s", method, got, want, raw)
				}
			}
		})
	}
}

func TestResponseAddrDefaults(t *testing.T) {
	src := netip.MustParseAddrPort("192.0.2.7:40000")
	for _, tc := range []struct {
		via  string
		want string
	}{
		{"SIP/2.0/UDP 192.0.2.7", "192.0.2.7:5060"},
		{"SIP/2.0/UDP 192.0.2.7;rport", "192.0.2.7:40000"},
		{"SIP/2.0/UDP proxy.example:5070", "192.0.2.7:5070"},
		{"SIP/2.0/UDP 192.0.2.7:5070;rport=notaport", "192.0.2.7:5070"},
	} {
		t.Run(tc.via, func(t *testing.T) {
			msg, err := sip.NewParser().ParseSIP([]byte(rawRequest("MESSAGE", tc.via+";branch=z9hG4bK1", "c@x")))
			if err != nil {
				t.Fatal(err)
			}
			if got := responseAddr(msg.(*sip.Request).Via(), src).String(); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestStatelessRetransmission: RFC 3261 section 8.2.7 has a stateless UAS
// answer every copy of a request alike, To tag included; a new
// transaction (another branch) gets a tag of its own.
func TestStatelessRetransmission(t *testing.T) {
	var calls atomic.Int64
	s := statelessStack(t, &calls)
	p := newPeer(t)
	cid := newCallID()
	raw := rawRequest("MESSAGE", fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKfirst", p.port), cid)
	p.send(t, s, raw)
	first, firstRaw := p.read(t)
	p.send(t, s, raw)
	again, againRaw := p.read(t)
	if !bytes.Equal(firstRaw, againRaw) {
		t.Fatalf("a retransmission was answered differently:\n%s\n---\n%s", firstRaw, againRaw)
	}
	tag, _ := first.To().Params.Get("tag")
	if tag == "" {
		t.Fatalf("no To tag:\n%s", firstRaw)
	}
	p.send(t, s, rawRequest("MESSAGE", fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKsecond", p.port), cid))
	other, otherRaw := p.read(t)
	if otherTag, _ := other.To().Params.Get("tag"); otherTag == tag {
		t.Fatalf("a new transaction got the To tag of the first:\n%s", otherRaw)
	}
	if _, _ = again, calls.Load(); calls.Load() != 3 {
		t.Fatalf("handler called %d times for 3 datagrams", calls.Load())
	}
}

// TestStatelessMalformed sends datagrams that are not whole MESSAGEs: each
// is dropped, answered 400 by sipgo, or handed to the server's handler
// (which answers it in production, as before), never reaches the stateless
// handler, and the listener keeps answering.
func TestStatelessMalformed(t *testing.T) {
	var calls atomic.Int64
	s := statelessStack(t, &calls)
	p := newPeer(t)
	via := fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKbad", p.port)
	for _, tc := range []struct{ name, raw string }{
		{"method only", "MESSAGE\r\n\r\n"},
		{"method and space", "MESSAGE "},
		{"no version", "MESSAGE sip:iwf@127.0.0.1\r\n\r\n"},
		{"no Via", strings.Replace(rawRequest("MESSAGE", "x", newCallID()), "Via: x\r\n", "", 1)},
		{"no CSeq", strings.Replace(rawRequest("MESSAGE", via, newCallID()), "CSeq: 7 MESSAGE\r\n", "", 1)},
		{"CSeq of another method", strings.Replace(rawRequest("MESSAGE", via, newCallID()), "CSeq: 7 MESSAGE", "CSeq: 7 INFO", 1)},
		{"Via without sent-by", rawRequest("MESSAGE", "SIP/2.0/UDP ;branch=z9hG4bKx", newCallID())},
		{"Via over tcp", rawRequest("MESSAGE", "SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKx", newCallID())},
		{"SIP/3.0", strings.Replace(rawRequest("MESSAGE", via, newCallID()), "SIP/2.0\r\n", "SIP/3.0\r\n", 1)},
		{"bad Via", rawRequest("MESSAGE", "SIP/2.0 127.0.0.1", newCallID())},
		{"body shorter than Content-Length", strings.Replace(rawRequest("MESSAGE", via, newCallID()), "Content-Length: 5", "Content-Length: 500", 1)},
		{"no CRLF", "MESSAGE sip:iwf@127.0.0.1 SIP/2.0\nVia: " + via + "\n"},
		{"binary", "MESSAGE \x00\xff\xfe\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.send(t, s, tc.raw)
			// An OPTIONS after it shows the listener still reads; an
			// answer to the bad datagram may come before or after it.
			cid := newCallID()
			p.send(t, s, rawRequest("OPTIONS", fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%d", p.port, callSeq.Add(1)), cid))
			for {
				res, raw := p.read(t)
				if res.CallID() != nil && res.CallID().Value() == cid {
					break
				}
				// 400 from sipgo's transport, or the server handler's
				// answer: the path such a request had before.
				if res.StatusCode != 400 && res.Reason != "Stateful" {
					t.Fatalf("a malformed datagram answered %d:\n%s", res.StatusCode, raw)
				}
			}
		})
	}
	if calls.Load() != 0 {
		t.Fatalf("stateless handler called %d times for malformed datagrams", calls.Load())
	}
}

// FuzzStatelessResponse: a datagram the stateless path takes (one sipgo
// writes back as it read it) gets an answer that parses back with the request's Call-ID, CSeq, From and top
// Via branch, goes back to the source address, and is the same bytes for
// every copy of the datagram (RFC 3261 section 8.2.7).
func FuzzStatelessResponse(f *testing.F) {
	for _, via := range []string{
		"SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK1",
		"SIP/2.0/UDP 127.0.0.1:5090;rport;branch=z9hG4bK2",
		"SIP/2.0/UDP peer.example;branch=z9hG4bK3;received=192.0.2.1",
		"SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK4",
	} {
		f.Add([]byte(rawRequest("MESSAGE", via, "fuzz@peer.example")))
	}
	f.Add([]byte(rawRequest("MESSAGE", "SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK5", "c", "To: <sip:iwf@127.0.0.1>;tag=in-dialog")))
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	c := &statelessConn{
		handlers: map[sip.RequestMethod]StatelessHandler{sip.MESSAGE: {}},
		parser:   sip.NewParser(),
		seed:     maphash.MakeSeed(),
	}
	answer := func(data []byte) (*sip.Request, []byte, netip.AddrPort, bool) {
		req, _, ok := c.request(data, src)
		if !ok {
			return nil, nil, netip.AddrPort{}, false
		}
		var buf bytes.Buffer
		dst, err := encodeResponse(&buf, req, sip.NewResponseFromRequest(req, 202, "Accepted", nil), src, c.seed)
		if err != nil {
			return nil, nil, netip.AddrPort{}, false
		}
		return req, buf.Bytes(), dst, true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, out, dst, ok := answer(data)
		if !ok {
			return
		}
		// The answer's headers are compared with the request's as both
		// read back from the wire: sipgo's parser takes headers that its
		// writer gives back otherwise ("F::0>" reads back as "<sip:0>;>"),
		// or not at all (":0:"), whatever path answers them.
		back, err := sip.NewParser().ParseSIP([]byte(req.String()))
		if err != nil {
			return
		}
		req = back.(*sip.Request)
		if dst.Addr() != src.Addr() || dst.Port() == 0 {
			t.Fatalf("answer to %s", dst)
		}
		msg, err := sip.NewParser().ParseSIP(out)
		if err != nil {
			t.Fatalf("answer does not parse: %v\n%s", err, out)
		}
		res, ok := msg.(*sip.Response)
		if !ok || res.StatusCode != 202 {
			t.Fatalf("not a 202:\n%s", out)
		}
		same := func(name string, a, b string, aok, bok bool) {
			if a != b || aok != bok {
				t.Fatalf("%s: request %q, answer %q\n%s", name, a, b, out)
			}
		}
		if a, b := req.CallID(), res.CallID(); a != nil || b != nil {
			same("Call-ID", str(a), str(b), a != nil, b != nil)
		}
		if a, b := req.CSeq(), res.CSeq(); a != nil || b != nil {
			same("CSeq", str(a), str(b), a != nil, b != nil)
		}
		if a, b := req.From(), res.From(); a != nil || b != nil {
			same("From", str(a), str(b), a != nil, b != nil)
		}
		rb, _ := req.Via().Params.Get("branch")
		// A branch is a token (RFC 3261 section 25.1); sipgo's parser
		// reads a quoted one back differently once a parameter follows.
		if b, _ := res.Via().Params.Get("branch"); b != rb && isToken(rb) {
			t.Fatalf("branch %q, want %q\n%s", b, rb, out)
		}
		if req.To() != nil {
			if tag, _ := res.To().Params.Get("tag"); tag == "" {
				t.Fatalf("no To tag:\n%s", out)
			}
		}
		_, again, _, ok := answer(data)
		if !ok || !bytes.Equal(out, again) {
			t.Fatalf("a copy answered differently:\n%s\n---\n%s", out, again)
		}
		// The answer written without a sip.Response is the same bytes.
		first, _, _ := c.request(data, src)
		var direct bytes.Buffer
		writeResponse(&direct, first, src, c.seed, 202, "Accepted", nil)
		if !bytes.Equal(out, direct.Bytes()) {
			t.Fatalf("RespondStatus differs from Respond:\n%s\n---\n%s", out, direct.Bytes())
		}
	})
}

// str is the value of a header that may be a nil pointer.
func str[H interface {
	comparable
	Value() string
}](h H) string {
	var zero H
	if h == zero {
		return ""
	}
	return h.Value()
}

// isToken reports whether s is an RFC 3261 token (section 25.1).
func isToken(s string) bool {
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-.!%*_+`'~", c) >= 0) {
			return false
		}
	}
	return s != ""
}
