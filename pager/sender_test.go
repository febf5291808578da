package pager_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"iwf/internal/address"
	"iwf/internal/sipstack"
	"iwf/pager"
	"iwf/pager/pagertest"
	"iwf/pager/split"
)

// fastRetry keeps retry tests short: waits of milliseconds, not seconds.
var fastRetry = pager.RetryPolicy{Attempts: 3, Timeout: 400 * time.Millisecond, Backoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, MaxRetryAfter: 2 * time.Second}

// sender builds a Sender on a fresh stack toward one partner whose trunk
// tune adjusts.
func sender(t *testing.T, p *pagertest.Partner, transport string, tune func(*pager.Trunk)) (*pager.Sender, *sipstack.Stack) {
	t.Helper()
	tr := loopbackTrunk("partner")
	tr.NextHop = p.NextHop(transport)
	tr.Retry = fastRetry
	if tune != nil {
		tune(&tr)
	}
	ts, err := pager.NewTrunks([]pager.Trunk{tr})
	if err != nil {
		t.Fatal(err)
	}
	st := client(t)
	s, err := pager.NewSender(pager.SenderConfig{Trunks: ts, Clients: st, Domain: "iwf.example.net"})
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

func outgoing(text string) pager.Outgoing {
	from, _ := address.Parse("+447700900456", address.Options{})
	to, _ := address.Parse("tel:+447700900123", address.Options{})
	return pager.Outgoing{Partner: "partner", From: from, To: to, Text: text}
}

func TestSendDelivers(t *testing.T) {
	p := pagertest.StartPartner(t, nil)
	s, st := sender(t, p, "udp", func(tr *pager.Trunk) { tr.RequestHost = "partner.example" })
	res, err := s.Send(context.Background(), outgoing("hello 👋"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != pager.Delivered || res.Status != 200 || res.Attempts != 1 || res.Transport != "udp" || res.SIPStatus() != 200 {
		t.Fatalf("%+v", res)
	}
	got := p.Received()
	if len(got) != 1 {
		t.Fatalf("%d received", len(got))
	}
	r := got[0]
	if r.Body != "hello 👋" || !strings.HasPrefix(r.ContentType, "text/plain") || r.CallID != res.CallID ||
		r.RequestURI != "sip:+447700900123@partner.example;user=phone" ||
		r.From != "sip:+447700900456@iwf.example.net;user=phone" || r.FromTag == "" || r.Transport != "udp" || r.Contact != "" {
		t.Fatalf("%+v", r)
	}
	// Via carries the listener the request left from: answers come back
	// to the IWF's port.
	if !strings.Contains(r.Via, st.Addr("udp").String()) {
		t.Fatalf("Via %q, listener %s", r.Via, st.Addr("udp"))
	}
}

func TestSendLargeGoesOverTCP(t *testing.T) {
	p := pagertest.StartPartner(t, nil)
	s, _ := sender(t, p, "udp", nil)
	small, err := s.Send(context.Background(), outgoing(strings.Repeat("a", 200)))
	if err != nil || small.Transport != "udp" {
		t.Fatalf("%+v %v", small, err)
	}
	// 1250 bytes of body fit the body limit but not, with headers, the
	// 1300 bytes of RFC 3261 section 18.1.1 on UDP.
	large, err := s.Send(context.Background(), outgoing(strings.Repeat("b", 1250)))
	if err != nil || large.Outcome != pager.Delivered || large.Transport != "tcp" {
		t.Fatalf("%+v %v", large, err)
	}
	got := p.Received()
	if len(got) != 2 || got[1].Transport != "tcp" || len(got[1].Body) != 1250 {
		t.Fatalf("%+v", got)
	}
	if _, err := s.Send(context.Background(), outgoing(strings.Repeat("c", 1301))); !errors.As(err, new(*pager.BodyTooLargeError)) {
		t.Fatalf("over the body limit: %v", err)
	}
}

func TestSendRetries(t *testing.T) {
	tests := []struct {
		name     string
		script   func(n int, r pagertest.Received) pagertest.Answer
		tune     func(*pager.Trunk)
		outcome  pager.Outcome
		status   int
		attempts int
		// sameCSeq says whether the attempts share their CSeq (a retry
		// of an unanswered request) or count up (after an answer).
		sameCSeq bool
	}{
		{name: "503 retry-after then success", outcome: pager.Delivered, status: 202, attempts: 2,
			script: func(n int, _ pagertest.Received) pagertest.Answer {
				if n == 1 {
					return pagertest.Answer{Status: 503, RetryAfter: 1}
				}
				return pagertest.Answer{Status: 202}
			}},
		{name: "500 twice then success", outcome: pager.Delivered, status: 200, attempts: 3,
			script: func(n int, _ pagertest.Received) pagertest.Answer {
				if n < 3 {
					return pagertest.Answer{Status: 500}
				}
				return pagertest.Answer{}
			}},
		{name: "timeout", outcome: pager.TimedOut, status: 0, attempts: 2, sameCSeq: true,
			tune:   func(tr *pager.Trunk) { tr.Retry.Attempts = 2 },
			script: func(int, pagertest.Received) pagertest.Answer { return pagertest.Answer{Drop: true} }},
		{name: "timeout then success", outcome: pager.Delivered, status: 200, attempts: 2, sameCSeq: true,
			script: func(n int, _ pagertest.Received) pagertest.Answer { return pagertest.Answer{Drop: n == 1} }},
		{name: "404 is final", outcome: pager.Rejected, status: 404, attempts: 1,
			script: func(int, pagertest.Received) pagertest.Answer { return pagertest.Answer{Status: 404} }},
		{name: "486 is final", outcome: pager.Rejected, status: 486, attempts: 1,
			script: func(int, pagertest.Received) pagertest.Answer { return pagertest.Answer{Status: 486} }},
		{name: "5xx until the attempts run out", outcome: pager.Failed, status: 502, attempts: 3,
			script: func(int, pagertest.Received) pagertest.Answer { return pagertest.Answer{Status: 502} }},
		{name: "retry-after beyond the policy ends it", outcome: pager.Failed, status: 503, attempts: 1,
			script: func(int, pagertest.Received) pagertest.Answer { return pagertest.Answer{Status: 503, RetryAfter: 3600} }},
		{name: "408 is retried", outcome: pager.Delivered, status: 200, attempts: 2,
			script: func(n int, _ pagertest.Received) pagertest.Answer {
				if n == 1 {
					return pagertest.Answer{Status: 408}
				}
				return pagertest.Answer{}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pagertest.StartPartner(t, tc.script)
			s, _ := sender(t, p, "udp", tc.tune)
			start := time.Now()
			res, err := s.Send(context.Background(), outgoing("retry me"))
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tc.outcome || res.Status != tc.status || res.Attempts != tc.attempts {
				t.Fatalf("%+v (%s), want %v %d after %d", res, res.Outcome, tc.outcome, tc.status, tc.attempts)
			}
			got := p.Received()
			if len(got) != tc.attempts {
				t.Fatalf("partner got %d requests", len(got))
			}
			for i := 1; i < len(got); i++ {
				if got[i].CallID != got[0].CallID || got[i].FromTag != got[0].FromTag {
					t.Fatalf("attempt %d changed Call-ID or tag: %+v", i+1, got[i])
				}
				if (got[i].CSeq == got[i-1].CSeq) != tc.sameCSeq {
					t.Fatalf("CSeq %d then %d", got[i-1].CSeq, got[i].CSeq)
				}
			}
			if tc.name == "503 retry-after then success" && time.Since(start) < time.Second {
				t.Fatalf("retried after %v, before Retry-After", time.Since(start))
			}
		})
	}
}

func TestSendText(t *testing.T) {
	p := pagertest.StartPartner(t, nil)
	s, _ := sender(t, p, "udp", func(tr *pager.Trunk) {
		tr.MaxBodyBytes = 40
		tr.Overflow = pager.Overflow{Policy: split.PolicySplit, Counter: split.CounterSuffix}
	})
	text := "The quick brown fox jumps over the lazy dog and keeps running far away"
	results, err := s.SendText(context.Background(), outgoing(text))
	if err != nil {
		t.Fatal(err)
	}
	got := p.Received()
	if len(results) < 2 || len(got) != len(results) {
		t.Fatalf("%d results, %d received", len(results), len(got))
	}
	for i, r := range got {
		if len(r.Body) > 40 || !strings.HasSuffix(r.Body, "/"+itoa(len(got))+")") {
			t.Fatalf("part %d %q", i, r.Body)
		}
		if results[i].Outcome != pager.Delivered {
			t.Fatalf("%+v", results[i])
		}
	}
	if results[1].CallID != results[0].CallID+"-2" {
		t.Fatalf("Call-IDs %s %s", results[0].CallID, results[1].CallID)
	}

	t.Run("truncate", func(t *testing.T) {
		p := pagertest.StartPartner(t, nil)
		s, _ := sender(t, p, "udp", func(tr *pager.Trunk) {
			tr.MaxBodyBytes = 20
			tr.Overflow.Policy = split.PolicyTruncate
		})
		if _, err := s.SendText(context.Background(), outgoing(text)); err != nil {
			t.Fatal(err)
		}
		if got := p.Received(); len(got) != 1 || got[0].Body != "The quick brown…" {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("reject", func(t *testing.T) {
		p := pagertest.StartPartner(t, nil)
		s, _ := sender(t, p, "udp", func(tr *pager.Trunk) {
			tr.MaxBodyBytes = 20
			tr.Overflow.Policy = split.PolicyReject
		})
		if _, err := s.SendText(context.Background(), outgoing(text)); !errors.Is(err, split.ErrOverflow) {
			t.Fatal(err)
		}
		if len(p.Received()) != 0 {
			t.Fatal("a rejected text was sent")
		}
	})
	t.Run("stops at the first failed part", func(t *testing.T) {
		p := pagertest.StartPartner(t, func(n int, _ pagertest.Received) pagertest.Answer {
			if n == 2 {
				return pagertest.Answer{Status: 480}
			}
			return pagertest.Answer{}
		})
		s, _ := sender(t, p, "udp", func(tr *pager.Trunk) { tr.MaxBodyBytes = 40 })
		results, err := s.SendText(context.Background(), outgoing(text))
		if err != nil || len(results) != 2 || results[1].Outcome != pager.Rejected || results[1].SIPStatus() != 480 {
			t.Fatalf("%+v %v", results, err)
		}
	})
}

func TestSendErrors(t *testing.T) {
	p := pagertest.StartPartner(t, func(int, pagertest.Received) pagertest.Answer { return pagertest.Answer{Drop: true} })
	s, _ := sender(t, p, "udp", nil)
	m := outgoing("hi")
	m.Partner = "nobody"
	if _, err := s.Send(context.Background(), m); !errors.Is(err, pager.ErrUnknownPartner) {
		t.Fatal(err)
	}
	if _, err := s.SendText(context.Background(), m); !errors.Is(err, pager.ErrUnknownPartner) {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-p.Got()
		cancel()
	}()
	if _, err := s.Send(ctx, outgoing("hi")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled send: %v", err)
	}
	if (pager.Result{Outcome: pager.TimedOut}).SIPStatus() != 408 || (pager.Result{Outcome: pager.Failed}).SIPStatus() != 503 {
		t.Fatal("SIPStatus without an answer")
	}
	if pager.Delivered.String() != "delivered" || pager.Outcome(9).String() != "Outcome(9)" {
		t.Fatal("Outcome names")
	}
}

func TestSendOverTCPTrunk(t *testing.T) {
	p := pagertest.StartPartner(t, nil)
	s, _ := sender(t, p, "tcp", nil)
	res, err := s.Send(context.Background(), outgoing("tcp trunk"))
	if err != nil || res.Outcome != pager.Delivered || res.Transport != "tcp" {
		t.Fatalf("%+v %v", res, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// A CPM trunk sends the text in message/cpim with its imdn.Message-ID and
// never splits it: over the body limit nothing is sent and the error says
// so, for the caller's Large Message Mode.
func TestSendTextCPM(t *testing.T) {
	p := pagertest.StartPartner(t, nil)
	s, _ := sender(t, p, "udp", func(tr *pager.Trunk) { tr.Profile = pager.ProfileCPM; tr.MaxBodyBytes = 400 })
	m := outgoing("hi there")
	m.MessageID = "id-1"
	res, err := s.SendText(context.Background(), m)
	if err != nil || len(res) != 1 || res[0].Outcome != pager.Delivered {
		t.Fatalf("%+v, %v", res, err)
	}
	got := p.Received()
	if len(got) != 1 || got[0].ContentType != "message/cpim" ||
		!strings.Contains(got[0].Body, "imdn.Message-ID: id-1\r\n") || !strings.HasSuffix(got[0].Body, "\r\n\r\nhi there") {
		t.Fatalf("received %+v", got)
	}
	_, err = s.SendText(context.Background(), outgoing(strings.Repeat("long ", 80)))
	var tooLarge *pager.BodyTooLargeError
	if !errors.As(err, &tooLarge) || tooLarge.Limit != 400 {
		t.Fatalf("long text: %v, want a *BodyTooLargeError", err)
	}
	if n := len(p.Received()); n != 1 {
		t.Fatalf("%d MESSAGEs, want the first alone", n)
	}
}
