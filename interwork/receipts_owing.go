package interwork

import "context"

// Provisional receipts written while their SEND goes. A message sent
// into a session with a Success-Report is owed its provisional receipt
// (oweAccepted), which its REPORT or IMDN replaces under the same id.
// Written before the SEND, it cost a store round trip in front of every
// message a worker sent: under a steady rate most batches hold one or
// two messages, and the round trip was a good part of each one's
// latency. So the write starts just before the SEND is queued and goes
// alongside it, and what the order protected is kept otherwise:
//
//   - the store sees the provisional write before any later write about
//     the same message: the final receipt (a REPORT, an IMDN, a failure:
//     finish), the intermediate notification and the take-back of what
//     was filed for it (sendDone, unsent), its wait for an IMDN in the
//     store (keepAwaiting). Each waits for the provisional write to have
//     returned (owedFirst), since a schedule write replaces what is
//     there whatever it is: a REPORT quicker than the store must replace
//     the provisional receipt, never be replaced by it;
//   - the worker acknowledges a message in its queue only once its
//     provisional write returned (sendDone, and the batch's end waits
//     for them all), so a receipt is in the store before the message
//     leaves the queue, as before;
//   - the write is detached from the worker's stop, as the SEND is (a
//     SEND in flight finishes when the node stops), and bounded by the
//     store's wait per attempt (oweOne): a stop in the middle neither
//     loses the receipt of a message that went nor leaves the write
//     behind, since the worker waits for it before it acknowledges and
//     releases its lease.
//
// A write that fails is reported (oweAccepted) and the message goes on,
// as when the write came first.

// oweProvisional starts writing q's provisional receipt, unless one is
// being written already.
func (c *conv) oweProvisional(ctx context.Context, q *queued) {
	c.mu.Lock()
	if _, ok := c.owing[q]; ok {
		c.mu.Unlock()
		return
	}
	if c.owing == nil {
		c.owing = make(map[*queued]chan struct{})
	}
	done := make(chan struct{})
	c.owing[q] = done
	c.mu.Unlock()
	octx := context.WithoutCancel(ctx)
	c.owes.Add(1)
	go func() {
		defer c.owes.Done()
		c.e.oweAccepted(octx, c.partner, q, false)
		c.mu.Lock()
		delete(c.owing, q)
		c.mu.Unlock()
		close(done)
	}()
}

// owedFirst waits until q's provisional receipt, if one is being
// written, was written (or failed to be).
func (c *conv) owedFirst(q *queued) {
	c.mu.Lock()
	done := c.owing[q]
	c.mu.Unlock()
	if done == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	c.owingWaits.Add(1)
	<-done
	c.owingWaits.Add(-1)
}
