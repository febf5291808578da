package sipstack

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/maphash"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// Responder answers one request. sipgo's server transactions are
// Responders; so is the stateless answer of a UDP request taken by a
// StatelessHandler.
type Responder interface {
	Respond(res *sip.Response) error
}

// StatusResponder is a Responder that also writes an answer from its
// status, reason phrase and extra headers, without a sip.Response built
// and cloned from the request first. The stateless UDP answer is one.
type StatusResponder interface {
	Responder
	RespondStatus(status int, reason string, headers ...sip.Header) error
}

// StatelessHandler answers UDP requests of one method as a stateless UAS
// (RFC 3261 section 8.2.7), outside sipgo's transaction layer: no server
// transaction is kept for them (sipgo keeps each one 32 s, Timer J), so a
// retransmission reaches Handle again and must get the same final
// answer. The handler's own memory of answered requests (pager's dedup)
// is what makes that so.
type StatelessHandler struct {
	// Take reports whether req is answered here. A request it declines
	// goes through sipgo's transaction layer like any other; nil takes
	// every request of the method.
	Take func(req *sip.Request) bool
	// Handle answers req through r with one final response. It runs on
	// a goroutine of its own; Run waits for it before it returns.
	Handle func(req *sip.Request, r Responder)
}

// HandleStatelessUDP has UDP requests of method answered by h instead of
// the sipgo server's handler; requests over tcp and tls, and those h
// declines, still reach the server's handler, which must be registered
// too. Call it before Run, like the server's handlers.
func (s *Stack) HandleStatelessUDP(method sip.RequestMethod, h StatelessHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stateless == nil {
		s.stateless = map[sip.RequestMethod]StatelessHandler{}
	}
	s.stateless[method] = h
}

// statelessConn is the UDP listener as sipgo's transport reads it: it
// takes the datagrams of the stateless methods out of the read loop,
// answers them itself, and returns the others to sipgo.
type statelessConn struct {
	*net.UDPConn
	handlers map[sip.RequestMethod]StatelessHandler
	// parser is only used on the read loop, as sipgo's own is.
	parser *sip.Parser
	seed   maphash.Seed
	wg     sync.WaitGroup
}

func newStatelessConn(c *net.UDPConn, handlers map[sip.RequestMethod]StatelessHandler) *statelessConn {
	return &statelessConn{UDPConn: c, handlers: handlers, parser: sip.NewParser(), seed: maphash.MakeSeed()}
}

// ReadFrom returns the next datagram that is not taken by a stateless
// handler.
func (c *statelessConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, src, err := c.ReadFromUDPAddrPort(b)
		if err != nil {
			return n, nil, err
		}
		if c.take(b[:n], src) {
			continue
		}
		return n, net.UDPAddrFromAddrPort(src), nil
	}
}

// take starts the handler of data when it is a request that a
// stateless handler takes.
func (c *statelessConn) take(data []byte, src netip.AddrPort) bool {
	req, h, ok := c.request(data, src)
	if !ok {
		return false
	}
	r := &udpResponder{c: c, req: req, src: src}
	c.wg.Go(func() { h.Handle(req, r) })
	return true
}

// request parses data when it is a well-formed request of a stateless
// method that the method's handler takes. Anything else (other methods,
// responses, keep-alives, what does not parse or lacks what the answer
// needs) is left to sipgo, which drops or answers it
// as it always has.
func (c *statelessConn) request(data []byte, src netip.AddrPort) (*sip.Request, StatelessHandler, bool) {
	sp := bytes.IndexByte(data, ' ')
	if sp <= 0 {
		return nil, StatelessHandler{}, false
	}
	h, ok := c.handlers[sip.RequestMethod(data[:sp])]
	if !ok {
		return nil, h, false
	}
	msg, err := c.parser.ParseSIP(data)
	if err != nil {
		return nil, h, false
	}
	req, ok := msg.(*sip.Request)
	if !ok || !wellFormed(req) {
		return nil, h, false
	}
	req.SetTransport("UDP")
	// As sipgo names the source: an IPv4 peer on a dual-stack socket is
	// 1.2.3.4, not ::ffff:1.2.3.4.
	req.SetSource(netip.AddrPortFrom(src.Addr().Unmap(), src.Port()).String())
	if h.Take != nil && !h.Take(req) {
		return nil, h, false
	}
	return req, h, true
}

// wellFormed reports whether req has what a stateless answer is built
// from: a SIP/2.0 request line, a top Via with its sent-by (RFC 3261
// section 18.2.2 answers to it) and a CSeq of the request's method
// (section 8.2.6.2 copies it). sipgo's parser lets more through; such
// requests keep the path they had.
func wellFormed(req *sip.Request) bool {
	via, cseq := req.Via(), req.CSeq()
	return req.SipVersion == "SIP/2.0" &&
		via != nil && via.ProtocolName == "SIP" && via.ProtocolVersion == "2.0" && strings.EqualFold(via.Transport, "UDP") && via.Host != "" &&
		cseq != nil && cseq.MethodName == req.Method
}

