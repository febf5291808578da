package interwork

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"iwf/internal/iwftest"
	"iwf/internal/testutil"
	"iwf/pager"
	"iwf/session"
	"iwf/session/sipsession"
	"iwf/smpp/receipt"
)

// identRE is the MSRP Message-ID as RFC 4975 section 9 has it:
// Message-ID = "Message-ID:" SP ident; ident = ALPHANUM 3*31ident-char;
// ident-char = ALPHANUM / "." / "-" / "+" / "%" / "=".
var identRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.\-+%=]{3,31}$`)

// awaitBye waits for a BYE at the raw RCS side.
func awaitBye(t *testing.T, raw *iwftest.RawRCS) {
	t.Helper()
	select {
	case <-raw.Byes:
	case <-time.After(iwftest.Wait):
		t.Fatal("no BYE for the lost session")
	}
}

// submitAll submits texts from A to B, each after the last was answered.
func submitAll(t *testing.T, e *iwftest.ESME, to string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		e.Submit(t, "46700000001", to, s)
		if r := e.NextResp(t); r.CommandStatus != 0 {
			t.Fatalf("submit_sm_resp %v", r.CommandStatus)
		}
	}
}

// rawSeen is what a test asserts of a message at the raw RCS side.
type rawSeen struct {
	session int
	text    string
	status  int
}

// awaitResent reads the raw RCS side until the second session has
// received texts[lost:], and checks what each session got: the first,
// texts in order up to texts[lost] answered lostStatus, then possibly
// some of the ones after it (queued behind it before its answer came,
// issue 13 item 3), answered 200; the second, texts[lost:] in order,
// answered 200, each under the Message-ID it had in the first.
func awaitResent(t *testing.T, raw *iwftest.RawRCS, texts []string, lost, lostStatus int) {
	t.Helper()
	ids := map[string]string{}
	var first, second []rawSeen
	for len(second) < len(texts)-lost {
		m := raw.Next(t)
		if id, ok := ids[m.Text]; ok && id != m.MessageID {
			t.Fatalf("%q sent again as Message-ID %s, first as %s", m.Text, m.MessageID, id)
		}
		ids[m.Text] = m.MessageID
		got := rawSeen{m.Session, m.Text, m.Status}
		switch m.Session {
		case 1:
			i := len(first)
			want := rawSeen{1, "", 200}
			if i < len(texts) {
				want.text = texts[i]
			}
			if i == lost {
				want.status = lostStatus
			}
			if got != want || len(second) > 0 {
				t.Fatalf("session 1, message %d: %+v, want %+v", i, got, want)
			}
			first = append(first, got)
		case 2:
			if i := len(second); got != (rawSeen{2, texts[lost+i], 200}) {
				t.Fatalf("session 2, message %d: %+v, want %q answered 200", i, got, texts[lost+i])
			}
			second = append(second, got)
		default:
			t.Fatalf("message %+v in a third session", got)
		}
	}
	if len(first) <= lost {
		t.Fatalf("session 1 got %+v, want up to %q", first, texts[lost])
	}
}

// Issue 10 item 5, must show: a peer answers 481 mid-stream. The session
// is ended with a BYE and the message, with the ones after it, comes
// again in order on a new session, under the same MSRP Message-ID; no
// message fails, even with on_open_failure: fail.
func TestSession481ResendsInOrderOnNewSession(t *testing.T) {
	raw := iwftest.StartRawRCS(t, iwftest.RawRCSOptions{Answer: func(m iwftest.RawMessage) int {
		if m.Session == 1 && m.Text == "two" {
			return 481
		}
		return 200
	}})
	p := demoPartner()
	p.Policy.OnOpenFailure = FallbackFail
	w := startIWF(t, startRedis(t), raw, "n1", p)
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	texts := []string{"one", "two", "three", "four"}
	submitAll(t, e, "46700000002", texts...)
	awaitResent(t, raw, texts, 1, 481)
	awaitBye(t, raw)
	for range texts {
		if r := receiptOf(t, e.Next(t)); r.State != receipt.Delivered {
			t.Fatalf("receipt %+v", r)
		}
	}
	if n := raw.Sessions(); n != 2 {
		t.Fatalf("%d sessions, want 2", n)
	}
}

// Issue 10 item 5, transaction timeout: a peer that never answers a
// SEND (RFC 4975 section 7.3: the session is then to be treated as
// failed). The session is ended with a BYE and the unanswered message,
// with the ones after it, comes again in order on a new session; each
// gets its DELIVRD receipt.
func TestSessionTransactionTimeoutResendsInOrder(t *testing.T) {
	raw := iwftest.StartRawRCS(t, iwftest.RawRCSOptions{Answer: func(m iwftest.RawMessage) int {
		if m.Session == 1 && m.Text == "two" {
			return 0 // never answered
		}
		return 200
	}})
	p := demoPartner()
	p.Policy.OnOpenFailure = FallbackFail
	// Short, yet far above what a loopback answer takes on a busy
	// machine: only the unanswered SEND reaches it.
	w := startIWFOpts(t, startRedis(t), raw, "n1", []Partner{p}, iwfOptions{msrp: session.Config{TransactionTimeout: 3 * time.Second}})
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	texts := []string{"one", "two", "three", "four"}
	submitAll(t, e, "46700000003", texts...)
	awaitResent(t, raw, texts, 1, 0)
	awaitBye(t, raw)
	for range texts {
		if r := receiptOf(t, e.Next(t)); r.State != receipt.Delivered {
			t.Fatalf("receipt %+v", r)
		}
	}
	if n := raw.Sessions(); n != 2 {
		t.Fatalf("%d sessions, want 2", n)
	}
}

// Issue 10 item 4: the form of a text follows the peer's a=accept-types
// and a=accept-wrapped-types (RFC 4975 section 8.6).
func TestSessionSendsWhatThePeerAccepts(t *testing.T) {
	tests := []struct {
		name, accept, wrapped string
		wantType              string // "" when nothing may be sent
	}{
		{name: "cpim and text", accept: "message/cpim text/plain", wantType: "message/cpim"},
		{name: "text only", accept: "text/plain", wantType: "text/plain;charset=UTF-8"},
		{name: "text only in cpim", accept: "message/cpim", wrapped: "text/plain", wantType: "message/cpim"},
		{name: "wildcard", accept: "*", wantType: "message/cpim"},
		{name: "no text", accept: "image/jpeg application/im-iscomposing+xml"},
	}
	redis := startRedis(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := iwftest.StartRawRCS(t, iwftest.RawRCSOptions{AcceptTypes: tc.accept, AcceptWrappedTypes: tc.wrapped})
			w := startIWF(t, redis, raw, fmt.Sprintf("accept%d", i), demoPartner())
			e := bindESME(t, w.smpp.Addr().String(), "demo")
			to := fmt.Sprintf("4670000010%d", i)
			submitAll(t, e, to, "hello "+tc.name)
			r := receiptOf(t, e.Next(t))
			if tc.wantType == "" {
				if r.State != receipt.Undeliverable {
					t.Fatalf("receipt %+v, want undeliverable", r)
				}
				awaitBye(t, raw)
				select {
				case m := <-raw.Msgs:
					t.Fatalf("sent %q as %s to a peer that takes no text", m.Body, m.ContentType)
				default:
				}
				return
			}
			m := raw.Next(t)
			if m.ContentType != tc.wantType || m.Text != "hello "+tc.name {
				t.Fatalf("got %s %q, want %s %q", m.ContentType, m.Text, tc.wantType, "hello "+tc.name)
			}
			if tc.wantType == "message/cpim" && m.IMDNMessageID == "" {
				t.Fatal("CPIM without imdn.Message-ID")
			}
			if r.State != receipt.Delivered {
				t.Fatalf("receipt %+v", r)
			}
		})
	}
}

// Issue 10 item 4: a text larger than the peer's a=max-size is not sent:
// it fails with a failure receipt, and the session carries the next one.
func TestSessionRespectsMaxSize(t *testing.T) {
	raw := iwftest.StartRawRCS(t, iwftest.RawRCSOptions{AcceptTypes: "text/plain", MaxSize: 100})
	w := startIWF(t, startRedis(t), raw, "n1", demoPartner())
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	long := strings.Repeat("long ", 30)
	submitAll(t, e, "46700000002", long, "short")
	if m := raw.Next(t); m.Text != "short" {
		t.Fatalf("first message at the peer: %d bytes %.20q, want short", len(m.Body), m.Text)
	}
	// Receipts go out from several senders: matched by their text.
	states := map[string]receipt.State{}
	for range 2 {
		r := receiptOf(t, e.Next(t))
		states[strings.Fields(r.Text)[0]] = r.State
	}
	if states["long"] != receipt.Undeliverable || states["short"] != receipt.Delivered {
		t.Fatalf("receipts %v, want long undeliverable, short delivered", states)
	}
	if n := raw.Sessions(); n != 1 {
		t.Fatalf("%d sessions, want 1", n)
	}
}

// sendCPIM sends the IWF a MESSAGE with a CPIM body whose imdn.Message-ID
// is id, as an RCS or IMS client writes it (RFC 3862, RFC 5438).
func sendCPIM(t *testing.T, w *iwf, from, to, id, text string) int {
	t.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	cl, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	var target sip.Uri
	if err := sip.ParseUri("sip:"+to+"@"+w.st.Addr("udp").String()+";user=phone", &target); err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.MESSAGE, target)
	req.AppendHeader(sip.NewHeader("From", "<sip:"+from+"@127.0.0.1;user=phone>;tag=t1"))
	req.AppendHeader(sip.NewHeader("To", "<sip:"+to+"@127.0.0.1;user=phone>"))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/cpim"))
	req.SetBody([]byte("From: <sip:" + from + "@127.0.0.1>\r\nTo: <sip:" + to + "@127.0.0.1>\r\n" +
		"NS: imdn <urn:ietf:params:imdn>\r\nimdn.Message-ID: " + id + "\r\nDateTime: 2024-05-01T10:00:00Z\r\n\r\n" +
		"Content-Type: text/plain;charset=UTF-8\r\n\r\n" + text))
	res, err := cl.Do(testutil.Context(t), req)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode
}

// Issue 10 item 3: whatever id a message came with, its MSRP Message-ID
// is an RFC 4975 ident, the original stays in the CPIM imdn.Message-ID,
// and a message sent again (its first session answered 481) keeps its
// MSRP Message-ID.
func TestSessionMessageIDIsIdent(t *testing.T) {
	ids := []string{
		"f47ac10b-58cc-4372-a567-0e02b3c479a4", // a UUID: 36 characters
		"Msg0001@client.example.com",
		"msg_0002_from_client",
		strings.Repeat("0123456789", 5),
		"abc", // too short
		"ok-ident+1.2%3=",
	}
	raw := iwftest.StartRawRCS(t, iwftest.RawRCSOptions{Answer: func(m iwftest.RawMessage) int {
		if m.Session == 1 {
			return 481
		}
		return 200
	}})
	p, trunk := pagerPartner("ims", []string{"+44"}, pager.Trunk{NextHop: "sip:127.0.0.1:9;transport=udp", AllowedSources: []string{"127.0.0.0/8"}})
	w := startIWFWith(t, startRedis(t), raw, "n1", []Partner{p}, []pager.Trunk{trunk})
	for i, id := range ids {
		if code := sendCPIM(t, w, "+441110001", "+46700000005", id, fmt.Sprintf("text %d", i)); code != 202 {
			t.Fatalf("MESSAGE %s answered %d", id, code)
		}
	}
	first := raw.Next(t) // the one answered 481
	if first.Session != 1 || first.IMDNMessageID != ids[0] {
		t.Fatalf("first SEND %+v", first)
	}
	seen := map[string]bool{}
	next1 := 1 // the next the first session may get
	for i, id := range ids {
		m := raw.Next(t)
		for m.Session == 1 {
			// Queued behind the first before its 481 came (issue 13
			// item 3), in order, and refused as well.
			if m.Status != 481 || next1 >= len(ids) || m.Text != fmt.Sprintf("text %d", next1) || m.IMDNMessageID != ids[next1] {
				t.Fatalf("session 1, after the first: %+v", m)
			}
			next1++
			m = raw.Next(t)
		}
		if m.Session != 2 || m.Text != fmt.Sprintf("text %d", i) {
			t.Fatalf("message %d: session %d text %q", i, m.Session, m.Text)
		}
		if !identRE.MatchString(m.MessageID) {
			t.Errorf("Message-ID %q for id %q is not an RFC 4975 ident", m.MessageID, id)
		}
		if seen[m.MessageID] {
			t.Errorf("Message-ID %q twice", m.MessageID)
		}
		seen[m.MessageID] = true
		if m.IMDNMessageID != id {
			t.Errorf("imdn.Message-ID %q, want the original %q", m.IMDNMessageID, id)
		}
		if identRE.MatchString(id) && m.MessageID != id {
			t.Errorf("ident %q sent as %q", id, m.MessageID)
		}
		if i == 0 && m.MessageID != first.MessageID {
			t.Errorf("sent again as %q, first as %q", m.MessageID, first.MessageID)
		}
	}
}

// Issue 10 item 5: what says the session is gone (481, 506, a
// transaction timeout, the connection lost) sends the message into a new
// session at once, whatever the open-failure policy; a status about the
// message (413, 415) fails that message only, on the same session.
func TestConvSessionLossVersusMessageStatus(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		newCall bool
		state   string // the receipt of the message
	}{
		{"481", &session.StatusError{Code: 481, Comment: "Session Does Not Exist"}, true, "DELIVRD"},
		{"506", &session.StatusError{Code: 506, Comment: "Session Already Bound"}, true, "DELIVRD"},
		{"transaction timeout", &session.StatusError{Code: 408, Comment: "timeout", Local: true}, true, "DELIVRD"},
		{"connection lost", fmt.Errorf("write: %w", session.ErrConnLost), true, "DELIVRD"},
		{"413", &session.StatusError{Code: 413, Comment: "Message Too Large"}, false, "UNDELIV"},
		{"415", &session.StatusError{Code: 415, Comment: "Unsupported Media Type"}, false, "UNDELIV"},
		{"max-size", fmt.Errorf("%w: 900 octets, max-size 100", sipsession.ErrTooLarge), false, "UNDELIV"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pol := unitPolicy()
			pol.OnOpenFailure = FallbackFail
			pol.SuccessReports = false
			pol.RetryDelay, pol.RetryMaxDelay = time.Hour, time.Hour // a retry would not come in the test
			u := startUnit(t, pol)
			u.sessions.mu.Lock()
			u.sessions.sendErrs = []error{tc.err}
			u.sessions.mu.Unlock()
			u.submit(t, "first")
			first := u.nextCall(t)
			if r := u.receipt(t); !strings.Contains(r, "stat:"+tc.state) {
				t.Fatalf("receipt %q, want %s", r, tc.state)
			}
			call := first
			if tc.newCall {
				call = u.nextCall(t)
				if m := call.nextSent(t); !strings.Contains(string(m.Body), "first") {
					t.Fatalf("sent %q into the new session", m.Body)
				}
				select {
				case <-first.done:
				default:
					t.Fatal("the lost session was not ended")
				}
			}
			u.submit(t, "second")
			if m := call.nextSent(t); !strings.Contains(string(m.Body), "second") {
				t.Fatalf("sent %q", m.Body)
			}
			if got, want := u.sessions.openCount(), map[bool]int{false: 1, true: 2}[tc.newCall]; got != want {
				t.Fatalf("%d sessions opened, want %d", got, want)
			}
		})
	}
}

// A peer that takes the session and loses it again under the same
// message gets no third one at once: the open-failure policy decides.
func TestConvSessionLostTwiceAppliesPolicy(t *testing.T) {
	pol := unitPolicy()
	pol.OnOpenFailure = FallbackFail
	u := startUnit(t, pol)
	gone := &session.StatusError{Code: 481, Comment: "Session Does Not Exist"}
	u.sessions.mu.Lock()
	u.sessions.sendErrs = []error{gone, gone}
	u.sessions.mu.Unlock()
	u.submit(t, "doomed")
	if r := u.receipt(t); !strings.Contains(r, "stat:EXPIRED") {
		t.Fatalf("receipt %q", r)
	}
	if n := u.sessions.openCount(); n != 2 {
		t.Fatalf("%d sessions opened, want 2", n)
	}
}

// A REPORT names the MSRP Message-ID, which for an id that is no ident
// differs from the message's own: it still finds the message's receipt.
func TestConvReportMatchedByMSRPMessageID(t *testing.T) {
	pol := unitPolicy()
	pol.SuccessReports = true
	u := startUnit(t, pol)
	p := u.eng.partnerNamed("p")
	q := &queued{ID: "f47ac10b-58cc-4372-a567-0e02b3c479a4", Dir: toRCS, Ingress: ingressSMPP, Text: "uuid", At: u.eng.now().UnixNano(),
		Promote: true, Receipt: &receiptTo{ID: "r1", SrcAddr: "46700000001", DstAddr: "46700000002"}}
	if _, err := u.eng.enqueue(testutil.Context(t), p, testKey("p", "+46700000001", "+46700000002"), "", q); err != nil {
		t.Fatal(err)
	}
	call := u.nextCall(t)
	m := call.nextSent(t)
	if !identRE.MatchString(m.MessageID) || m.MessageID == q.ID {
		t.Fatalf("Message-ID %q", m.MessageID)
	}
	if !strings.Contains(string(m.Body), "imdn.Message-ID: "+q.ID) {
		t.Fatalf("CPIM without the original id:\n%s", m.Body)
	}
	call.events <- sipsession.Event{Kind: sipsession.EventReport, Report: session.Report{MessageID: m.MessageID, Status: 200}}
	if r := u.receipt(t); !strings.Contains(r, "stat:DELIVRD") {
		t.Fatalf("receipt %q", r)
	}
}
