package sipsession

import (
	"bytes"
	"context"
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

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrptest"
)

// sippRun is a SIPp process playing one scenario of testdata.
type sippRun struct {
	out    bytes.Buffer
	dir    string
	exited chan error
	cancel context.CancelFunc
}

// startSIPp runs SIPp (a missing binary fails the test) with scenario on
// a free loopback UDP port; args add keys, and a target address for a
// client scenario.
func startSIPp(t *testing.T, scenario string, args ...string) (*sippRun, int) {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp not installed (Debian package sip-tester): %v", err)
	}
	sf, err := filepath.Abs(filepath.Join("testdata", scenario))
	if err != nil {
		t.Fatal(err)
	}
	port := testutil.FreePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	r := &sippRun{dir: t.TempDir(), exited: make(chan error, 1), cancel: cancel}
	all := append([]string{"-sf", sf, "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "1",
		"-timeout", "30s", "-timeout_error", "-nostdin", "-skip_rlimit", "-trace_err", "-trace_msg"}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	cmd.Dir = r.dir // SIPp writes its logs next to where it runs
	cmd.Stdout, cmd.Stderr = &r.out, &r.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { r.exited <- cmd.Wait() }()
	t.Cleanup(cancel)
	return r, port
}

// wait fails the test unless SIPp ends its scenario successfully; its
// error and message traces say which step broke.
func (r *sippRun) wait(t *testing.T) {
	t.Helper()
	if err := <-r.exited; err != nil {
		logs, _ := filepath.Glob(filepath.Join(r.dir, "*.log"))
		var traces strings.Builder
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			traces.WriteString("== " + filepath.Base(l) + "\n" + string(b))
		}
		t.Fatalf("sipp: %v\n%s\n%s", err, r.out.String(), traces.String())
	}
}

// fakeTimer is one session timer started on the fake clock.
type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped atomic.Bool
}

// fire runs the timer's function unless it was stopped.
func (ft *fakeTimer) fire() {
	if !ft.stopped.Load() {
		ft.f()
	}
}

// fakeClock stands in for time.AfterFunc: the test sees each timer as it
// is started and fires it itself.
type fakeClock struct{ timers chan *fakeTimer }

func newFakeClock() *fakeClock { return &fakeClock{timers: make(chan *fakeTimer, 32)} }

func (fc *fakeClock) afterFunc(d time.Duration, f func()) func() bool {
	ft := &fakeTimer{d: d, f: f}
	fc.timers <- ft
	return func() bool { return ft.stopped.CompareAndSwap(false, true) }
}

// next is the next timer started.
func (fc *fakeClock) next(t *testing.T) *fakeTimer { return recv(t, fc.timers, "session timer") }

// tracer collects the dialog events of the Manager.
type tracer struct{ events chan string }

func newTracer() *tracer { return &tracer{events: make(chan string, 32)} }

func (tr *tracer) trace(_ *Call, event string) { tr.events <- event }

// await reads events until want, failing on "refresh-failed" unless
// that is what is wanted.
func (tr *tracer) await(t *testing.T, want string) {
	t.Helper()
	for {
		ev := recv(t, tr.events, "dialog event "+want)
		if ev == want {
			return
		}
	}
}

// dialogIWF is an IWF with the fake clock, the tracer and session timers
// on (1800 s asked, 90 s minimum).
func dialogIWF(t *testing.T) (*iwf, *fakeClock, *tracer) {
	t.Helper()
	fc, tr := newFakeClock(), newTracer()
	w := newIWF(t, func(c *Config) {
		c.SessionTimer = DefaultSessionTimer()
		c.afterFunc = fc.afterFunc
		c.trace = tr.trace
	})
	return w, fc, tr
}

// runClient has SIPp play an RCS client calling the IWF over UDP.
func runClient(t *testing.T, w *iwf, scenario string) *sippRun {
	t.Helper()
	r, _ := startSIPp(t, scenario, "-s", "+15550200", addr(w.st, "udp"))
	return r
}

// TestSIPpRequireUnsupported: an INVITE and an in-dialog UPDATE that
// require extensions we lack get 420 with Unsupported; Require: timer is
// taken (uac_420.xml checks the headers).
func TestSIPpRequireUnsupported(t *testing.T) {
	w, _, _ := dialogIWF(t)
	r := runClient(t, w, "uac_420.xml")
	c := nextCall(t, w)
	r.wait(t)
	if ev := waitClosed(t, c); ev.Reason != ReasonPeerBye {
		t.Fatalf("closed with %v", ev.Reason)
	}
}

