package pager_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/sipstack"
	"iwf/pager"
)

// nopStore accepts everything at once: what is left is the handler's own
// cost.
type nopStore struct{}

func (nopStore) Accept(context.Context, *pager.Message) error { return nil }

// answerTx is a server transaction that keeps the status of the answer
// and nothing else (the other methods are never called by Handle).
type answerTx struct {
	sip.ServerTransaction
	status int
}

func (t *answerTx) Respond(res *sip.Response) error {
	t.status = res.StatusCode
	return nil
}

// statusTx answers as the stateless UDP path does, from the status and
// headers without a sip.Response, and keeps the status.
type statusTx struct{ answerTx }

func (t *statusTx) RespondStatus(status int, _ string, _ ...sip.Header) error {
	t.status = status
	return nil
}

// parsedMessages parses n distinct MESSAGEs as they come off the wire from
// a partner on 127.0.0.1 (a new Call-ID each, so none is a duplicate).
func parsedMessages(tb testing.TB, n int) []*sip.Request {
	tb.Helper()
	p := sip.NewParser()
	reqs := make([]*sip.Request, n)
	const body = "Benchmark message of a typical SMS length, about one hundred bytes long."
	for i := range reqs {
		raw := fmt.Sprintf("MESSAGE sip:+447700900%03d@127.0.0.1:5060;user=phone SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK-%d\r\n"+
			"From: <sip:+447700900456@sipp.partner.example;user=phone>;tag=tag%d\r\n"+
			"To: <sip:+447700900%03d@127.0.0.1:5060;user=phone>\r\n"+
			"Call-ID: bench-%d@127.0.0.1\r\n"+
			"CSeq: 1 MESSAGE\r\n"+
			"Max-Forwards: 70\r\n"+
			"Content-Type: text/plain;charset=UTF-8\r\n"+
			"Content-Length: %d\r\n\r\n%s",
			100+i%100, i, i, 100+i%100, i, len(body), body)
		m, err := p.ParseSIP([]byte(raw))
		if err != nil {
			tb.Fatal(err)
		}
		req := m.(*sip.Request)
		req.SetTransport("UDP")
		req.SetSource("127.0.0.1:5090")
		reqs[i] = req
	}
	return reqs
}

func benchInboundHandler(tb testing.TB, log *slog.Logger) (*pager.Inbound, context.Context) {
	tb.Helper()
	ts, err := pager.NewTrunks([]pager.Trunk{loopbackTrunk("uk")})
	if err != nil {
		tb.Fatal(err)
	}
	in, err := pager.NewInbound(pager.InboundConfig{Trunks: ts, Store: nopStore{}, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	return in, context.Background()
}

// BenchmarkInboundHandle is the MESSAGE handler alone (pager.Inbound.Handle
// on a parsed request: checks, body decoding, dedup, the answer), without
// sockets, sipgo's transaction layer or a store. ns/op and allocs/op are
// what our code adds to each MESSAGE.
func BenchmarkInboundHandle(b *testing.B) {
	tx := &answerTx{}
	benchHandle(b, tx, tx)
}

// benchHandle runs the handler on parsed MESSAGEs answering through tx;
// answered holds the last status tx saw.
func benchHandle(b *testing.B, tx sipstack.Responder, answered *answerTx) {
	in, ctx := benchInboundHandler(b, slog.New(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelInfo})))
	reqs := parsedMessages(b, 4096)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// Requests repeat after 4096: those are answered as duplicates
		// from memory, as a retransmission is.
		in.Handle(ctx, reqs[i%len(reqs)], tx)
		i++
	}
	if answered.status != 202 {
		b.Fatalf("status %d", answered.status)
	}
}

// BenchmarkInboundHandleStateless is BenchmarkInboundHandle answering as
// the stateless UDP path does: the answer is written from the request's
// headers (sipstack.StatusResponder), no sip.Response is built.
func BenchmarkInboundHandleStateless(b *testing.B) {
	tx := &statusTx{}
	benchHandle(b, tx, &tx.answerTx)
}

// TestInboundHandleAllocs bounds the allocations of one accepted MESSAGE
// in the handler with logging at info: a request logger or log
// attributes for a debug line that is not written, or URIs printed a
// piece at a time, must not come back on the hot path. The bound counts allocations, not time: it holds on any
// machine.
func TestInboundHandleAllocs(t *testing.T) {
	in, ctx := benchInboundHandler(t, slog.New(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelInfo})))
	const runs = 200
	reqs := parsedMessages(t, runs+1)
	tx := &answerTx{}
	i := 0
	allocs := testing.AllocsPerRun(runs, func() {
		in.Handle(ctx, reqs[i], tx)
		i++
	})
	if tx.status != 202 {
		t.Fatalf("status %d", tx.status)
	}
	// 48 measured; before, the per-request logger and its attributes and
	// sipgo's Uri.String of From and To (a dozen each) made 64.
	const maxAllocs = 50
	if allocs > maxAllocs {
		t.Errorf("%.0f allocations per accepted MESSAGE, want at most %d", allocs, maxAllocs)
	}
}

// discard is an io.Writer that drops everything.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
