package smpp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/smpp/receipt"
	"iwf/smpp/smpptest"
)

func TestClientBindSubmit(t *testing.T) {
	testutil.CheckLeaks(t)
	tests := []struct {
		name      string
		mode      BindMode
		binds     int
		wantBound int
	}{
		{"transceiver", ModeTransceiver, 1, 1},
		{"two transceivers", ModeTransceiver, 2, 2},
		{"tx+rx pair", ModeTxRx, 1, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			smsc := startSMSC(t)
			cfg := clientConfig(smsc.Addr())
			cfg.Mode, cfg.Binds = tc.mode, tc.binds
			c := startClient(t, cfg, nil, nil)
			waitSMSC(t, smsc, func(s smpptest.State) bool { return s.Bound == tc.wantBound })

			msg := testMessage("hello")
			msg.RegisteredDelivery = 1
			msg.TLVs = []TLV{{Tag: 0x0204, Value: []byte{0x00, 0x07}}} // user_message_reference
			res, err := c.Submit(testutil.Context(t), msg)
			if err != nil {
				t.Fatal(err)
			}
			if res.MessageID != "msg-1" || res.Attempts != 1 {
				t.Errorf("result %+v, want msg-1 after 1 attempt", res)
			}
			subs := smsc.Submits()
			if len(subs) != 1 {
				t.Fatalf("SMSC got %d submits", len(subs))
			}
			got, err := DecodeMessage(subs[0].Frame)
			if err != nil {
				t.Fatal(err)
			}
			if got.Dest != msg.Dest || !bytes.Equal(got.ShortMessage, msg.ShortMessage) || got.RegisteredDelivery != 1 ||
				len(got.TLVs) != 1 || got.TLVs[0].Tag != 0x0204 {
				t.Errorf("SMSC saw %+v, sent %+v", got, msg)
			}
			if subs[0].SystemID != "iwf" || subs[0].PDU.DestAddr.Address() != msg.Dest.Addr {
				t.Errorf("gosmpp's reading: system_id %q dest %q", subs[0].SystemID, subs[0].PDU.DestAddr.Address())
			}
			for _, st := range c.Status() {
				if st.Name == res.Bind && (st.State != StateBound || st.Counters.Accepted != 1) {
					t.Errorf("bind %s in state %s, counters %+v", st.Name, st.State, st.Counters)
				}
			}
		})
	}
}

func TestClientBindRefused(t *testing.T) {
	testutil.CheckLeaks(t)
	smsc := startSMSC(t)
	cfg := clientConfig(smsc.Addr())
	cfg.Password = "wrong"
	dials := make(chan struct{}, 16)
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		select {
		case dials <- struct{}{}:
		default:
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	c := startClient(t, cfg, nil, newFakeClock())
	// A failure is counted before the back-off that precedes the next
	// dial: at the fourth dial three refusals are on record.
	for range 4 {
		recv(t, dials)
	}
	st := c.Status()[0]
	if st.Counters.BindFailures < 3 || st.Counters.Binds != 0 || st.State == StateBound {
		t.Errorf("status %+v", st)
	}
	if !strings.Contains(st.LastError, "ESME_RINVPASWD") {
		t.Errorf("last error %q, want ESME_RINVPASWD", st.LastError)
	}
}

func TestClientFirstBindRetried(t *testing.T) {
	testutil.CheckLeaks(t)
	smsc := startSMSC(t)
	cfg := clientConfig(smsc.Addr())
	var dials atomic.Int32
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) <= 2 {
			return nil, errors.New("connection refused (test)")
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	clk := newFakeClock()
	c := startClient(t, cfg, nil, clk)
	// A submit needs the bind, so once it is accepted the bind is counted.
	if _, err := c.Submit(testutil.Context(t), testMessage("x")); err != nil {
		t.Fatal(err)
	}
	st := c.Status()[0]
	if st.Counters.BindFailures != 2 || st.Counters.Binds != 1 {
		t.Errorf("counters %+v, want 2 failures then 1 bind", st.Counters)
	}
	// Two back-offs: [2.5,5] ms then [5,10] ms.
	if got := clk.total(); got < 7500*time.Microsecond || got > 15*time.Millisecond {
		t.Errorf("backed off %s in total", got)
	}
}

func TestClientWindow(t *testing.T) {
	testutil.CheckLeaks(t)
	smsc := startSMSC(t)
	cfg := clientConfig(smsc.Addr())
	cfg.Window = 5
	c := startClient(t, cfg, nil, nil)
	waitSMSC(t, smsc, func(s smpptest.State) bool { return s.Bound == 1 })
	smsc.Hold()

	const n = 20
	ctx := testutil.Context(t)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := c.Submit(ctx, testMessage(fmt.Sprint("m", i)))
			errs <- err
		})
	}
	waitSMSC(t, smsc, func(s smpptest.State) bool { return s.Outstanding >= 5 })
	// Nothing more may arrive while the window is full: give it every
	// chance to (the 15 others are queued) before looking again.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err := smsc.Wait(short, func(s smpptest.State) bool { return s.Outstanding > 5 })
	cancel()
	if err == nil {
		t.Fatalf("more than the window outstanding: %d", smsc.Outstanding())
	}
	if got := c.Status()[0].Outstanding; got != 5 {
		t.Errorf("client reports %d outstanding, want 5", got)
	}
	smsc.Release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := len(smsc.Submits()); got != n {
		t.Errorf("SMSC got %d submits, want %d", got, n)
	}
	if got := smsc.MaxOutstanding(); got != 5 {
		t.Errorf("max outstanding %d, want the window 5", got)
	}
}

