package interwork

import (
	"fmt"
	"iwf/smpp/receipt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/address"
	"iwf/internal/cpim"
	"iwf/internal/iwftest"
	"iwf/internal/testutil"
	"iwf/pager"
)

// rcsPagerTrunk is the RCS side's pager trunk in the CPM profile, its
// next hop the test core, its source loopback.
func rcsPagerTrunk(rcs *rcsPeer, maxBody int) pager.Trunk {
	return pager.Trunk{
		Partner: "rcs", NextHop: "sip:" + rcs.TCP() + ";transport=tcp", AllowedSources: []string{"127.0.0.1"},
		Profile: pager.ProfileCPM, MaxBodyBytes: maxBody,
	}.WithDefaults()
}

// sendRCSMessage is an RCS client's standalone message as its core
// forwards it: a sipgo UA of the test's own sends a MESSAGE with a CPIM
// body and the OMA CPM headers, and returns the final status.
func sendRCSMessage(t testing.TB, w *iwf, from, to string, doc []byte) int {
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
	req.AppendHeader(sip.NewHeader("From", "<sip:"+from+"@rcs.test>;tag=rcs1"))
	req.AppendHeader(sip.NewHeader("To", "<tel:"+to+">"))
	req.AppendHeader(sip.NewHeader("P-Preferred-Service", pager.ICSIStandalone))
	req.AppendHeader(sip.NewHeader("Accept-Contact", pager.AcceptContactICSI(pager.ICSIStandalone)))
	req.AppendHeader(sip.NewHeader("Conversation-ID", "c0nv-1"))
	req.AppendHeader(sip.NewHeader("Contribution-ID", "c0ntrib-1"))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/cpim"))
	req.SetBody(doc)
	res, err := cl.Do(testutil.Context(t), req)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode
}

// Issue 10 item 1: a standalone message from the RCS network toward an
// SMS user is accepted (before, 403 "unknown partner"), reaches the
// partner's receiving ESME as a deliver_sm, and once the ESME took it
// (deliver_sm_resp OK) the delivery notification the sender asked for
// comes back to it as an IMDN in a MESSAGE.
func TestRCSPagerMessageToSMSWithIMDN(t *testing.T) {
	rcs := startRCS(t, 0)
	w := startIWFWith(t, startRedis(t), rcs, "n1", []Partner{demoPartner()}, []pager.Trunk{rcsPagerTrunk(rcs, 0)})
	esme := iwftest.BindESMEWith(t, w.smpp.Addr().String(), "demo", "pw", iwftest.ESMEOptions{Receiver: true})
	// An id with "@" and "_", as deployed clients write them.
	const msgID = "Xy_42@client.rcs.test"
	doc, err := cpim.Wrap("<sip:+46700000009@rcs.test>", "<tel:+441110002>", "text/plain;charset=UTF-8", []byte("hello from rcs"),
		cpim.IMDN{MessageID: msgID, DateTime: time.Now(), Disposition: cpim.PositiveDelivery | cpim.NegativeDelivery})
	if err != nil {
		t.Fatal(err)
	}
	body, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if code := sendRCSMessage(t, w, "+46700000009", "+441110002", body); code != 202 {
		t.Fatalf("MESSAGE answered %d, want 202", code)
	}
	d, ok := esme.Next(t).(*pdu.DeliverSM)
	if !ok {
		t.Fatal("no deliver_sm")
	}
	if s, _ := d.Message.GetMessage(); s != "hello from rcs" {
		t.Fatalf("deliver_sm %q", s)
	}
	if src, dst := d.SourceAddr.Address(), d.DestAddr.Address(); !strings.HasSuffix(src, "46700000009") || !strings.HasSuffix(dst, "441110002") {
		t.Fatalf("deliver_sm from %q to %q", src, dst)
	}
	m := rcs.NextPager(t)
	if m.CPIM == nil || !m.CPIM.IsNotification() {
		t.Fatalf("MESSAGE to the sender is no IMDN: %s", m.Request.Body())
	}
	n, err := m.CPIM.Notification()
	if err != nil || n.MessageID != msgID || n.Status != cpim.StatusDelivered {
		t.Fatalf("notification %+v, %v", n, err)
	}
	if to := m.Request.To(); to == nil || !strings.Contains(to.Address.String(), "+46700000009") {
		t.Fatalf("IMDN To %v", m.Request.To())
	}
	if f := m.CPIM.From.URI; f != "tel:+441110002" {
		t.Fatalf("IMDN CPIM From %q", f)
	}
}

