package pager_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/cpim"
	"iwf/pager"
)

func TestInboundAccepts(t *testing.T) {
	cpimBody := "From: <sip:+447700900456@ims.partner.example>\r\n" +
		"To: <tel:+447700900123>\r\n" +
		"NS: imdn <urn:ietf:params:imdn>\r\n" +
		"imdn.Message-ID: Kq3wz9\r\n" +
		"imdn.Disposition-Notification: positive-delivery, display\r\n" +
		"\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		"hello from RCS 👋"
	tests := []struct {
		name, transport, ct, body string
		text                      string
		imdnID                    string
		disposition               cpim.Disposition
	}{
		{name: "utf-8 over udp", transport: "udp", ct: "text/plain;charset=UTF-8", body: "héllo 👋", text: "héllo 👋"},
		{name: "utf-8 over tcp", transport: "tcp", ct: "text/plain", body: "over tcp", text: "over tcp"},
		{name: "latin-1 converted", transport: "udp", ct: "text/plain; charset=ISO-8859-1", body: "caf\xe9 cr\xe8me", text: "café crème"},
		{name: "utf-16 converted", transport: "udp", ct: "text/plain; charset=UTF-16BE", body: "\x00h\x00i\x00!", text: "hi!"},
		{name: "cpim unwrapped with imdn", transport: "udp", ct: "message/cpim", body: cpimBody, text: "hello from RCS 👋",
			imdnID: "Kq3wz9", disposition: cpim.PositiveDelivery | cpim.Display},
	}
	iw := startIWF(t, []pager.Trunk{loopbackTrunk("uk")}, nil)
	c := client(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := message(t, iw, tc.transport, tc.ct, tc.body)
			res := send(t, c, req)
			if res.StatusCode != 202 {
				t.Fatalf("%d %s %v", res.StatusCode, res.Reason, res.GetHeader("Warning"))
			}
			var got *pager.Message
			for _, m := range iw.store.Messages() {
				if m.CallID == req.CallID().Value() {
					got = &m
				}
			}
			if got == nil {
				t.Fatal("202 without a stored message")
			}
			if got.Text != tc.text || got.Partner != "uk" || got.From.String() != "tel:+447700900456" || got.To.String() != "tel:+447700900123" {
				t.Fatalf("stored %+v", got)
			}
			mt, _, _ := strings.Cut(strings.ToLower(tc.ct), ";")
			if got.ContentType != mt || got.IMDN.MessageID != tc.imdnID || got.IMDN.Disposition != tc.disposition {
				t.Fatalf("stored %+v", got)
			}
			tag, _ := req.From().Params.Get("tag")
			if got.ID != pager.DedupID("uk", req.CallID().Value(), 1, tag) || got.ReceivedAt.IsZero() {
				t.Fatalf("id %q received %v", got.ID, got.ReceivedAt)
			}
		})
	}
}