func TestClientThroughput(t *testing.T) {
	testutil.CheckLeaks(t)
	tests := []struct {
		name  string
		rate  float64
		burst int
		n     int
	}{
		{"100/s burst 1", 100, 1, 20},
		{"50/s burst 5", 50, 5, 25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			smsc := startSMSC(t)
			cfg := clientConfig(smsc.Addr())
			cfg.Throughput, cfg.Burst = tc.rate, tc.burst
			// The bucket's own clock: only its waits are counted, not
			// a back-off's should the bind have to be made again.
			clk := newFakeClock()
			c := newTestClient(t, cfg, nil, newFakeClock())
			c.binds[0].bucket.clk = clk
			runUntilEnd(t, c)
			ctx := testutil.Context(t)
			for i := range tc.n {
				if _, err := c.Submit(ctx, testMessage(fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
			}
			// The sender takes its next token before the next message
			// comes, so it ends up holding one more than was sent. It
			// counts a token before sleeping for it: wait until it has
			// taken that one and slept once for every token beyond the
			// burst, then parks for a message, before comparing.
			b := c.binds[0].bucket
			testutil.Eventually(t, func() bool {
				return b.count() == uint64(tc.n+1) && clk.napCount() == tc.n+1-tc.burst
			}, "the sender to take token %d and sleep for it (has %d tokens, %d sleeps)", tc.n+1, b.count(), clk.napCount())
			taken := b.count()
			// The bucket starts full: burst tokens free, the rest at rate.
			want := time.Duration(float64(int(taken)-tc.burst) / tc.rate * float64(time.Second))
			if got := clk.total(); got < want-time.Millisecond || got > want+time.Millisecond {
				t.Errorf("waited %s for %d tokens, want %s (waits %v, bind %+v)", got, taken, want, clk.napList(), c.Status()[0])
			}
		})
	}
}

func TestClientThrottleBackoff(t *testing.T) {
	testutil.CheckLeaks(t)
	smsc := startSMSC(t)
	clk := newFakeClock()
	c := startClient(t, clientConfig(smsc.Addr()), nil, clk)
	smsc.RespondNext(3, smpptest.StatusThrottled)
	res, err := c.Submit(testutil.Context(t), testMessage("x"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 4 || res.MessageID != "msg-1" {
		t.Errorf("result %+v, want msg-1 after 4 attempts", res)
	}
	st := c.Status()[0]
	if st.Counters.Throttled != 3 || st.Counters.Accepted != 1 {
		t.Errorf("counters %+v", st.Counters)
	}
	// Pauses double from 100 ms: at least 50+100+200 ms with equal jitter,
	// at most 100+200+400.
	if got := clk.total(); got < 350*time.Millisecond || got > 700*time.Millisecond {
		t.Errorf("paused %s in total (naps %v)", got, clk.naps)
	}
}

// TestClientPausedBindSendsNothing: a bind throttled while its sender
// already waits for a message sends nothing until the pause is over. The
// pause signal and the message that was throttled arrive together, and
// select may take either; here the message comes alone, as when select
// took it first.
func TestClientPausedBindSendsNothing(t *testing.T) {
	testutil.CheckLeaks(t)
	smsc := startSMSC(t)
	cfg := clientConfig(smsc.Addr())
	cfg.Throughput, cfg.Burst = 1, 1 // so that the sender sleeps for its second token
	clk := newGateClock()
	c := startClient(t, cfg, nil, clk)
	ctx := testutil.Context(t)
	if _, err := c.Submit(ctx, testMessage("first")); err != nil {
		t.Fatal(err)
	}
	// The sender waits for its next token: it has looked for a pause.
	if d := recv(t, clk.sleeps); d != time.Second {
		t.Fatalf("token wait %s, want 1s", d)
	}
	b := c.binds[0]
	b.mu.Lock()
	b.pausedUntil = clk.Now().Add(time.Hour)
	b.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		_, err := c.Submit(ctx, testMessage("second"))
		done <- err
	}()
	clk.wake <- struct{}{} // the token
	// The next sleep is the pause; whatever the sender sent before it
	// went out during the pause.
	if d := recv(t, clk.sleeps); d < time.Hour-time.Second || d > time.Hour {
		t.Fatalf("slept %s, want the hour's pause", d)
	}
	if sent := c.Status()[0].Counters.Sent; sent != 1 {
		t.Fatalf("%d submits sent by a paused bind, want only the first", sent)
	}
	clk.wake <- struct{}{} // the pause is over
	if err := recv(t, done); err != nil {
		t.Fatal(err)
	}
	if n := len(smsc.Submits()); n != 2 {
		t.Errorf("SMSC got %d submits, want 2", n)
	}
}

func TestClientSubmitStatuses(t *testing.T) {
	testutil.CheckLeaks(t)
	tests := []struct {
		name         string
		n            int
		status       uint32
		wantErr      uint32
		wantAttempts int
	}{
		{"queue full once then accepted", 1, smpptest.StatusMsgQFul, 0, 2},
		{"queue full beyond retries", 10, smpptest.StatusMsgQFul, StatusMsgQFul, 3},
		{"invalid destination is final", 1, StatusInvDstAdr, StatusInvDstAdr, 1},
		{"system error is final", 1, smpptest.StatusSysErr, StatusSysErr, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			smsc := startSMSC(t)
			c := startClient(t, clientConfig(smsc.Addr()), nil, newFakeClock())
			smsc.RespondNext(tc.n, tc.status)
			res, err := c.Submit(testutil.Context(t), testMessage("x"))
			var se *StatusError
			switch {
			case tc.wantErr == 0 && err != nil:
				t.Fatal(err)
			case tc.wantErr != 0 && (!errors.As(err, &se) || se.Status != tc.wantErr || se.Command != CmdSubmitSMResp):
				t.Fatalf("error %v, want %s", err, StatusName(tc.wantErr))
			}
			if res.Attempts != tc.wantAttempts || len(smsc.Submits()) != tc.wantAttempts {
				t.Errorf("%d attempts, SMSC saw %d, want %d", res.Attempts, len(smsc.Submits()), tc.wantAttempts)
			}
		})
	}
}

func TestClientRebindAfterDrop(t *testing.T) {
	testutil.CheckLeaks(t)
	smsc := startSMSC(t)
	cfg := clientConfig(smsc.Addr())
	cfg.Binds = 2
	c := startClient(t, cfg, nil, newFakeClock())
	// smpptest counts a bind when it answers, the client when it reads the
	// answer: a drop in between would fail that bind instead of ending it.
	testutil.Eventually(t, func() bool { return allBound(c, 1) }, "both binds bound")
	ctx := testutil.Context(t)
	if _, err := c.Submit(ctx, testMessage("before")); err != nil {
		t.Fatal(err)
	}
	smsc.Drop()
	waitSMSC(t, smsc, func(s smpptest.State) bool { return s.Binds == 4 && s.Bound == 2 })
	res, err := c.Submit(ctx, testMessage("after"))
	if err != nil {
		t.Fatal(err)
	}
	if res.MessageID != "msg-2" {
		t.Errorf("message id %q after rebind", res.MessageID)
	}
	testutil.Eventually(t, func() bool { return allBound(c, 2) }, "both binds bound twice")
}

// allBound reports whether every bind of c is bound and has bound n times.
func allBound(c *Client, n uint64) bool {
	for _, st := range c.Status() {
		if st.Counters.Binds != n || st.State != StateBound {
			return false
		}
	}
	return true
}

func TestClientEnquireLink(t *testing.T) {
	testutil.CheckLeaks(t)
	smsc := startSMSC(t)
	cfg := clientConfig(smsc.Addr())
	cfg.EnquireLink = 10 * time.Millisecond
	startClient(t, cfg, nil, nil)
	waitSMSC(t, smsc, func(s smpptest.State) bool { return s.EnquireLinks >= 3 })
}

func TestClientDeliver(t *testing.T) {
	testutil.CheckLeaks(t)
	tests := []struct {
		name       string
		receipt    bool
		handlerErr error
		wantStatus uint32
	}{
		{"mobile originated", false, nil, StatusOK},
		{"receipt", true, nil, StatusOK},
		{"store down, SMSC retries later", false, &StatusError{Status: StatusXTAppn}, StatusXTAppn},
		{"plain error is a system error", false, errors.New("boom"), StatusSysErr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			smsc := startSMSC(t)
			got := make(chan *Message, 1)
			h := DeliverHandlerFunc(func(_ context.Context, partner string, m *Message) error {
				if partner != "smsc" {
					t.Errorf("partner %q", partner)
				}
				got <- m
				return tc.handlerErr
			})
			cfg := clientConfig(smsc.Addr())
			cfg.Mode = ModeTxRx
			startClient(t, cfg, h, nil)
			waitSMSC(t, smsc, func(s smpptest.State) bool { return s.Bound == 2 })
			ctx := testutil.Context(t)
			var status uint32
			var err error
			if tc.receipt {
				status, err = smsc.DeliverReceipt(ctx, "4917612345678", "4915112345678", "msg-77", "DELIVRD", 2)
			} else {
				status, err = smsc.Deliver(ctx, smpptest.Deliver{Source: "4917612345678", Dest: "4915112345678",
					DataCoding: 8, ShortMessage: []byte{0x00, 'h', 0x00, 'i'}})
			}
			if err != nil {
				t.Fatal(err)
			}
			if status != tc.wantStatus {
				t.Errorf("deliver_sm_resp %s, want %s", StatusName(status), StatusName(tc.wantStatus))
			}
			m := recv(t, got)
			if m.IsReceipt() != tc.receipt {
				t.Errorf("IsReceipt %v", m.IsReceipt())
			}
			if tc.receipt {
				r, err := m.Receipt()
				if err != nil {
					t.Fatal(err)
				}
				if r.ID != "msg-77" || r.State != receipt.Delivered {
					t.Errorf("receipt %+v", r)
				}
				return
			}
			if text, err := m.Text(false); err != nil || text != "hi" {
				t.Errorf("text %q, %v", text, err)
			}
		})
	}
}

