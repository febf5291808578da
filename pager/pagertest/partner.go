package pagertest

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/sipstack"
	"iwf/internal/sipstack/sipstacktest"
)

// Received is a MESSAGE as a Partner got it.
type Received struct {
	Transport   string
	RequestURI  string
	From, To    string
	FromTag     string
	CallID      string
	CSeq        uint32
	ContentType string
	Body        string
	Via         string
	// Contact is the Contact header, "" without one.
	Contact string
}

// Answer is what a Partner does with a MESSAGE.
type Answer struct {
	// Status is the final status; 0 with Drop unset means 200.
	Status int
	Reason string
	// RetryAfter, when positive, is sent in Retry-After (seconds).
	RetryAfter int
	// Drop sends no answer at all: the sender times out.
	Drop bool
}

// Partner is a partner's SIP endpoint on loopback UDP and TCP, answering
// MESSAGE requests as its script says.
type Partner struct {
	stack  *sipstack.Stack
	script func(n int, r Received) Answer

	mu       sync.Mutex
	received []Received
	got      chan Received
}

// StartPartner starts a Partner on 127.0.0.1 ports picked by the system;
// script chooses the answer to the n-th MESSAGE (from 1). It stops when
// the test ends.
func StartPartner(tb testing.TB, script func(n int, r Received) Answer) *Partner {
	tb.Helper()
	p := &Partner{script: script, got: make(chan Received, 1024)}
	st, err := listenSamePort(p.handle)
	if err != nil {
		tb.Fatal(err)
	}
	p.stack = st
	sipstacktest.Serve(tb, st)
	return p
}

// listenSamePort starts a stack whose UDP and TCP listeners share one
// port, as a SIP server's do (a sender switching a large request to TCP
// keeps the port). The port comes from the system; a TCP port already taken
// means another try.
func listenSamePort(handle func(*sip.Request, sip.ServerTransaction)) (*sipstack.Stack, error) {
	var last error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addr := pc.LocalAddr().String()
		_ = pc.Close()
		st, err := sipstack.New(sipstack.Config{Listen: []sipstack.Listener{
			{Transport: "udp", Address: addr},
			{Transport: "tcp", Address: addr},
		}, UserAgent: "partner"}, nil)
		if err != nil {
			return nil, err
		}
		st.Server().OnMessage(handle)
		if last = st.Listen(); last == nil {
			return st, nil
		}
		_ = st.Close()
	}
	return nil, last
}

func (p *Partner) handle(req *sip.Request, tx sip.ServerTransaction) {
	r := Received{
		Transport:  strings.ToLower(req.Transport()),
		RequestURI: req.Recipient.String(),
		Body:       string(req.Body()),
	}
	if h := req.From(); h != nil {
		r.From = h.Address.String()
		r.FromTag, _ = h.Params.Get("tag")
	}
	if h := req.To(); h != nil {
		r.To = h.Address.String()
	}
	if h := req.CallID(); h != nil {
		r.CallID = h.Value()
	}
	if h := req.CSeq(); h != nil {
		r.CSeq = h.SeqNo
	}
	if h := req.ContentType(); h != nil {
		r.ContentType = h.Value()
	}
	if h := req.Via(); h != nil {
		r.Via = h.Value()
	}
	if h := req.Contact(); h != nil {
		r.Contact = h.Value()
	}
	p.mu.Lock()
	p.received = append(p.received, r)
	n := len(p.received)
	p.mu.Unlock()
	p.got <- r
	a := Answer{Status: 200}
	if p.script != nil {
		a = p.script(n, r)
	}
	if a.Drop {
		return
	}
	if a.Status == 0 {
		a.Status = 200
	}
	if a.Reason == "" {
		a.Reason = "Answer"
	}
	res := sip.NewResponseFromRequest(req, a.Status, a.Reason, nil)
	if a.RetryAfter > 0 {
		res.AppendHeader(sip.NewHeader("Retry-After", strconv.Itoa(a.RetryAfter)))
	}
	_ = tx.Respond(res)
}

// NextHop is the partner's URI over transport (udp or tcp), the value of
// a trunk's next_hop.
func (p *Partner) NextHop(transport string) string {
	return "sip:" + p.stack.Addr(transport).String() + ";transport=" + transport
}

// Host is the partner's IP address.
func (p *Partner) Host() string {
	h, _, _ := net.SplitHostPort(p.stack.Addr("udp").String())
	return h
}

// Received returns the MESSAGEs received so far, in order.
func (p *Partner) Received() []Received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Received(nil), p.received...)
}

// Got delivers each MESSAGE as it arrives.
func (p *Partner) Got() <-chan Received { return p.got }