// TestSIPpSessionIntervalTooSmall: 422 with Min-SE below our minimum,
// then 200 with the timer at the interval asked, the UAC refreshing; the
// timer armed is the BYE at the interval less a third (RFC 4028 section
// 10).
func TestSIPpSessionIntervalTooSmall(t *testing.T) {
	w, fc, _ := dialogIWF(t)
	r := runClient(t, w, "uac_422.xml")
	c := nextCall(t, w)
	if ft := fc.next(t); ft.d != 60*time.Second {
		t.Errorf("expiry timer %v, want 60s (90s less 30s)", ft.d)
	}
	r.wait(t)
	if ev := waitClosed(t, c); ev.Reason != ReasonPeerBye {
		t.Fatalf("closed with %v", ev.Reason)
	}
	if c.ConversationID() != "sipp-conv-1" {
		t.Errorf("conversation %q", c.ConversationID())
	}
}

// TestSIPpOfferlessReinvite: our 200 to an INVITE without a body offers
// our media, and the answer in the ACK moves the peer's path.
func TestSIPpOfferlessReinvite(t *testing.T) {
	w, _, tr := dialogIWF(t)
	r := runClient(t, w, "uac_reinvite_offerless.xml")
	c := nextCall(t, w)
	tr.await(t, "ack-answer")
	if err := c.Close(testutil.Context(t)); err != nil {
		t.Fatalf("close: %v", err)
	}
	r.wait(t)
}

// TestSIPpUpdate: an UPDATE without a body refreshes the session timer,
// one with an offer is answered.
func TestSIPpUpdate(t *testing.T) {
	w, fc, tr := dialogIWF(t)
	r := runClient(t, w, "uac_update.xml")
	c := nextCall(t, w)
	first := fc.next(t)
	tr.await(t, "update")
	if !first.stopped.Load() {
		t.Error("the refresh left the old expiry timer running")
	}
	tr.await(t, "update")
	r.wait(t)
	if ev := waitClosed(t, c); ev.Reason != ReasonPeerBye {
		t.Fatalf("closed with %v", ev.Reason)
	}
}

// TestSIPpSessionRefresh: made the refresher, the IWF sends an UPDATE at
// half the interval (fired on the fake clock) and arms the next one,
// which sends the next UPDATE.
func TestSIPpSessionRefresh(t *testing.T) {
	w, fc, tr := dialogIWF(t)
	r := runClient(t, w, "uac_timer_refresh.xml")
	c := nextCall(t, w)
	ft := fc.next(t)
	if ft.d != 45*time.Second {
		t.Errorf("refresh timer %v, want 45s", ft.d)
	}
	// The timer runs from the 2xx: fired before the ACK, its UPDATE
	// would reach SIPp while it waits for the 2xx.
	tr.await(t, "answered")
	ft.fire()
	tr.await(t, "refreshed")
	next := fc.next(t)
	if next.d != 45*time.Second {
		t.Errorf("next refresh timer %v, want 45s", next.d)
	}
	// The client hangs up after this second refresh: its BYE no longer
	// races the timer the first one set.
	next.fire()
	r.wait(t)
	if ev := waitClosed(t, c); ev.Reason != ReasonPeerBye {
		t.Fatalf("closed with %v", ev.Reason)
	}
}

// TestSIPpSessionExpired: the peer is the refresher and never refreshes:
// when the timer fires, the IWF sends BYE and the call ends as expired.
func TestSIPpSessionExpired(t *testing.T) {
	w, fc, tr := dialogIWF(t)
	r := runClient(t, w, "uac_timer_expire.xml")
	c := nextCall(t, w)
	ft := fc.next(t)
	if ft.d != 60*time.Second {
		t.Errorf("expiry timer %v, want 60s", ft.d)
	}
	tr.await(t, "answered") // the BYE comes after the ACK
	ft.fire()
	if ev := waitClosed(t, c); ev.Reason != ReasonSessionExpired {
		t.Fatalf("closed with %v", ev.Reason)
	}
	r.wait(t)
}

