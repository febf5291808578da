package pager_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"

	"iwf/pager"
	"iwf/pager/pagertest"
)

// recorder is a server transaction that keeps the answer.
type recorder struct {
	sip.ServerTransaction
	res []*sip.Response
}

func (r *recorder) Respond(res *sip.Response) error {
	r.res = append(r.res, res)
	return nil
}

// FuzzInboundRequest feeds any bytes sipgo parses as a request to the
// MESSAGE handler as if from a partner's address, and checks that it
// answers exactly once with a status the handler documents, and that a
// 202 stored a message with valid UTF-8 text and normalised identities.
func FuzzInboundRequest(f *testing.F) {
	seeds := []string{
		"MESSAGE sip:+447700900123@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\nFrom: <sip:+447700900456@p.example;user=phone>;tag=a\r\nTo: <tel:+447700900123>\r\nCall-ID: c1\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 5\r\n\r\nhello",
		"MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-2\r\nf: \"A\" <sip:alice@Example.com>;tag=b\r\nt: <sip:bob@example.com>\r\ni: c2\r\nCSeq: 7 MESSAGE\r\nc: message/cpim\r\nl: 88\r\n\r\nFrom: <sip:alice@example.com>\r\nNS: imdn <urn:ietf:params:imdn>\r\nimdn.Message-ID: x\r\n\r\nContent-Type: text/plain\r\n\r\nhi\r\n",
		"MESSAGE sip:+447700900123@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-3\r\nFrom: <tel:07700900456>;tag=a\r\nTo: <tel:+447700900123>\r\nCall-ID: c3\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Encoding: gzip\r\nRequire: foo\r\nContent-Length: 4\r\n\r\ncaf\xe9",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	ts, err := pager.NewTrunks([]pager.Trunk{loopbackTrunk("uk")})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := sip.ParseMessage(b)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		req.SetSource("127.0.0.1:5070")
		store := pagertest.NewStore()
		in, err := pager.NewInbound(pager.InboundConfig{Trunks: ts, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		in.Handle(context.Background(), req, rec)
		if len(rec.res) != 1 {
			t.Fatalf("%d answers", len(rec.res))
		}
		switch code := rec.res[0].StatusCode; code {
		case 202:
			msgs := store.Messages()
			if len(msgs) != 1 {
				t.Fatalf("202 with %d messages stored", len(msgs))
			}
			m := msgs[0]
			if !utf8.ValidString(m.Text) || m.From.String() == "" || m.To.String() == "" || m.ID == "" {
				t.Fatalf("stored %+v", m)
			}
		case 400, 413, 415, 416, 420:
			if store.Calls() != 0 {
				t.Fatalf("%d after an Accept", code)
			}
			if w := rec.res[0].GetHeader("Warning"); w == nil || strings.ContainsAny(w.Value(), "\r\n") {
				t.Fatalf("%d with Warning %v", code, w)
			}
		default:
			t.Fatalf("unexpected status %d", code)
		}
	})
}