// udpResponder sends the answers to one request taken off the UDP
// listener, from the listening socket.
type udpResponder struct {
	c   *statelessConn
	req *sip.Request
	src netip.AddrPort
}

// errResponseTooLarge is what sipgo's UDP transport refuses the same
// way: a response this close to the MTU is not sent.
var errResponseTooLarge = errors.New("sipstack: response larger than the path MTU allows over udp")

var respBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Respond sends res to where RFC 3261 section 18.2.2 and RFC 3581
// section 4 say, with the To tag and Via parameters of a stateless UAS.
func (r *udpResponder) Respond(res *sip.Response) error {
	buf := respBufs.Get().(*bytes.Buffer)
	defer respBufs.Put(buf)
	buf.Reset()
	dst, err := encodeResponse(buf, r.req, res, r.src, r.c.seed)
	if err != nil {
		return err
	}
	_, err = r.c.WriteToUDPAddrPort(buf.Bytes(), dst)
	return err
}

// RespondStatus writes the answer straight from the request's headers:
// what sip.NewResponseFromRequest would copy, and the To tag and Via
// parameters that Respond sets.
func (r *udpResponder) RespondStatus(status int, reason string, headers ...sip.Header) error {
	buf := respBufs.Get().(*bytes.Buffer)
	defer respBufs.Put(buf)
	buf.Reset()
	writeResponse(buf, r.req, r.src, r.c.seed, status, reason, headers)
	if buf.Len() > sip.UDPMTUSize-200 {
		return errResponseTooLarge
	}
	_, err := r.c.WriteToUDPAddrPort(buf.Bytes(), responseAddr(r.req.Via(), r.src))
	return err
}

// writeResponse writes the answer to req, received from src, as
// sip.NewResponseFromRequest and Respond build it: Record-Route for a
// 2xx, every Via (the top one with received and rport, RFC 3261 section
// 18.2.1 and RFC 3581 section 4), From, To with the stateless tag,
// Call-ID, CSeq (section 8.2.6.2), no body, then headers.
func writeResponse(buf *bytes.Buffer, req *sip.Request, src netip.AddrPort, seed maphash.Seed, status int, reason string, headers []sip.Header) {
	var num [20]byte
	buf.WriteString("SIP/2.0 ")
	buf.Write(strconv.AppendInt(num[:0], int64(status), 10))
	buf.WriteByte(' ')
	buf.WriteString(reason)
	buf.WriteString("\r\n")
	all := req.Headers()
	if status >= 200 && status < 300 {
		for _, h := range all {
			if strings.EqualFold(h.Name(), "Record-Route") {
				h.StringWrite(buf)
				buf.WriteString("\r\n")
			}
		}
	}
	top := true
	for _, h := range all {
		via, ok := h.(*sip.ViaHeader)
		if !ok {
			continue
		}
		if top {
			writeTopVia(buf, via, src)
			top = false
		} else {
			via.StringWrite(buf)
		}
		buf.WriteString("\r\n")
	}
	if h := req.From(); h != nil {
		h.StringWrite(buf)
		buf.WriteString("\r\n")
	}
	if h := req.To(); h != nil {
		h.StringWrite(buf)
		if !h.Params.Has("tag") {
			var tag [16]byte
			buf.WriteString(";tag=")
			buf.Write(statelessTagAppend(tag[:0], req, seed))
		}
		buf.WriteString("\r\n")
	}
	if h := req.CallID(); h != nil {
		h.StringWrite(buf)
		buf.WriteString("\r\n")
	}
	if h := req.CSeq(); h != nil {
		h.StringWrite(buf)
		buf.WriteString("\r\n")
	}
	buf.WriteString("Content-Length: 0\r\n")
	for _, h := range headers {
		h.StringWrite(buf)
		buf.WriteString("\r\n")
	}
	buf.WriteString("\r\n")
}

// writeTopVia writes via with the parameters a server adds: rport's
// value (the source port) and received (the source address) when rport
// asks for it or sent-by is not the source address.
func writeTopVia(buf *bytes.Buffer, via *sip.ViaHeader, src netip.AddrPort) {
	var num [20]byte
	buf.WriteString("Via: ")
	buf.WriteString(via.ProtocolName)
	buf.WriteByte('/')
	buf.WriteString(via.ProtocolVersion)
	buf.WriteByte('/')
	buf.WriteString(via.Transport)
	buf.WriteByte(' ')
	// An IPv6 address in brackets (RFC 3261 section 25.1), written as
	// sipgo writes it.
	if a, err := netip.ParseAddr(via.Host); err == nil && a.Is6() && !a.Is4In6() && a.Zone() == "" && len(via.Host) <= 46 {
		buf.WriteByte('[')
		buf.WriteString(via.Host)
		buf.WriteByte(']')
	} else {
		buf.WriteString(via.Host)
	}
	if via.Port > 0 {
		buf.WriteByte(':')
		buf.Write(strconv.AppendInt(num[:0], int64(via.Port), 10))
	}
	srcIP := src.Addr().Unmap()
	rport, hasRport := via.Params.Get("rport")
	setRport := hasRport && rport == ""
	setReceived := setRport
	if !setReceived && !via.Params.Has("received") {
		a, err := netip.ParseAddr(via.Host)
		setReceived = err != nil || a.Unmap() != srcIP
	}
	writeReceived := func() {
		buf.WriteString("received=")
		buf.Write(srcIP.AppendTo(num[:0]))
	}
	for _, kv := range via.Params {
		buf.WriteByte(';')
		switch {
		case kv.K == "rport" && setRport:
			buf.WriteString("rport=")
			buf.Write(strconv.AppendUint(num[:0], uint64(src.Port()), 10))
		case kv.K == "received" && setReceived:
			writeReceived()
			setReceived = false
		default:
			// sipgo's writer, for its quoting of values.
			sip.HeaderParams{kv}.ToStringWrite(';', buf)
		}
	}
	if setReceived {
		buf.WriteByte(';')
		writeReceived()
	}
}

