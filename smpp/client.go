package smpp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/linxGnu/gosmpp/pdu"
)

// The client is written on its own loop over gosmpp's PDU codec rather
// than on gosmpp.Session: the session retries no first bind, rebinds at a
// fixed interval without back-off or jitter, drops a PDU with
// ErrWindowsFull instead of waiting for a slot, has no throughput limit and
// leaves ESME_RTHROTTLED to the caller. Here each bind has a sender that
// takes a token, then a window slot, then a message, so the window and the
// rate hold by construction, and a throttled bind stops taking messages.

// DeliverHandler takes the deliver_sm an SMSC sends to the Client: mobile
// originated messages and delivery receipts (Message.IsReceipt).
type DeliverHandler interface {
	// HandleDeliver hands msg to durable storage. The deliver_sm_resp is
	// written only after it returns; an error is answered with
	// StatusOf(err), so a handler that cannot store returns an error with
	// SMPPStatus ESME_RX_T_APPN to have the SMSC retry later.
	HandleDeliver(ctx context.Context, partner string, msg *Message) error
}

// DeliverHandlerFunc adapts a function to DeliverHandler.
type DeliverHandlerFunc func(ctx context.Context, partner string, msg *Message) error

// HandleDeliver implements DeliverHandler.
func (f DeliverHandlerFunc) HandleDeliver(ctx context.Context, partner string, msg *Message) error {
	return f(ctx, partner, msg)
}

// SubmitResult is the outcome of an accepted submit_sm.
type SubmitResult struct {
	// MessageID is the SMSC's id from submit_sm_resp, which its delivery
	// receipts will carry (receipted_message_id, or id: in the text).
	MessageID string
	// Bind names the bind that carried the accepted attempt.
	Bind string
	// Attempts counts the submit_sm sent, throttled and queue-full
	// retries included.
	Attempts int
}

// Client holds one partner's ESME binds to its SMSC: transceivers, or
// transmitter + receiver pairs, each rebinding on its own with back-off.
type Client struct {
	cfg  ClientConfig
	h    DeliverHandler
	log  *slog.Logger
	clk  clock
	jobs chan *job

	binds []*clientBind
	// hold keeps the binds down after Unbind, until Rebind (admin.go).
	hold holdGate

	life lifecycle
}

// NewClient checks cfg and returns a client. It starts nothing: call Run.
// h may be nil when the application that takes the deliveries is built
// later: set it with SetHandler before Run.
func NewClient(cfg ClientConfig, h DeliverHandler, log *slog.Logger) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Client{
		cfg:  cfg,
		h:    h,
		log:  componentLog(log).With("partner", cfg.Partner, "system_id", cfg.SystemID),
		clk:  realClock{},
		jobs: make(chan *job),
	}
	c.life.init()
	kinds := []bindKind{kindTransceiver}
	if cfg.Mode == ModeTxRx {
		kinds = []bindKind{kindTransmitter, kindReceiver}
	}
	for i := range cfg.Binds {
		for _, k := range kinds {
			c.binds = append(c.binds, c.newBind(i, k))
		}
	}
	return c, nil
}

// Run binds and keeps every bind up until ctx ends or Close is called,
// then unbinds gracefully (responses in flight are waited for) and
// returns nil.
func (c *Client) Run(ctx context.Context) error {
	if c.h == nil {
		return errors.New("smpp: client has no DeliverHandler")
	}
	if err := c.life.begin(); err != nil {
		return err
	}
	defer c.life.end()

	// rctx stops dialling, back-off, senders and enquire_link; handlers
	// keep ctx so that a stop lets them finish storing.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, b := range c.binds {
		wg.Go(func() { b.run(ctx, rctx) })
	}
	select {
	case <-ctx.Done():
	case <-c.life.stop:
	}
	c.life.shut() // Submit calls not yet placed fail from here on
	cancel()
	drain, stop := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.ResponseTimeout+c.cfg.HandlerTimeout)
	defer stop()
	var uw sync.WaitGroup
	for _, b := range c.binds {
		if s := b.sess.Load(); s != nil {
			uw.Go(func() { s.unbind(drain) })
		}
	}
	uw.Wait()
	wg.Wait()
	return nil
}