// TestOpenSessionTimerAgainstSIPp: our INVITE offers timers; a 422 is
// retried at the peer's Min-SE, and the 2xx making us the refresher
// (refresher=uac) has us send an UPDATE at half its interval.
func TestOpenSessionTimerAgainstSIPp(t *testing.T) {
	rcs := msrptest.NewEndpoint(t, session.Config{})
	ctx := testutil.Context(t)
	rs, err := rcs.NewSession(ctx, session.SessionOptions{Handler: newRecorder().handler()})
	if err != nil {
		t.Fatal(err)
	}
	w, fc, tr := dialogIWF(t)
	r, port := startSIPp(t, "rcs_uas_timer.xml",
		"-key", "msrp_port", strconv.Itoa(rs.LocalURI().Port), "-key", "msrp_path", rs.LocalURI().String())
	tk := DefaultTrunk()
	tk.Name = "sipp"
	tk.NextHop = "sip:127.0.0.1:" + strconv.Itoa(port)
	// SIPp binds its port a moment after it starts; until then the INVITE
	// over UDP is retransmitted (Timer A).
	c, err := w.m.Open(ctx, OpenRequest{From: "sip:+15550001@iwf.example", To: "tel:+15550002", Trunk: tk})
	if err != nil {
		r.cancel()
		r.wait(t)
		t.Fatalf("open: %v", err)
	}
	ft := fc.next(t)
	if ft.d != 1800*time.Second {
		t.Errorf("refresh timer %v, want half of 3600s", ft.d)
	}
	ft.fire()
	tr.await(t, "refreshed")
	if err := c.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	r.wait(t)
}

// TestAssertedIdentity: the P-Asserted-Identity of a trusted source is
// the caller (its tel: URI preferred); an untrusted source's is ignored.
func TestAssertedIdentity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted bool
		want    string
	}{
		{"trusted", true, "tel:+15550999"},
		{"untrusted", false, "sip:+15550100@rcs.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newIWF(t, func(c *Config) { c.Trusted = func(*sip.Request) bool { return tc.trusted } })
			p := newUACPeer(t)
			ctx := testutil.Context(t)
			from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "+15550100", Host: "rcs.example"}, Params: sip.NewParams()}
			from.Params.Add("tag", sip.GenerateTagN(8))
			dlg, err := p.dialogs.Invite(ctx, iwfURI(w, "+15550200"), buildOffer(t, offerMedia("pai")),
				sip.NewHeader("Content-Type", "application/sdp"), from,
				sip.NewHeader("P-Asserted-Identity", `"Alice, RCS" <sip:+15550999@ims.example;user=phone>, <tel:+15550999>`))
			if err != nil {
				t.Fatal(err)
			}
			if err := dlg.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := dlg.Ack(ctx); err != nil {
				t.Fatal(err)
			}
			c := nextCall(t, w)
			if from := c.From(); from.String() != tc.want {
				t.Errorf("caller %s, want %s", from.String(), tc.want)
			}
			if err := dlg.Bye(ctx); err != nil {
				t.Fatal(err)
			}
			waitClosed(t, c)
		})
	}
}

// rawUDPPeer is an RCS client written from RFC 3261 on a bare UDP
// socket, for what sipgo and SIPp hide: the retransmissions it receives.
type rawUDPPeer struct {
	pc   net.PacketConn
	to   net.Addr
	tag  string
	call string
}

func (p *rawUDPPeer) send(t *testing.T, method string, cseq int, toTag string, body string, headers ...string) {
	t.Helper()
	local := p.pc.LocalAddr().String()
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:+15550200@%s SIP/2.0\r\n", method, p.to)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK%s%d%s\r\n", local, p.call, cseq, method)
	fmt.Fprintf(&b, "From: <sip:+15550100@rcs.example>;tag=%s\r\n", p.tag)
	if toTag != "" {
		fmt.Fprintf(&b, "To: <sip:+15550200@%s>;tag=%s\r\n", p.to, toTag)
	} else {
		fmt.Fprintf(&b, "To: <sip:+15550200@%s>\r\n", p.to)
	}
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d %s\r\nContact: <sip:+15550100@%s>\r\nMax-Forwards: 70\r\n", p.call, cseq, method, local)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	if _, err := p.pc.WriteTo([]byte(b.String()), p.to); err != nil {
		t.Fatal(err)
	}
}

// final reads up to the next final response to cseq and returns its
// status line and To tag.
func (p *rawUDPPeer) final(t *testing.T, cseq string) (string, string) {
	t.Helper()
	buf := make([]byte, 65535)
	_ = p.pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		n, _, err := p.pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("waiting for the answer to %s: %v", cseq, err)
		}
		msg := string(buf[:n])
		status, _, _ := strings.Cut(msg, "\r\n")
		if strings.HasPrefix(status, "SIP/2.0 1") || !strings.Contains(msg, "\r\nCSeq: "+cseq+"\r\n") {
			continue
		}
		_, tag, _ := strings.Cut(msg[strings.Index(msg, "\r\nTo:"):], ";tag=")
		tag, _, _ = strings.Cut(tag, "\r\n")
		return status, tag
	}
}