func TestInboundRefusals(t *testing.T) {
	small := loopbackTrunk("uk")
	small.MaxBodyBytes = 100
	iw := startIWF(t, []pager.Trunk{small}, nil)
	c := client(t)
	tests := []struct {
		name   string
		edit   func(*sip.Request)
		ct     string
		body   string
		status int
		header string // a header the answer must carry
	}{
		{name: "unsupported media type", ct: "application/json", body: `{"a":1}`, status: 415, header: "Accept"},
		{name: "cpim around html", ct: "message/cpim", body: "From: <sip:a@b>\r\n\r\nContent-Type: text/html\r\n\r\n<p>", status: 415, header: "Accept"},
		{name: "unknown charset", ct: "text/plain; charset=x-martian", body: "hi", status: 415, header: "Accept"},
		{name: "body over the trunk limit", ct: "text/plain", body: strings.Repeat("x", 101), status: 413},
		{name: "empty body", ct: "text/plain", body: "", status: 400},
		{name: "no content type", ct: "", body: "hi", status: 400},
		{name: "malformed cpim", ct: "message/cpim", body: "not cpim at all", status: 400},
		{name: "invalid utf-8", ct: "text/plain", body: "a\xffb", status: 400},
		{name: "bad content type", ct: "text/", body: "hi", status: 400},
		{name: "gzip content coding", ct: "text/plain", body: "hi", status: 415, header: "Accept-Encoding",
			edit: func(r *sip.Request) { r.AppendHeader(sip.NewHeader("Content-Encoding", "gzip")) }},
		{name: "require an extension", ct: "text/plain", body: "hi", status: 420, header: "Unsupported",
			edit: func(r *sip.Request) { r.AppendHeader(sip.NewHeader("Require", "100rel")) }},
		{name: "from without tag", ct: "text/plain", body: "hi", status: 400,
			edit: func(r *sip.Request) { r.From().Params = sip.NewParams() }},
		{name: "from not an identity", ct: "text/plain", body: "hi", status: 400,
			edit: func(r *sip.Request) { r.From().Address = sip.Uri{Scheme: "sip", Host: "example.com"} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := message(t, iw, "udp", tc.ct, tc.body)
			if tc.edit != nil {
				tc.edit(req)
			}
			res := send(t, c, req)
			if res.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d (%v)", res.StatusCode, res.Reason, tc.status, res.GetHeader("Warning"))
			}
			if tc.header != "" && res.GetHeader(tc.header) == nil {
				t.Fatalf("%d without %s", res.StatusCode, tc.header)
			}
			if w := res.GetHeader("Warning"); w == nil || !strings.HasPrefix(w.Value(), "399 ") {
				t.Fatalf("no Warning: %v", res)
			}
		})
	}
	if n := iw.store.Calls(); n != 0 {
		t.Fatalf("refused requests reached the store %d times", n)
	}
	st := iw.inbound.Stats()
	if st.Accepted != 0 || st.Refused[415] != 4 || st.Refused[400] != 7 || st.Refused[413] != 1 || st.Refused[420] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestInboundMalformed sends hand-written requests that sipgo's own client
// would not build.
func TestInboundMalformed(t *testing.T) {
	iw := startIWF(t, []pager.Trunk{loopbackTrunk("uk")}, nil)
	const head = "MESSAGE sip:+447700900123@127.0.0.1 SIP/2.0\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:LOCALPORT;branch=z9hG4bK-raw-%s;rport\n" +
		"Max-Forwards: 70\n"
	tests := []struct {
		name, msg, want string
	}{
		{"missing call-id", head +
			"From: <sip:+447700900456@p.example>;tag=a\nTo: <tel:+447700900123>\nCSeq: 1 MESSAGE\nContent-Type: text/plain\nContent-Length: 2\n\nhi",
			"SIP/2.0 400 "},
		{"missing from", head +
			"To: <tel:+447700900123>\nCall-ID: raw-2\nCSeq: 1 MESSAGE\nContent-Type: text/plain\nContent-Length: 2\n\nhi",
			"SIP/2.0 400 "},
		{"missing cseq (sipgo answers)", head +
			"From: <sip:+447700900456@p.example>;tag=a\nTo: <tel:+447700900123>\nCall-ID: raw-3\nContent-Type: text/plain\nContent-Length: 2\n\nhi",
			"SIP/2.0 400 "},
		{"cseq method mismatch", head +
			"From: <sip:+447700900456@p.example>;tag=a\nTo: <tel:+447700900123>\nCall-ID: raw-4\nCSeq: 1 INVITE\nContent-Type: text/plain\nContent-Length: 2\n\nhi",
			"SIP/2.0 400 "},
		{"im: request-uri", strings.Replace(head, "sip:+447700900123@127.0.0.1", "im:bob@example.com", 1) +
			"From: <sip:+447700900456@p.example>;tag=a\nTo: <tel:+447700900123>\nCall-ID: raw-5\nCSeq: 1 MESSAGE\nContent-Type: text/plain\nContent-Length: 2\n\nhi",
			"SIP/2.0 416 "},
		{"compact headers accepted", head +
			"f: <sip:+447700900456@p.example>;tag=a\nt: <tel:+447700900123>\ni: raw-6\nCSeq: 1 MESSAGE\nc: text/plain\nl: 2\n\nhi",
			"SIP/2.0 202 "},
		{"compact content coding", head +
			"f: <sip:+447700900456@p.example>;tag=a\nt: <tel:+447700900123>\ni: raw-7\nCSeq: 1 MESSAGE\nc: text/plain\ne: deflate\nl: 2\n\nhi",
			"SIP/2.0 415 "},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := strings.Replace(tc.msg, "%s", string(rune('a'+i)), 1)
			got := raw(t, iw, msg, 5*time.Second)
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("answer %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("garbage is dropped, the next request served", func(t *testing.T) {
		if got := raw(t, iw, "this is not SIP\n\n", 300*time.Millisecond); got != "" {
			t.Fatalf("answer to garbage: %q", got)
		}
		c := client(t)
		if res := send(t, c, message(t, iw, "udp", "text/plain", "still here")); res.StatusCode != 202 {
			t.Fatal(res)
		}
	})
}