// encodeResponse writes res, the answer to req received from src, into
// buf and returns where it goes.
func encodeResponse(buf *bytes.Buffer, req *sip.Request, res *sip.Response, src netip.AddrPort, seed maphash.Seed) (netip.AddrPort, error) {
	statelessHeaders(req, res, src, seed)
	res.StringWrite(buf)
	if buf.Len() > sip.UDPMTUSize-200 {
		return netip.AddrPort{}, errResponseTooLarge
	}
	return responseAddr(req.Via(), src), nil
}

// statelessHeaders completes res, built by sip.NewResponseFromRequest
// from req received from src.
func statelessHeaders(req *sip.Request, res *sip.Response, src netip.AddrPort, seed maphash.Seed) {
	// RFC 3261 section 8.2.7: a stateless UAS generates its To tag so
	// that every copy of the same request gets the same one (sipgo drew
	// a random tag for this response). A request that has a tag already
	// keeps it.
	if to, rto := res.To(), req.To(); to != nil && rto != nil && !rto.Params.Has("tag") {
		to.Params.Add("tag", statelessTag(req, seed))
	}
	// RFC 3261 section 18.2.1: a sent-by that is not the source address
	// gets a received parameter (RFC 3581's rport has sipgo add both).
	if via := res.Via(); via != nil && !via.Params.Has("received") {
		if a, err := netip.ParseAddr(via.Host); err != nil || a.Unmap() != src.Addr().Unmap() {
			via.Params.Add("received", src.Addr().Unmap().String())
		}
	}
}

// statelessTag hashes what identifies the transaction of req (RFC 3261
// section 17.2.3: the top Via's branch and sent-by, with the method of
// CSeq) and the dialog identifiers of the request.
func statelessTag(req *sip.Request, seed maphash.Seed) string {
	var b [16]byte
	return string(statelessTagAppend(b[:0], req, seed))
}

// statelessTagAppend appends the stateless tag of req to b.
func statelessTagAppend(b []byte, req *sip.Request, seed maphash.Seed) []byte {
	var h maphash.Hash
	h.SetSeed(seed)
	via := req.Via()
	branch, _ := via.Params.Get("branch")
	h.WriteString(branch)
	h.WriteByte(0)
	h.WriteString(via.Host)
	h.WriteByte(0)
	var n [8]byte
	h.Write(binary.LittleEndian.AppendUint64(n[:0], uint64(via.Port)))
	if cid := req.CallID(); cid != nil {
		h.WriteString(cid.Value())
	}
	h.WriteByte(0)
	if from := req.From(); from != nil {
		tag, _ := from.Params.Get("tag")
		h.WriteString(tag)
	}
	h.WriteByte(0)
	cseq := req.CSeq()
	h.Write(binary.LittleEndian.AppendUint64(n[:0], uint64(cseq.SeqNo)))
	h.WriteString(string(cseq.MethodName))
	return hex.AppendEncode(b, binary.LittleEndian.AppendUint64(n[:0], h.Sum64()))
}

// responseAddr is where the response to a request over UDP goes, as
// sipgo's transport sends it (RFC 3261 section 18.2.2, RFC 3581 section
// 4): to the source address of the request, at the port of the top Via's
// sent-by (5060 without one), or at the source port when the Via asks
// for it with an empty rport. Like sipgo, the multicast maddr of section
// 18.2.2 is not served.
func responseAddr(via *sip.ViaHeader, src netip.AddrPort) netip.AddrPort {
	port := via.Port
	if port <= 0 || port > 65535 {
		port = int(sip.DefaultUdpPort)
	}
	if rport, ok := via.Params.Get("rport"); ok {
		if rport == "" {
			port = int(src.Port())
		} else if p, err := strconv.Atoi(rport); err == nil && p > 0 && p <= 65535 {
			port = p
		}
	}
	return netip.AddrPortFrom(src.Addr(), uint16(port))
}

// wait waits for the handlers started so far.
func (c *statelessConn) wait() { c.wg.Wait() }
