package pager_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/sipstack"
	"iwf/internal/sipstack/sipstacktest"
	"iwf/pager"
	"iwf/pager/pagertest"
)

// iwf is an IWF SIP side on loopback: the stack, the inbound handler and
// its fake store.
type iwf struct {
	stack   *sipstack.Stack
	inbound *pager.Inbound
	store   *pagertest.Store
	trunks  *pager.Trunks
	cancel  context.CancelFunc
}

// loopbackTrunk is a trunk for requests from 127.0.0.1.
func loopbackTrunk(name string) pager.Trunk {
	return pager.Trunk{
		Partner:        name,
		NextHop:        "sip:127.0.0.1:5999",
		AllowedSources: []string{"127.0.0.1/32"},
		Numbers:        []string{"+44"},
	}
}

func loopbackListeners() sipstack.Config {
	return sipstack.Config{Listen: []sipstack.Listener{
		{Transport: "udp", Address: "127.0.0.1:0"},
		{Transport: "tcp", Address: "127.0.0.1:0"},
	}, Domain: "iwf.example.net"}
}

// startIWF runs an IWF SIP side with the given trunks and inbound
// settings, stopped when the test ends.
func startIWF(tb testing.TB, trunks []pager.Trunk, tune func(*pager.InboundConfig)) *iwf {
	tb.Helper()
	ts, err := pager.NewTrunks(trunks)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := sipstack.New(loopbackListeners(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	store := pagertest.NewStore()
	cfg := pager.InboundConfig{Trunks: ts, Store: store}
	if tune != nil {
		tune(&cfg)
	}
	in, err := pager.NewInbound(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.RegisterStack(ctx, st)
	sipstacktest.Serve(tb, st)
	tb.Cleanup(cancel)
	return &iwf{stack: st, inbound: in, store: store, trunks: ts, cancel: cancel}
}

// client is a sipgo user agent for sending test requests, stopped when
// the test ends.
func client(tb testing.TB) *sipstack.Stack {
	tb.Helper()
	st, err := sipstack.New(sipstack.Config{Listen: []sipstack.Listener{
		{Transport: "udp", Address: "127.0.0.1:0"},
		{Transport: "tcp", Address: "127.0.0.1:0"},
	}, UserAgent: "test-client"}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	sipstacktest.Serve(tb, st)
	return st
}

var seq atomic.Uint64

// message builds a MESSAGE from a UK number to another toward the IWF.
func message(tb testing.TB, to *iwf, transport, contentType, body string) *sip.Request {
	tb.Helper()
	host, port, _ := net.SplitHostPort(to.stack.Addr(transport).String())
	p, _ := strconv.Atoi(port)
	req := sip.NewRequest(sip.MESSAGE, sip.Uri{Scheme: "sip", User: "+447700900123", Host: host, Port: p, UriParams: params("user", "phone")})
	req.SetTransport(strings.ToUpper(transport))
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "+44-7700-900456", Host: "ims.partner.example", UriParams: params("user", "phone")}, Params: params("tag", fmt.Sprintf("tag%d", seq.Add(1)))})
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "tel", Host: "+447700900123"}})
	cid := sip.CallIDHeader(fmt.Sprintf("call-%d-%d@test", time.Now().UnixNano(), seq.Add(1)))
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.MESSAGE})
	if contentType != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	}
	req.SetBody([]byte(body))
	return req
}

func params(kv ...string) sip.HeaderParams {
	p := sip.NewParams()
	for i := 0; i+1 < len(kv); i += 2 {
		p.Add(kv[i], kv[i+1])
	}
	return p
}

// again is a new transaction for the same request: same From tag,
// Call-ID and CSeq, a new Via branch (a client retry after a lost answer).
func again(req *sip.Request) *sip.Request {
	c := sip.NewRequest(req.Method, *req.Recipient.Clone())
	c.SetTransport(req.Transport())
	for _, h := range req.Headers() {
		switch strings.ToLower(h.Name()) {
		case "via", "content-length":
			continue
		}
		c.AppendHeader(sip.HeaderClone(h))
	}
	c.SetBody(req.Body())
	return c
}

// send sends req from c and returns the final response.
func send(tb testing.TB, c *sipstack.Stack, req *sip.Request) *sip.Response {
	tb.Helper()
	cl, err := c.Client(req.Transport())
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cl.Do(ctx, req)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// raw sends a hand-written request over UDP from a fresh socket and
// returns the status line and headers of the response, or "" when none
// comes within the deadline (sipgo drops what it cannot parse).
func raw(tb testing.TB, to *iwf, msg string, wait time.Duration) string {
	tb.Helper()
	conn, err := net.Dial("udp", to.stack.Addr("udp").String())
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().(*net.UDPAddr)
	msg = strings.ReplaceAll(msg, "LOCALPORT", strconv.Itoa(local.Port))
	msg = strings.ReplaceAll(msg, "\n", "\r\n")
	if _, err := conn.Write([]byte(msg)); err != nil {
		tb.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 65535)
	n, err := conn.Read(buf)
	if err != nil {
		return ""
	}
	r := bufio.NewReader(strings.NewReader(string(buf[:n])))
	var head strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil || line == "\r\n" {
			break
		}
		head.WriteString(line)
	}
	return head.String()
}
