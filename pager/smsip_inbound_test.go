package pager_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"iwf/pager"
	"iwf/sms/rp"
)

// rpReplies records the relay-layer answers the Inbound sends.
type rpReplies struct{ sent chan pager.RPOutgoing }

func (r *rpReplies) SendRP(_ context.Context, m pager.RPOutgoing) (pager.Result, error) {
	r.sent <- m
	return pager.Result{Outcome: pager.Delivered, Status: 200}, nil
}

func (r *rpReplies) next(t *testing.T) rp.Message {
	t.Helper()
	select {
	case m := <-r.sent:
		msg, err := rp.Decode(m.RP)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	case <-time.After(10 * time.Second):
		t.Fatal("no relay-layer answer")
		return nil
	}
}

// An RP-SMMA (TS 24.011 7.3.2) reaches the Store, which retries what
// waits for the handset's memory, and is answered RP-ACK; a Store that
// cannot take it has it answered RP-ERROR, so that the handset repeats it.
func TestInboundSMMAReachesStore(t *testing.T) {
	for _, tc := range []struct {
		name     string
		storeErr error
		want     rp.Cause
	}{
		{"taken", nil, 0},
		{"store down", errors.New("store down"), rp.CauseTemporaryFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			replies := &rpReplies{sent: make(chan pager.RPOutgoing, 4)}
			tr := loopbackTrunk("ims")
			tr.SMSOverIP, tr.SCAddress = true, "+447700900999"
			w := startIWF(t, []pager.Trunk{tr}, func(c *pager.InboundConfig) { c.Replies = replies })
			w.store.SetError(tc.storeErr)
			// RP-SMMA: MTI 6 (ms->n), reference 0x2A.
			res := send(t, client(t), message(t, w, "udp", pager.ContentTypeSMS, "\x06\x2a"))
			if res.StatusCode != 202 {
				t.Fatalf("answered %d, want 202", res.StatusCode)
			}
			got := replies.next(t)
			if w.store.Calls() != 1 {
				t.Fatalf("the Store saw %d calls, want the RP-SMMA", w.store.Calls())
			}
			switch a := got.(type) {
			case *rp.Ack:
				if tc.want != 0 || a.Ref != 0x2a {
					t.Fatalf("RP-ACK %+v, want RP-ERROR %v", a, tc.want)
				}
			case *rp.ErrorMsg:
				if a.Cause != tc.want || a.Ref != 0x2a {
					t.Fatalf("RP-ERROR %+v, want cause %v for reference 42", a, tc.want)
				}
			default:
				t.Fatalf("answered %#v", got)
			}
			if tc.storeErr == nil {
				if msgs := w.store.Messages(); len(msgs) != 1 || msgs[0].SMS == nil {
					t.Fatalf("stored %+v, want the RP-SMMA", msgs)
				} else if _, ok := msgs[0].SMS.RP.(*rp.SMMA); !ok {
					t.Fatalf("stored %#v, want the RP-SMMA", msgs[0].SMS.RP)
				}
			}
		})
	}
}
