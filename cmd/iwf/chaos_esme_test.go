//go:build chaos

package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/linxGnu/gosmpp"
	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"iwf/smpp/receipt"
)

// submitter is a partner ESME that submits a stream of texts the way a
// real one does: a window of submits outstanding, paced, each sent again
// after an answer asking to try later (ESME_RX_T_APPN, ESME_RTHROTTLED,
// ESME_RMSGQFUL, ESME_RSYSERR: Kannel's temporary set) or after an
// attempt left without an answer (timeout, connection lost), and a bind
// made again whenever the connection drops. It runs on its own goroutine
// and reports only through its tally.
type submitter struct {
	addr     string
	from     string
	to       []string // recipients: one conversation each, texts in turn
	window   int
	interval time.Duration
	// respTimeout makes an attempt ambiguous; giveUp ends the tries of
	// one text, counted from its first.
	respTimeout, giveUp time.Duration
	tally               *tally

	mu      sync.Mutex
	bind    *bindBox
	pending map[int32]*attempt
	// texts maps every sequence number used to its text, so that a late
	// answer still counts; ids maps the message_id of each acknowledged
	// submit to its text, for the delivery receipts.
	texts map[int32]string
	ids   map[string]string
	retry []retryItem
	// binds counts the binds made.
	binds int
	// failures describes the first failure receipts.
	failures []string
	// bindErr is the last bind failure.
	bindErr error
}

// bindBox is one gosmpp session; dead is set when its connection closed.
type bindBox struct {
	sess *gosmpp.Session
	dead bool
}

type attempt struct {
	text, to string
	at       time.Time
	bind     *bindBox
}

type retryItem struct {
	text, to string
	at       time.Time
}

func newSubmitter(addr string, texts []string, to []string, tl *tally) *submitter {
	return &submitter{
		addr: addr, from: "46700000001", to: to, window: 10, interval: time.Millisecond,
		respTimeout: 10 * time.Second, giveUp: 90 * time.Second, tally: tl,
		pending: map[int32]*attempt{}, texts: map[int32]string{}, ids: map[string]string{},
	}
}

// moveTo makes the next binds go to addr (another node), as an ESME
// fails over to the next SMSC address it knows.
func (s *submitter) moveTo(addr string) {
	s.mu.Lock()
	s.addr = addr
	s.mu.Unlock()
}

// run submits every text of the tally and closes done once each was
// acknowledged or given up. It keeps the bind up (the delivery receipts
// come on it) until ctx ends.
func (s *submitter) run(ctx context.Context, done chan<- struct{}) {
	texts := s.tally.texts
	first := make(map[string]time.Time, len(texts))
	next := 0
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	defer s.close()
	var bindAt time.Time
	for {
		if done != nil && s.finished() {
			close(done)
			done = nil
			tick.Reset(100 * time.Millisecond) // only the bind to keep now
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		s.expire(now)
		if !s.bound() {
			if now.Before(bindAt) {
				continue
			}
			if err := s.connect(); err != nil {
				bindAt = now.Add(200 * time.Millisecond)
				continue
			}
		}
		if s.outstanding() >= s.window {
			continue
		}
		text, to, ok := s.dueRetry(now)
		if ok {
			if s.acknowledged(text) {
				continue // a late answer came after all
			}
			if now.Sub(first[text]) > s.giveUp {
				s.tally.giveUp(text)
				continue
			}
		} else if next < len(texts) {
			text, to = texts[next], s.to[next%len(s.to)]
			first[text] = now
			next++
		} else {
			continue
		}
		s.submit(text, to)
	}
}

// finished reports whether every text was acknowledged or given up.
func (s *submitter) finished() bool {
	done := true
	s.tally.view(func() {
		for _, text := range s.tally.texts {
			if s.tally.acked[text] == 0 && !s.tally.givenUp[text] {
				done = false
				return
			}
		}
	})
	return done
}

func (s *submitter) acknowledged(text string) bool {
	n := 0
	s.tally.view(func() { n = s.tally.acked[text] })
	return n > 0
}

func (s *submitter) bound() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bind != nil && !s.bind.dead
}

func (s *submitter) outstanding() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// dueRetry takes the first text waiting to be sent again whose time has
// come.
func (s *submitter) dueRetry(now time.Time) (text, to string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.retry {
		if !now.Before(r.at) {
			s.retry = append(s.retry[:i], s.retry[i+1:]...)
			return r.text, r.to, true
		}
	}
	return "", "", false
}

// again queues a text to be sent again after a pause; under s.mu.
func (s *submitter) again(a *attempt) {
	s.retry = append(s.retry, retryItem{text: a.text, to: a.to, at: time.Now().Add(500 * time.Millisecond)})
}

// expire makes attempts without an answer for respTimeout, or on a
// connection that closed, ambiguous.
func (s *submitter) expire(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for seq, a := range s.pending {
		if a.bind.dead || now.Sub(a.at) > s.respTimeout {
			delete(s.pending, seq)
			s.tally.unclear()
			s.again(a)
		}
	}
	if s.bind != nil && s.bind.dead {
		sess := s.bind.sess
		s.bind = nil
		go sess.Close() // waits for gosmpp's goroutines: not under s.mu
	}
}