// TestReinvite2xxRetransmittedOverUDP: the 200 to a re-INVITE comes again
// until the ACK (RFC 3261 section 13.3.1.4): the transaction layer does
// not, so the dialog must.
func TestReinvite2xxRetransmittedOverUDP(t *testing.T) {
	w, _, tr := dialogIWF(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	p := &rawUDPPeer{pc: pc, to: w.st.Addr("udp"), tag: "rawtag", call: "raw-reinvite-1"}
	offer := string(buildOffer(t, offerMedia("rawA")))
	p.send(t, "INVITE", 1, "", offer)
	status, toTag := p.final(t, "1 INVITE")
	if !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Fatalf("invite: %s", status)
	}
	p.send(t, "ACK", 1, toTag, "")
	c := nextCall(t, w)

	p.send(t, "INVITE", 2, toTag, offer)
	for i := range 2 {
		if status, _ := p.final(t, "2 INVITE"); !strings.HasPrefix(status, "SIP/2.0 200") {
			t.Fatalf("re-invite answer %d: %s", i, status)
		}
	}
	p.send(t, "ACK", 2, toTag, "")
	tr.await(t, "reinvite-acked")
	p.send(t, "BYE", 3, toTag, "")
	if status, _ := p.final(t, "3 BYE"); !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Fatalf("bye: %s", status)
	}
	if ev := waitClosed(t, c); ev.Reason != ReasonPeerBye {
		t.Fatalf("closed with %v", ev.Reason)
	}
}

// TestSessionTimerRunsFrom2xx: the session timer of an incoming call
// runs from its 2xx (RFC 4028 section 10), before the ACK, as for a
// re-INVITE or an UPDATE: a BYE or an UPDATE the peer sends right after
// its ACK finds it running. (Armed after the ACK, it lost the race with
// the BYE right after the ACK in TestSIPpSessionIntervalTooSmall.)
func TestSessionTimerRunsFrom2xx(t *testing.T) {
	w, fc, _ := dialogIWF(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	p := &rawUDPPeer{pc: pc, to: w.st.Addr("udp"), tag: "rawtag", call: "raw-timer-1"}
	p.send(t, "INVITE", 1, "", string(buildOffer(t, offerMedia("rawA"))), "Supported: timer", "Session-Expires: 90;refresher=uac")
	status, toTag := p.final(t, "1 INVITE")
	if !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Fatalf("invite: %s", status)
	}
	// The 2xx is not acknowledged yet.
	if ft := fc.next(t); ft.d != 60*time.Second {
		t.Errorf("expiry timer %v, want 60s (90s less 30s)", ft.d)
	}
	p.send(t, "ACK", 1, toTag, "")
	c := nextCall(t, w)
	p.send(t, "BYE", 2, toTag, "")
	if status, _ := p.final(t, "2 BYE"); !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Fatalf("bye: %s", status)
	}
	if ev := waitClosed(t, c); ev.Reason != ReasonPeerBye {
		t.Fatalf("closed with %v", ev.Reason)
	}
}

// TestAckAfterReinvite: the ACK of the first 2xx may reach us after a
// re-INVITE the peer sent once it had that 2xx (UDP reorders, and our
// handlers run side by side): each 2xx takes its own ACK. (The
// re-INVITE's wait replaced the first one's, whose ACK was then dropped
// and the call ended for want of it: TestSIPpOfferlessReinvite under
// load.)
func TestAckAfterReinvite(t *testing.T) {
	w, _, tr := dialogIWF(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	p := &rawUDPPeer{pc: pc, to: w.st.Addr("udp"), tag: "rawtag", call: "raw-ack-order-1"}
	offer := string(buildOffer(t, offerMedia("rawA")))
	p.send(t, "INVITE", 1, "", offer)
	status, toTag := p.final(t, "1 INVITE")
	if !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Fatalf("invite: %s", status)
	}
	c := nextCall(t, w)
	p.send(t, "INVITE", 2, toTag, offer)
	if status, _ := p.final(t, "2 INVITE"); !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Fatalf("re-invite: %s", status)
	}
	p.send(t, "ACK", 1, toTag, "")
	p.send(t, "ACK", 2, toTag, "")
	for want := map[string]bool{"answered": true, "reinvite-acked": true}; len(want) > 0; {
		delete(want, recv(t, tr.events, fmt.Sprintf("dialog events %v", want)))
	}
	p.send(t, "BYE", 3, toTag, "")
	if status, _ := p.final(t, "3 BYE"); !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Fatalf("bye: %s", status)
	}
	if ev := waitClosed(t, c); ev.Reason != ReasonPeerBye {
		t.Fatalf("closed with %v", ev.Reason)
	}
}
