package main

import (
	"context"
	"net"
	"testing"

	"github.com/emiago/sipgo"

	"iwf/internal/cpim"
	"iwf/internal/sipstack"
	"iwf/internal/sipstack/sipstacktest"
	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrptest"
	"iwf/session/sipsession"
)

// uac is an IWF-like session originator: a SIP stack, an MSRP endpoint
// and a sipsession Manager that opens sessions (it refuses incoming ones).
type uac struct {
	st *sipstack.Stack
	ep *session.Endpoint
	m  *sipsession.Manager
}

// startUAC runs a uac on loopback port 0 until the test ends.
func startUAC(t testing.TB) *uac {
	t.Helper()
	u := &uac{ep: msrptest.NewEndpoint(t, session.Config{})}
	u.st = sipstacktest.Start(t, func(st *sipstack.Stack, srv *sipgo.Server) {
		m, err := sipsession.New(sipsession.Config{Stack: st, Endpoint: u.ep, Logger: testutil.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		m.Register(srv)
		u.m = m
	})
	t.Cleanup(func() {
		if err := u.m.Close(context.Background()); err != nil {
			t.Logf("uac manager close: %v", err) // BYEs to a peer already gone
		}
	})
	return u
}

// open calls number at the SIP address hop over transport.
func (u *uac) open(ctx context.Context, from, number string, hop net.Addr, transport string) (*sipsession.Call, error) {
	tr := sipsession.DefaultTrunk()
	tr.Name = "rcs"
	tr.NextHop = "sip:" + hop.String() + ";transport=" + transport
	host, _, _ := net.SplitHostPort(hop.String())
	return u.m.Open(ctx, sipsession.OpenRequest{
		From:  "sip:" + from + "@127.0.0.1",
		To:    "sip:" + number + "@" + host,
		Trunk: tr,
	})
}

// cpimText wraps text in message/cpim as the IWF sends it.
func cpimText(t testing.TB, from, to, text string) []byte {
	t.Helper()
	b, err := wrapCPIM(from, to, text)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wrapCPIM(from, to, text string) ([]byte, error) {
	m, err := cpim.Wrap("<sip:"+from+"@127.0.0.1>", "<sip:"+to+"@127.0.0.1>", "text/plain;charset=utf-8", []byte(text), cpim.IMDN{})
	if err != nil {
		return nil, err
	}
	return m.Marshal()
}