// SetHandler sets the handler of deliveries. Call it before Run.
func (c *Client) SetHandler(h DeliverHandler) { c.h = h }

// Close unbinds every bind gracefully and waits for Run to return. It is
// idempotent.
func (c *Client) Close() error {
	c.life.closeAndWait()
	return nil
}

// Status returns a snapshot of every bind.
func (c *Client) Status() []BindStatus {
	out := make([]BindStatus, len(c.binds))
	for i, b := range c.binds {
		st := BindStatus{Partner: c.cfg.Partner, Name: b.name, SystemID: c.cfg.SystemID,
			Kind: b.kind.String(), Remote: c.cfg.Address, Counters: b.counters.snapshot()}
		if s := b.sess.Load(); s != nil {
			st.Outstanding = s.outstanding()
		}
		b.state.fill(&st)
		out[i] = st
	}
	return out
}

// Submit sends msg as a submit_sm on the next bind with a token and a free
// window slot, and waits for the submit_sm_resp. ESME_RTHROTTLED pauses
// that bind and sends the message again (on whichever bind is free first)
// until ctx ends; ESME_RMSGQFUL is retried MsgQFullRetries times with
// growing delays; any other error status is final and returned as a
// *StatusError. ErrConnectionLost and ErrResponseTimeout mean the SMSC may
// or may not have the message.
func (c *Client) Submit(ctx context.Context, msg *Message) (SubmitResult, error) {
	var res SubmitResult
	frame, err := AppendMessage(nil, CmdSubmitSM, 0, msg)
	if err != nil {
		return res, err
	}
	queueFull := 0
	delay := newBackoff(c.cfg.MsgQFullDelay, 16*c.cfg.MsgQFullDelay)
	for {
		p, err := c.place(ctx, frame)
		if err != nil {
			return res, err
		}
		res.Attempts++
		res.Bind = p.b.name
		r := p.s.wait(ctx, p.c)
		p.b.counters.countResult(r.h.Status, r.err)
		if r.err != nil {
			p.b.state.setErr(r.err)
			return res, fmt.Errorf("smpp: submit_sm on %s: %w", p.b.name, r.err)
		}
		switch r.h.Status {
		case StatusOK:
			p.b.succeeded()
			if sr, ok := r.p.(*pdu.SubmitSMResp); ok {
				res.MessageID = sr.MessageID
			}
			return res, nil
		case StatusThrottled:
			// SMPP 3.4 5.1.3 ESME_RTHROTTLED: the ESME exceeded its
			// allowed rate. Pause the bind, send the message again.
			p.b.throttled()
			continue
		case StatusMsgQFul:
			if queueFull < c.cfg.MsgQFullRetries {
				queueFull++
				if err := c.clk.Sleep(ctx, delay.next()); err != nil {
					return res, err
				}
				continue
			}
		}
		serr := &StatusError{Command: r.h.Command, Status: r.h.Status}
		p.b.state.setErr(serr)
		return res, serr
	}
}

// job is one submit_sm attempt waiting for a sender.
type job struct {
	frame  []byte
	state  atomic.Uint32 // jobQueued, jobTaken, jobAbandoned
	placed chan placement
}

const (
	jobQueued uint32 = iota
	jobTaken
	jobAbandoned
)

type placement struct {
	b *clientBind
	s *session
	c *call
}

// place hands frame to a sender and returns where it was sent. A sender
// whose bind dies before writing gives the job back, and it is placed
// again: an unsent message is safe to send anywhere.
func (c *Client) place(ctx context.Context, frame []byte) (placement, error) {
	for {
		j := &job{frame: frame, placed: make(chan placement, 1)}
		select {
		case c.jobs <- j:
		case <-ctx.Done():
			return placement{}, ctx.Err()
		case <-c.life.stop:
			return placement{}, ErrClosed
		}
		var p placement
		select {
		case p = <-j.placed:
		case <-ctx.Done():
			if j.state.CompareAndSwap(jobQueued, jobAbandoned) {
				return placement{}, ctx.Err()
			}
			// The sender has it: wait for the write, then drop the call.
			if p = <-j.placed; p.c != nil {
				p.s.forget(p.c)
			}
			return placement{}, ctx.Err()
		}
		if p.c != nil {
			return p, nil
		}
	}
}
