package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrp"
	"iwf/session/sipsession"
	"iwf/smpp"
	"iwf/smpp/receipt"
)

// bridge is a minimal stand-in for the IWF daemon, so that run is tested
// end to end before the daemon exists: an SMPP server for the ESME
// demo/demo, one MSRP session per conversation opened toward the RCS
// side, messages sent in order as CPIM with a Success-Report, and each
// Success-Report turned into a delivery receipt. It stores nothing:
// exactly what the load tool must not be able to tell from the daemon.
type bridge struct {
	t   testing.TB
	srv *smpp.Server
	u   *uac
	// fault, when set, says how many copies of a submitted text to send
	// (0 drops it after acknowledging it: a loss).
	fault func(text string) int

	hop  atomic.Pointer[net.TCPAddr] // the RCS side's SIP TCP address
	next atomic.Int64
	// forwardFirst, when set, has a submit answered only once the
	// message was passed on (or dropped): what it acknowledged has
	// reached the RCS side at any moment.
	forwardFirst atomic.Bool
	// passed counts the submits passed on or dropped.
	passed atomic.Int64

	mu      sync.Mutex
	convs   map[string]chan item
	waiters []passWaiter
	// receipted are the message ids whose receipt went, or is due once
	// the other of its Success-Report and its last copy comes.
	receipted map[string]receiptState
	wg        sync.WaitGroup
	ctx       context.Context
}

type item struct {
	id, source, dest, text string
	// done, when not nil, closes once the item was passed on.
	done chan struct{}
}

// receiptState is how far a message is toward its receipt.
type receiptState struct{ reported, passed, sent bool }

// passWaiter is a passedOn channel and its count.
type passWaiter struct {
	n  int64
	ch chan struct{}
}

// startBridge runs a bridge on loopback until the test ends.
func startBridge(t testing.TB, fault func(string) int) *bridge {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &bridge{t: t, u: startUAC(t), fault: fault, convs: map[string]chan item{}, receipted: map[string]receiptState{}, ctx: ctx}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := smpp.NewServer(ln, smpp.ServerConfig{Partners: []smpp.ServerPartner{
		{Name: "demo", SystemID: "demo", Password: "demo", Window: 1000},
	}}, smpp.SubmitHandlerFunc(b.submit), testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	b.srv = srv
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("bridge smpp: %v", err)
		}
		b.mu.Lock()
		for _, ch := range b.convs {
			close(ch)
		}
		b.convs = map[string]chan item{}
		b.mu.Unlock()
		b.wg.Wait()
	})
	return b
}

func (b *bridge) addr() string { return b.srv.Addr().String() }

// passedOn returns a channel that closes once n submits were passed on
// (each sent copy answered 200 by the RCS side, which then holds it) or
// dropped: the event a run that cannot complete ends on (Config.expire).
func (b *bridge) passedOn(n int) <-chan struct{} {
	ch := make(chan struct{})
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.passed.Load() >= int64(n) {
		close(ch)
	} else {
		b.waiters = append(b.waiters, passWaiter{n: int64(n), ch: ch})
	}
	return ch
}

