package sipsession

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrptest"
)

// TestOpenAgainstSIPp has SIPp, an independent SIP implementation, play
// the RCS core: it checks the INVITE's RCS headers and offer, answers 200
// with an MSRP SDP answer whose path is a real MSRP endpoint of the test,
// takes the ACK and the BYE. The MSRP leg really connects: a message sent
// on the call arrives at that endpoint. A missing sipp binary fails.
func TestOpenAgainstSIPp(t *testing.T) {
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp not installed (Debian package sip-tester): %v", err)
	}
	scenario, err := filepath.Abs("testdata/rcs_uas.xml")
	if err != nil {
		t.Fatal(err)
	}
	// The RCS client's MSRP side.
	rcs := msrptest.NewEndpoint(t, session.Config{})
	rec := newRecorder()
	ctx := testutil.Context(t)
	rs, err := rcs.NewSession(ctx, session.SessionOptions{Handler: rec.handler()})
	if err != nil {
		t.Fatal(err)
	}
	w := newIWF(t, func(c *Config) { c.SessionTimer = DefaultSessionTimer() })

	port := testutil.FreePort(t)
	sctx, cancel := context.WithTimeout(ctx, 25*time.Second)
	defer cancel()
	cmd := exec.CommandContext(sctx, bin, "-sf", scenario, "-i", "127.0.0.1", "-p", strconv.Itoa(port),
		"-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin", "-trace_err",
		"-key", "msrp_port", strconv.Itoa(rs.LocalURI().Port),
		"-key", "msrp_path", rs.LocalURI().String())
	cmd.Dir = t.TempDir() // sipp writes its logs next to where it runs
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	tr := DefaultTrunk()
	tr.Name = "sipp"
	tr.NextHop = "sip:127.0.0.1:" + strconv.Itoa(port)
	// SIPp binds its port a moment after it starts; until then an INVITE
	// over UDP is lost and retransmitted (Timer A), which is what we want.
	c, err := w.m.Open(ctx, OpenRequest{From: "sip:+15550001@iwf.example", To: "tel:+15550002", Trunk: tr})
	if err != nil {
		cancel()
		<-exited
		t.Fatalf("open: %v\nsipp:\n%s", err, out.String())
	}
	if !c.Negotiated().Active {
		t.Error("sipp answered passive: the IWF should connect")
	}
	if _, err := c.Send(ctx, &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("via sipp")}); err != nil {
		t.Fatal(err)
	}
	if m := rec.next(t); string(m.Body) != "via sipp" {
		t.Fatalf("rcs got %q", m.Body)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("sipp: %v\n%s", err, out.String())
	}
}
