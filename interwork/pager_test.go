package interwork

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"iwf/internal/testutil"
	"iwf/pager"
	"iwf/pager/pagertest"
	"iwf/pager/split"
	"iwf/session"
)

// sendMESSAGE sends a MESSAGE to the IWF from a fresh sipgo client and
// returns the final status.
func sendMESSAGE(t testing.TB, w *iwf, from, to, body string) int {
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
	req.AppendHeader(sip.NewHeader("Content-Type", "text/plain"))
	req.SetBody([]byte(body))
	res, err := cl.Do(testutil.Context(t), req)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode
}

func pagerPartner(name string, numbers []string, trunk pager.Trunk) (Partner, pager.Trunk) {
	p := demoPartner()
	p.Name, p.Numbers, p.DeliverVia = name, numbers, "sip"
	trunk.Partner = name
	return p, trunk.WithDefaults()
}

// A MESSAGE from a pager partner is answered 202 once queued and reaches
// the RCS side in an MSRP session.
func TestMessageBecomesSession(t *testing.T) {
	rcs := startRCS(t, 0)
	p, trunk := pagerPartner("ims", []string{"+44"}, pager.Trunk{NextHop: "sip:127.0.0.1:9;transport=udp", AllowedSources: []string{"127.0.0.0/8"}})
	w := startIWFWith(t, startRedis(t), rcs, "n1", []Partner{p}, []pager.Trunk{trunk})
	if code := sendMESSAGE(t, w, "+441110001", "+46700000005", "hello from ims"); code != 202 {
		t.Fatalf("MESSAGE answered %d, want 202", code)
	}
	m := rcs.Next(t)
	if m.Text != "hello from ims" {
		t.Fatalf("RCS side got %q", m.Text)
	}
}

// Flow 2 toward a SIP pager partner: a message over its body limit is
// split into several MESSAGEs, or truncated, per the partner's overflow.
func TestLongMSRPMessageToPagerPartner(t *testing.T) {
	long := strings.Repeat("word ", 50) + "end" // 253 bytes
	tests := []struct {
		name   string
		policy split.Policy
		check  func(t *testing.T, bodies []string)
		parts  int
	}{
		{"split", split.PolicySplit, func(t *testing.T, bodies []string) {
			if got := strings.Join(bodies, " "); got != long {
				t.Fatalf("parts join to %q", got)
			}
		}, 3},
		{"truncate", split.PolicyTruncate, func(t *testing.T, bodies []string) {
			if !strings.HasSuffix(bodies[0], "…") || len(bodies[0]) > 100 || !strings.HasPrefix(long, strings.TrimSuffix(bodies[0], "…")) {
				t.Fatalf("truncated to %q", bodies[0])
			}
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcs := startRCS(t, 0)
			partnerSide := pagertest.StartPartner(t, func(int, pagertest.Received) pagertest.Answer { return pagertest.Answer{} })
			p, trunk := pagerPartner("ims", []string{"+44"}, pager.Trunk{
				NextHop: partnerSide.NextHop("udp"), AllowedSources: []string{"127.0.0.1"}, MaxBodyBytes: 100,
				Overflow: pager.Overflow{Policy: tt.policy},
			})
			w := startIWFWith(t, startRedis(t), rcs, "n1", []Partner{p}, []pager.Trunk{trunk})
			call := rcsOpen(t, rcs, w, "sip:+46700000009@rcs.test", "sip:+441110002@iwf.test;user=phone")
			if _, err := call.Send(testutil.Context(t), &session.OutgoingMessage{ContentType: "text/plain", Body: []byte(long), SuccessReport: true}); err != nil {
				t.Fatal(err)
			}
			var bodies []string
			for range tt.parts {
				select {
				case r := <-partnerSide.Got():
					if !strings.Contains(r.To, "+441110002") {
						t.Fatalf("MESSAGE To %s", r.To)
					}
					bodies = append(bodies, r.Body)
				case <-time.After(20 * time.Second):
					t.Fatalf("%d MESSAGEs, want %d", len(bodies), tt.parts)
				}
			}
			tt.check(t, bodies)
			if r := awaitReport(t, call); r.Status != 200 {
				t.Fatalf("REPORT %d", r.Status)
			}
			select {
			case r := <-partnerSide.Got():
				t.Fatalf("one MESSAGE too many: %q", r.Body)
			default:
			}
		})
	}
}

// Under the threshold policy the first messages are relayed pager-mode as
// MESSAGEs to the RCS side; the one that reaches the threshold opens the
// session.
func TestThresholdPromotion(t *testing.T) {
	rcs := startRCS(t, 0)
	rcsPager := pagertest.StartPartner(t, func(int, pagertest.Received) pagertest.Answer { return pagertest.Answer{} })
	p := demoPartner()
	p.Policy.Promotion, p.Policy.Threshold = PromoteThreshold, 3
	rcsTrunk := pager.Trunk{Partner: "rcs", NextHop: rcsPager.NextHop("udp"), AllowedSources: []string{"127.0.0.2"}}
	w := startIWFWith(t, startRedis(t), rcs, "n1", []Partner{p}, []pager.Trunk{rcsTrunk.WithDefaults()})
	e := bindESME(t, w.smpp.Addr().String(), "demo")
	for _, s := range []string{"m1", "m2", "m3"} {
		e.Submit(t, "46700000001", "46700000006", s)
		e.NextResp(t)
	}
	for _, want := range []string{"m1", "m2"} {
		select {
		case r := <-rcsPager.Got():
			if r.Body != want {
				t.Fatalf("pager-mode relay %q, want %q", r.Body, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no pager-mode relay")
		}
	}
	if m := rcs.Next(t); m.Text != "m3" {
		t.Fatalf("session got %q, want m3", m.Text)
	}
	if n := len(rcs.Calls); n != 1 {
		t.Fatalf("%d sessions", n)
	}
}

var _ = context.Background