// TestClientDeliverAnsweredAfterHandler: the deliver_sm_resp leaves only
// once the handler has returned.
func TestClientDeliverAnsweredAfterHandler(t *testing.T) {
	testutil.CheckLeaks(t)
	smsc := startSMSC(t)
	entered, release := make(chan struct{}), make(chan struct{})
	h := DeliverHandlerFunc(func(context.Context, string, *Message) error {
		close(entered)
		<-release
		return nil
	})
	cfg := clientConfig(smsc.Addr())
	cfg.EnquireLink = 5 * time.Millisecond
	startClient(t, cfg, h, nil)
	waitSMSC(t, smsc, func(s smpptest.State) bool { return s.Bound == 1 })
	done := make(chan error, 1)
	go func() {
		_, err := smsc.Deliver(testutil.Context(t), smpptest.Deliver{Source: "1", Dest: "2", ShortMessage: []byte("x")})
		done <- err
	}()
	select {
	case <-entered:
	case err := <-done:
		t.Fatalf("deliver_sm answered without the handler: %v", err)
	}
	// The client writes on one stream: enquire_links it sends after the
	// handler started reach the SMSC after anything written before.
	before := smsc.EnquireLinks()
	waitSMSC(t, smsc, func(s smpptest.State) bool { return s.EnquireLinks >= before+2 })
	select {
	case err := <-done:
		t.Fatalf("deliver_sm answered while the handler runs (%v)", err)
	default:
	}
	close(release)
	if err := recv(t, done); err != nil {
		t.Fatal(err)
	}
}

func TestClientClose(t *testing.T) {
	testutil.CheckLeaks(t)
	smsc := startSMSC(t)
	c := startClient(t, clientConfig(smsc.Addr()), nil, nil)
	waitSMSC(t, smsc, func(s smpptest.State) bool { return s.Bound == 1 })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	waitSMSC(t, smsc, func(s smpptest.State) bool { return s.Bound == 0 })
	if _, err := c.Submit(testutil.Context(t), testMessage("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close: %v", err)
	}
	for _, st := range c.Status() {
		if st.State != StateClosed {
			t.Errorf("%s in state %s", st.Name, st.State)
		}
	}
}