// pass counts an item passed on and wakes the waiters it satisfies.
func (b *bridge) pass(it item) {
	n := b.passed.Add(1)
	b.mu.Lock()
	kept := b.waiters[:0]
	for _, w := range b.waiters {
		if w.n <= n {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	b.waiters = kept
	st := b.receipted[it.id]
	st.passed = true
	due := st.reported && !st.sent
	st.sent = st.sent || due
	b.receipted[it.id] = st
	b.mu.Unlock()
	if due {
		b.receipt(it.source, it.dest, it.id)
	}
	if it.done != nil {
		close(it.done)
	}
}

// rcsReady is Config.rcsReady: where to send the INVITEs.
func (b *bridge) rcsReady(_, tcp net.Addr) { b.hop.Store(tcp.(*net.TCPAddr)) }

// submit acknowledges at once and queues the message on its
// conversation, in order of arrival.
func (b *bridge) submit(ctx context.Context, _ string, m *smpp.Message) (string, error) {
	text, err := m.Text(false)
	if err != nil {
		return "", err
	}
	it := item{id: fmt.Sprintf("msg%08d", b.next.Add(1)), source: m.Source.Addr, dest: m.Dest.Addr, text: text}
	if b.forwardFirst.Load() {
		it.done = make(chan struct{})
	}
	key := it.source + ">" + it.dest
	b.mu.Lock()
	ch, ok := b.convs[key]
	if !ok {
		ch = make(chan item, 1<<16)
		b.convs[key] = ch
		b.wg.Go(func() { b.conversation(ch) })
	}
	ch <- it
	b.mu.Unlock()
	if it.done != nil {
		select {
		case <-it.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return it.id, nil
}

// conversation sends every message of a conversation in order on its
// session, opened on the first message and again after the RCS side
// ended it (a later run).
func (b *bridge) conversation(ch chan item) {
	var call *sipsession.Call
	defer func() {
		if call != nil {
			_ = call.Close(context.Background())
		}
	}()
	for it := range ch {
		copies := 1
		if b.fault != nil {
			copies = b.fault(it.text)
		}
		body, err := wrapCPIM(it.source, it.dest, it.text)
		if err != nil {
			b.t.Errorf("bridge cpim: %v", err)
			b.pass(it)
			continue
		}
		for range copies {
			if call = b.session(call, it); call == nil {
				return
			}
			_, err := call.Send(b.ctx, &session.OutgoingMessage{
				MessageID: it.id, ContentType: "message/cpim", Body: body,
				SuccessReport: true, FailureReport: msrp.ReportYes,
			})
			if err != nil && b.ctx.Err() == nil {
				// The RCS side may end the session once it has every
				// message, before this 200 reached us; a message it
				// never got shows in the report as lost.
				b.t.Logf("bridge send: %v", err)
			}
		}
		b.pass(it)
	}
}

// session returns call while it lives, else a new call for it's
// conversation (nil when that fails).
func (b *bridge) session(call *sipsession.Call, it item) *sipsession.Call {
	if call != nil {
		select {
		case <-call.Done():
		default:
			return call
		}
	}
	c, err := b.u.open(b.ctx, it.source, it.dest, b.hop.Load(), "tcp")
	if err != nil {
		if b.ctx.Err() == nil {
			b.t.Errorf("bridge invite %s: %v", it.dest, err)
		}
		return nil
	}
	b.wg.Go(func() { b.receipts(c, it) })
	return c
}

// receipts turns the first Success-Report (RFC 4975 section 7.1.2) of
// each message into a delivery receipt toward the ESME once every copy
// of it was passed on: the run, which waits for the receipts, then ends
// with the last copy already at the RCS side, however late it went. The
// MSRP Message-ID is the SMSC id.
func (b *bridge) receipts(c *sipsession.Call, first item) {
	for ev := range c.Events() {
		if ev.Kind != sipsession.EventReport || ev.Report.Status != 200 {
			continue
		}
		id := ev.Report.MessageID
		b.mu.Lock()
		st := b.receipted[id]
		st.reported = true
		due := st.passed && !st.sent
		st.sent = st.sent || due
		b.receipted[id] = st
		b.mu.Unlock()
		if due {
			b.receipt(first.source, first.dest, id)
		}
	}
}

// receipt delivers the receipt of message id, sent from source to dest.
func (b *bridge) receipt(source, dest, id string) {
	src := smpp.Address{TON: 1, NPI: 1, Addr: dest}
	dst := smpp.Address{TON: 1, NPI: 1, Addr: source}
	m, err := smpp.ReceiptMessage(src, dst, receipt.Receipt{ID: id, State: receipt.Delivered, Submitted: 1, Delivered: 1})
	if err != nil {
		b.t.Errorf("bridge receipt: %v", err)
		return
	}
	if _, err := b.srv.Deliver(b.ctx, "demo", m); err != nil && b.ctx.Err() == nil {
		b.t.Logf("bridge deliver: %v", err) // the ESME may have unbound
	}
}