// A standalone message from RCS joins the conversation an MSRP session
// between the same two users uses: one key, whichever way it came.
func TestRCSPagerMessageJoinsSessionConversation(t *testing.T) {
	u := startUnit(t, unitPolicy())
	from, err := address.Parse("sip:+46700000009@rcs.test", address.Options{})
	if err != nil {
		t.Fatal(err)
	}
	to, err := address.Parse("tel:+441110002", address.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := &pager.Message{ID: "m1", Partner: "rcs", From: from, To: to, Text: "hi", ReceivedAt: time.Now()}
	if err := u.eng.Accept(testutil.Context(t), m); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	// Incoming keys a session by the INVITE's From and To URIs.
	key := convKey{"p", readParty("sip:+441110002@iwf.test;user=phone"), readParty("sip:+46700000009@rcs.test")}
	testutil.Eventually(t, func() bool { return u.sms.sends() == 1 }, "the message was not sent as SMS")
	u.st.mu.Lock()
	seen := u.st.seen[key.String()+"\x00m1"]
	u.st.mu.Unlock()
	if !seen {
		t.Fatalf("message not queued in the session's conversation %s", key)
	}
}

// Issue 10 item 2: pager mode toward RCS (promotion never) sends OMA CPM
// standalone messages: message/cpim with the IMDN headers, the
// standalone ICSI in P-Preferred-Service and Accept-Contact. A text too
// large for the trunk's body limit goes in Large Message Mode: an MSRP
// session with the large-message ICSI for that one message, ended with a
// BYE once the message was confirmed.
func TestPagerModeTowardRCSIsCPM(t *testing.T) {
	rcs := startRCS(t, 0)
	p := demoPartner()
	p.Policy.Promotion = PromoteNever
	w := startIWFWith(t, startRedis(t), rcs, "n1", []Partner{p}, []pager.Trunk{rcsPagerTrunk(rcs, 400)})
	e := bindESME(t, w.smpp.Addr().String(), "demo")

	e.Submit(t, "46700000001", "46700000006", "short one")
	e.NextResp(t)
	m := rcs.NextPager(t)
	header := func(name string) string {
		if h := m.Request.GetHeader(name); h != nil {
			return h.Value()
		}
		return ""
	}
	if ct := header("Content-Type"); ct != "message/cpim" {
		t.Fatalf("Content-Type %q", ct)
	}
	if ps := header("P-Preferred-Service"); ps != "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.msg" {
		t.Fatalf("P-Preferred-Service %q", ps)
	}
	if ac := header("Accept-Contact"); ac != `*;+g.3gpp.icsi-ref="urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.msg"` {
		t.Fatalf("Accept-Contact %q", ac)
	}
	if header("Conversation-ID") == "" || header("Contribution-ID") == "" {
		t.Fatal("no Conversation-ID / Contribution-ID")
	}
	if m.CPIM == nil {
		t.Fatalf("body is no CPIM: %s", m.Request.Body())
	}
	i, err := m.CPIM.IMDN()
	if err != nil || i.MessageID == "" || i.Disposition != cpim.PositiveDelivery|cpim.NegativeDelivery {
		t.Fatalf("imdn headers %+v, %v", i, err)
	}
	if string(m.CPIM.Body) != "short one" || m.CPIM.From.URI != "tel:+46700000001" {
		t.Fatalf("cpim from %q body %q", m.CPIM.From.URI, m.CPIM.Body)
	}

	long := strings.Repeat("large message ", 11) + "end" // 157 characters: one SMS, too large for 400 bytes in CPIM
	e.Submit(t, "46700000001", "46700000006", long)
	e.NextResp(t)
	got := rcs.Next(t)
	if got.Text != long {
		t.Fatalf("large message %q", got.Text)
	}
	if got.CPIM == nil {
		t.Fatal("large message not in CPIM")
	}
	if i, err := got.CPIM.IMDN(); err != nil || i.MessageID == "" {
		t.Fatalf("large message imdn %+v, %v", i, err)
	}
	callID := got.Call.CallID()
	if ps := rcs.InviteHeader(callID, "P-Preferred-Service"); ps != "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.largemsg" {
		t.Fatalf("INVITE P-Preferred-Service %q", ps)
	}
	if ac := rcs.InviteHeader(callID, "Accept-Contact"); ac != `*;+g.3gpp.icsi-ref="urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.largemsg"` {
		t.Fatalf("INVITE Accept-Contact %q", ac)
	}
	select {
	case <-got.Call.Done():
	case <-time.After(iwftest.Wait):
		t.Fatal("the large message session was not ended")
	}
	select {
	case pm := <-rcs.Pager:
		t.Fatalf("the large message also came as a MESSAGE: %s", pm.Request.Body())
	default:
	}
}

// An RCS client that reports on a session message with an IMDN in a
// MESSAGE (its session is gone, or it sends all its notifications that
// way) gets 202 rather than 415, and the report becomes the SMS sender's
// receipt.
func TestRCSPagerNotificationBecomesReceipt(t *testing.T) {
	u := startUnit(t, unitPolicy())
	u.submit(t, "report me")
	sent := u.nextCall(t).nextSent(t)
	sms, err := address.Parse("+46700000001", address.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rcsUser, err := address.Parse("sip:+46700000002@rcs.test", address.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := &cpim.Notification{MessageID: sent.MessageID, Kind: cpim.DeliveryNotification, Status: cpim.StatusDelivered}
	m := &pager.Message{ID: "n1", Partner: "rcs", From: rcsUser, To: sms, Notification: n, ReceivedAt: time.Now()}
	if err := u.eng.Accept(testutil.Context(t), m); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if r := u.receipt(t); !strings.Contains(r, "stat:DELIVRD") {
		t.Fatalf("receipt %q", r)
	}
}

// The IMDN of an RCS client about a message an SMS user sent, as a
// MESSAGE through the RCS core, is answered 202.
func TestRCSPagerNotificationAccepted(t *testing.T) {
	rcs := startRCS(t, 0)
	w := startIWFWith(t, startRedis(t), rcs, "n1", []Partner{demoPartner()}, []pager.Trunk{rcsPagerTrunk(rcs, 0)})
	orig, err := cpim.Wrap("<tel:+441110002>", "<sip:+46700000009@rcs.test>", "text/plain", []byte("hi"),
		cpim.IMDN{MessageID: "sent-1", DateTime: time.Now(), Disposition: cpim.PositiveDelivery})
	if err != nil {
		t.Fatal(err)
	}
	n, err := cpim.NewNotification(orig, cpim.DeliveryNotification, cpim.StatusDelivered)
	if err != nil {
		t.Fatal(err)
	}
	nm, err := cpim.NotificationMessage(orig, n, "imdn-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	body, err := nm.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if code := sendRCSMessage(t, w, "+46700000009", "+441110002", body); code != 202 {
		t.Fatalf("IMDN MESSAGE answered %d, want 202", code)
	}
}

// Issue 10 item 2, Large Message Mode on the wire: a peer written for
// the test (a sipgo dialog server and a raw MSRP listener) reads the
// INVITE of the session opened for one text too large for a MESSAGE. It
// names the CPM large-message service and only it, in Contact,
// Accept-Contact and P-Preferred-Service, and offers a=sendonly; the
// text arrives and the session ends with a BYE.
func TestLargeMessageInviteOnTheWire(t *testing.T) {
	raw := iwftest.StartRawRCS(t, iwftest.RawRCSOptions{})
	p := demoPartner()
	p.Policy.Promotion = PromoteNever
	tr := pager.Trunk{
		Partner: "rcs", NextHop: "sip:" + raw.TCP() + ";transport=tcp", AllowedSources: []string{"127.0.0.1"},
		Profile: pager.ProfileCPM, MaxBodyBytes: 400,
	}.WithDefaults()
	w := startIWFWith(t, startRedis(t), raw, "n1", []Partner{p}, []pager.Trunk{tr})
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	long := strings.Repeat("large message ", 11) + "end"
	submitAll(t, e, "46700000007", long)

	var inv *sip.Request
	select {
	case inv = <-raw.Invites:
	case <-time.After(iwftest.Wait):
		t.Fatal("no INVITE")
	}
	const tag = `+g.3gpp.icsi-ref="urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.largemsg"`
	header := func(name string) string {
		if h := inv.GetHeader(name); h != nil {
			return h.Value()
		}
		return ""
	}
	if ct := header("Contact"); !strings.Contains(ct, ";"+tag) {
		t.Errorf("Contact %q, want the large-message feature tag", ct)
	}
	if ac := header("Accept-Contact"); ac != "*;"+tag {
		t.Errorf("Accept-Contact %q", ac)
	}
	if n := len(inv.GetHeaders("Accept-Contact")); n != 1 {
		t.Errorf("%d Accept-Contact headers, want 1", n)
	}
	if ps := header("P-Preferred-Service"); ps != pager.ICSILargeMessage {
		t.Errorf("P-Preferred-Service %q", ps)
	}
	if s := inv.String(); strings.Contains(s, "cpm.session") || strings.Contains(s, "sip-im") {
		t.Errorf("INVITE names another service:\n%s", s)
	}
	sdp := strings.ReplaceAll(string(inv.Body()), "\r\n", "\n")
	if !strings.Contains(sdp, "\na=sendonly\n") || strings.Contains(sdp, "sendrecv") {
		t.Errorf("offer without a=sendonly:\n%s", sdp)
	}
	if m := raw.Next(t); m.Text != long || m.IMDNMessageID == "" {
		t.Fatalf("large message %q, imdn.Message-ID %q", m.Text, m.IMDNMessageID)
	}
	awaitBye(t, raw)
}

// imdnMessage is the IMDN an RCS client sends about a standalone
// message it got: a CPIM document around message/imdn+xml.
func imdnMessage(t testing.TB, got *cpim.Message, status cpim.Status) []byte {
	t.Helper()
	n, err := cpim.NewNotification(got, cpim.DeliveryNotification, status)
	if err != nil {
		t.Fatal(err)
	}
	nm, err := cpim.NotificationMessage(got, n, "imdn-"+status.String(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	body, err := nm.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// Issue 10, pager mode toward RCS with a receipt asked for: the CPM
// standalone message asks for positive-delivery, so its 202 only says
// the RCS core took it. The SMS sender's receipt follows the IMDN that
// comes later in a MESSAGE (DELIVRD on "delivered", UNDELIV on
// "failed"), matched by imdn.Message-ID through the store; with no IMDN
// the provisional UNKNOWN err:005 goes at the end of the validity.
func TestPagerModeReceiptFollowsIMDN(t *testing.T) {
	tests := []struct {
		name   string
		status cpim.Status // 0 sends no IMDN
		// other sends the IMDN to another node than the sender's.
		other bool
		want  receipt.State
		err   int
	}{
		{name: "delivered", status: cpim.StatusDelivered, want: receipt.Delivered},
		{name: "delivered to another node", status: cpim.StatusDelivered, other: true, want: receipt.Delivered},
		{name: "failed", status: cpim.StatusFailed, want: receipt.Undeliverable, err: 1},
		{name: "no imdn", want: receipt.Unknown, err: 5},
	}
	redis := startRedis(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rcs := startRCS(t, 0)
			p := demoPartner()
			// A partner of its own: receipts are scheduled per partner,
			// and an earlier subtest's receipt, sent but not yet settled
			// when its node stopped, is owed still (at least once); the
			// clock skew below would hand it to this subtest's ESME.
			p.Name = fmt.Sprintf("imdn%d", i)
			p.Policy.Promotion = PromoteNever
			var skew atomic.Int64
			now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			w := startIWFOpts(t, redis, rcs, fmt.Sprintf("imdn%d", i), []Partner{p},
				iwfOptions{trunks: []pager.Trunk{rcsPagerTrunk(rcs, 0)}, now: now})
			e := bindESME(t, w.smpp.Addr().String(), p.Name)
			sms, rcsUser := "4670000003"+strconv.Itoa(i), "4670000004"+strconv.Itoa(i)
			e.Submit(t, sms, rcsUser, "tell me when it is read")
			id := e.NextResp(t).MessageID
			m := rcs.NextPager(t)
			if m.CPIM == nil {
				t.Fatalf("MESSAGE is no CPIM: %s", m.Request.Body())
			}
			if i, err := m.CPIM.IMDN(); err != nil || i.Disposition&cpim.PositiveDelivery == 0 {
				t.Fatalf("imdn headers %+v, %v: no positive-delivery asked", i, err)
			}
			if tc.status != 0 {
				to := w
				if tc.other {
					to = startIWFOpts(t, redis, rcs, fmt.Sprintf("imdn%d-other", i), []Partner{p},
						iwfOptions{trunks: []pager.Trunk{rcsPagerTrunk(rcs, 0)}, now: now})
				}
				if code := sendRCSMessage(t, to, "+"+rcsUser, "+"+sms, imdnMessage(t, m.CPIM, tc.status)); code != 202 {
					t.Fatalf("IMDN answered %d", code)
				}
			} else {
				// Past the message's validity: the provisional receipt
				// is due.
				skew.Store(int64(p.Policy.MaxAge + time.Hour))
			}
			r := receiptOf(t, e.Next(t))
			if r.ID != id || r.State != tc.want || r.ErrorCode != tc.err {
				t.Fatalf("receipt %+v, want %s err %d for %s", r, tc.want, tc.err, id)
			}
		})
	}
}