// connect binds a transceiver.
func (s *submitter) connect() error {
	box := &bindBox{}
	settings := gosmpp.Settings{
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 5 * time.Second,
		OnAllPDU:     func(q pdu.PDU) (pdu.PDU, bool) { return s.onPDU(q) },
		OnClosed: func(gosmpp.State) {
			s.mu.Lock()
			box.dead = true
			s.mu.Unlock()
		},
	}
	s.mu.Lock()
	addr := s.addr
	s.mu.Unlock()
	auth := gosmpp.Auth{SMSC: addr, SystemID: "demo", Password: "demo"}
	sess, err := gosmpp.NewSession(gosmpp.TRXConnector(gosmpp.NonTLSDialer, auth), settings, 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.bindErr = err
		return err
	}
	box.sess = sess
	s.bind = box
	s.binds++
	return nil
}

func (s *submitter) close() {
	s.mu.Lock()
	b := s.bind
	s.bind = nil
	s.mu.Unlock()
	if b != nil {
		_ = b.sess.Close()
	}
}

// submit sends one attempt of text.
func (s *submitter) submit(text, to string) {
	sm := pdu.NewSubmitSM().(*pdu.SubmitSM)
	src, dst := pdu.NewAddress(), pdu.NewAddress()
	src.SetTon(1)
	src.SetNpi(1)
	dst.SetTon(1)
	dst.SetNpi(1)
	_ = src.SetAddress(s.from)
	_ = dst.SetAddress(to)
	sm.SourceAddr, sm.DestAddr = src, dst
	_ = sm.Message.SetMessageWithEncoding(text, data.GSM7BIT)
	sm.RegisteredDelivery = 1
	seq := sm.SequenceNumber
	s.tally.attempt(text)
	s.mu.Lock()
	b := s.bind
	a := &attempt{text: text, to: to, at: time.Now(), bind: b}
	s.pending[seq] = a
	s.texts[seq] = text
	s.mu.Unlock()
	if err := b.sess.Transceiver().Submit(sm); err != nil {
		s.mu.Lock()
		b.dead = true // expire sends it again
		s.mu.Unlock()
	}
}

// onPDU handles what the IWF sends: submit_sm_resp, and deliver_sm
// (delivery receipts), which it takes.
func (s *submitter) onPDU(q pdu.PDU) (pdu.PDU, bool) {
	switch r := q.(type) {
	case *pdu.SubmitSMResp:
		s.answered(r.SequenceNumber, r.CommandStatus, r.MessageID)
	case *pdu.DeliverSM:
		s.receipt(r)
		return q.GetResponse(), false
	case *pdu.EnquireLink:
		return q.GetResponse(), false
	case *pdu.Unbind:
		return q.GetResponse(), true
	}
	return nil, false
}

// receipt notes a delivery receipt that says the message failed.
func (s *submitter) receipt(d *pdu.DeliverSM) {
	if !receipt.IsReceipt(d.EsmClass) {
		return
	}
	b, err := d.Message.GetMessageData()
	if err != nil {
		return
	}
	r, err := receipt.Parse(b, receipt.Params{})
	if err != nil || r.State == receipt.Delivered {
		return
	}
	s.mu.Lock()
	text, ok := s.ids[r.ID]
	if !ok {
		text = r.Text
	}
	if len(s.failures) < 5 {
		s.failures = append(s.failures, fmt.Sprintf("%q %v err:%d", text, r.State, r.ErrorCode))
	}
	s.mu.Unlock()
	s.tally.failReport(text)
}

func (s *submitter) answered(seq int32, status data.CommandStatusType, id string) {
	s.mu.Lock()
	a := s.pending[seq]
	delete(s.pending, seq)
	text := s.texts[seq]
	if status == data.ESME_ROK {
		s.ids[id] = text
	}
	s.mu.Unlock()
	switch {
	case status == data.ESME_ROK:
		// An answer after the attempt was given up as ambiguous counts
		// too: the IWF stored the message.
		s.tally.ack(text)
	case a == nil:
	case temporary(status):
		s.tally.refuse()
		s.mu.Lock()
		s.again(a)
		s.mu.Unlock()
	default:
		s.tally.giveUp(text)
	}
}

func temporary(status data.CommandStatusType) bool {
	switch status {
	case data.ESME_RTHROTTLED, data.ESME_RMSGQFUL, data.ESME_RX_T_APPN, data.ESME_RSYSERR:
		return true
	}
	return false
}

// summary describes the sender's binds for the log.
func (s *submitter) summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := fmt.Sprintf("%d binds", s.binds)
	if len(s.failures) > 0 {
		msg += fmt.Sprintf(", failure receipts %v", s.failures)
	}
	if s.bindErr != nil && !errors.Is(s.bindErr, context.Canceled) {
		msg += fmt.Sprintf(", last bind failure: %v", s.bindErr)
	}
	return msg
}