func TestInboundUnknownSource(t *testing.T) {
	elsewhere := loopbackTrunk("far")
	elsewhere.AllowedSources = []string{"192.0.2.0/24", "2001:db8::/32"}
	iw := startIWF(t, []pager.Trunk{elsewhere}, nil)
	c := client(t)
	for _, tp := range []string{"udp", "tcp"} {
		t.Run(tp, func(t *testing.T) {
			res := send(t, c, message(t, iw, tp, "text/plain", "hi"))
			if res.StatusCode != 403 {
				t.Fatal(res)
			}
		})
	}
	if iw.store.Calls() != 0 {
		t.Fatal("a refused source reached the store")
	}
}

func TestInboundDuplicates(t *testing.T) {
	iw := startIWF(t, []pager.Trunk{loopbackTrunk("uk")}, nil)
	c := client(t)
	t.Run("sent again after the answer", func(t *testing.T) {
		req := message(t, iw, "udp", "text/plain", "once")
		copy1 := again(req)
		if res := send(t, c, req); res.StatusCode != 202 {
			t.Fatal(res)
		}
		if res := send(t, c, copy1); res.StatusCode != 202 {
			t.Fatal(res)
		}
		if iw.store.Calls() != 1 || len(iw.store.Messages()) != 1 {
			t.Fatalf("Accept called %d times", iw.store.Calls())
		}
	})
	t.Run("a new cseq is a new message", func(t *testing.T) {
		before := len(iw.store.Messages())
		req := message(t, iw, "udp", "text/plain", "twice")
		next := again(req)
		next.CSeq().SeqNo++
		send(t, c, req)
		send(t, c, next)
		if got := len(iw.store.Messages()) - before; got != 2 {
			t.Fatalf("%d stored", got)
		}
	})
	t.Run("two copies at once wait for one accept", func(t *testing.T) {
		calls := iw.store.Calls()
		release := iw.store.Hold()
		defer release()
		req := message(t, iw, "udp", "text/plain", "racing")
		copy1 := again(req)
		first := make(chan int, 1)
		go func() { first <- send(t, c, req).StatusCode }()
		<-iw.store.Entered()
		second := make(chan int, 1)
		go func() { second <- send(t, c, copy1).StatusCode }()
		select {
		case s := <-first:
			t.Fatalf("answered %d before Accept returned", s)
		default:
		}
		release()
		if a, b := <-first, <-second; a != 202 || b != 202 {
			t.Fatalf("answers %d %d", a, b)
		}
		if got := iw.store.Calls() - calls; got != 1 {
			t.Fatalf("Accept called %d times", got)
		}
	})
	t.Run("duplicate reported by the store", func(t *testing.T) {
		// Another node accepted it: the store says so, the answer is 202.
		other := startIWF(t, []pager.Trunk{loopbackTrunk("uk")}, nil)
		req := message(t, other, "udp", "text/plain", "seen elsewhere")
		tag, _ := req.From().Params.Get("tag")
		m := &pager.Message{ID: pager.DedupID("uk", req.CallID().Value(), 1, tag)}
		if err := other.store.Accept(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		if res := send(t, c, req); res.StatusCode != 202 {
			t.Fatal(res)
		}
		if other.inbound.Stats().Duplicates != 1 || len(other.store.Messages()) != 1 {
			t.Fatalf("stats %+v", other.inbound.Stats())
		}
	})
}

func TestInboundStoreFailures(t *testing.T) {
	c := client(t)
	t.Run("error is 500 and nothing is remembered", func(t *testing.T) {
		iw := startIWF(t, []pager.Trunk{loopbackTrunk("uk")}, nil)
		iw.store.SetError(errors.New("disk on fire"))
		req := message(t, iw, "udp", "text/plain", "hi")
		if res := send(t, c, req); res.StatusCode != 500 {
			t.Fatal(res)
		}
		iw.store.SetError(nil)
		if res := send(t, c, again(req)); res.StatusCode != 202 {
			t.Fatal(res)
		}
		if len(iw.store.Messages()) != 1 {
			t.Fatal("the retry after a failure was not stored")
		}
	})
	t.Run("status error chooses the answer", func(t *testing.T) {
		iw := startIWF(t, []pager.Trunk{loopbackTrunk("uk")}, nil)
		iw.store.SetError(&pager.StatusError{Status: 503, RetryAfter: 7, Err: errors.New("redis down")})
		res := send(t, c, message(t, iw, "udp", "text/plain", "hi"))
		if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil || res.GetHeader("Retry-After").Value() != "7" {
			t.Fatal(res)
		}
	})
	t.Run("the store's error text stays inside", func(t *testing.T) {
		redis := errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
		tests := []struct {
			name    string
			err     error
			status  int
			warning string
		}{
			{"plain error", fmt.Errorf("enqueue: %w", redis), 500, `399 iwf "Server Internal Error"`},
			{"status error", &pager.StatusError{Status: 503, RetryAfter: 1, Err: redis}, 503, `399 iwf "Service Unavailable"`},
			{"text for peers", fmt.Errorf("%w: %w", peerRefusal("store unavailable"), redis), 503, `399 iwf "store unavailable"`},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				iw := startIWF(t, []pager.Trunk{loopbackTrunk("uk")}, nil)
				iw.store.SetError(tc.err)
				res := send(t, c, message(t, iw, "udp", "text/plain", "hi"))
				w := res.GetHeader("Warning")
				if res.StatusCode != tc.status || w == nil || w.Value() != tc.warning {
					t.Fatalf("answered %d %s with Warning %v, want %d with %s", res.StatusCode, res.Reason, w, tc.status, tc.warning)
				}
			})
		}
	})
	t.Run("slow store is 503", func(t *testing.T) {
		iw := startIWF(t, []pager.Trunk{loopbackTrunk("uk")}, func(c *pager.InboundConfig) { c.AcceptTimeout = 50 * time.Millisecond })
		release := iw.store.Hold()
		defer release()
		res := send(t, c, message(t, iw, "udp", "text/plain", "hi"))
		if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
			t.Fatal(res)
		}
	})
	t.Run("draining is 503", func(t *testing.T) {
		iw := startIWF(t, []pager.Trunk{loopbackTrunk("uk")}, nil)
		iw.cancel()
		res := send(t, c, message(t, iw, "udp", "text/plain", "hi"))
		if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil || iw.store.Calls() != 0 {
			t.Fatal(res)
		}
	})
}

func TestInboundAssertedIdentity(t *testing.T) {
	trusted := loopbackTrunk("uk")
	trusted.TrustAssertedIdentity = true
	trusted.Numbering.CountryCode, trusted.Numbering.TrunkPrefix = "44", "0"
	iw := startIWF(t, []pager.Trunk{trusted}, nil)
	c := client(t)
	req := message(t, iw, "udp", "text/plain", "hi")
	req.AppendHeader(sip.NewHeader("P-Asserted-Identity", "<tel:07700900999>, <sip:+447700900999@ims.partner.example>"))
	if res := send(t, c, req); res.StatusCode != 202 {
		t.Fatal(res)
	}
	if got := iw.store.Messages()[0].From.String(); got != "tel:+447700900999" {
		t.Fatalf("sender %s", got)
	}
}

// peerRefusal is a store error that offers a text for peers, as the
// interworking core's refusals can.
type peerRefusal string

func (r peerRefusal) Error() string      { return "interwork: " + string(r) }
func (r peerRefusal) SIPStatus() int     { return 503 }
func (r peerRefusal) SIPWarning() string { return string(r) }
