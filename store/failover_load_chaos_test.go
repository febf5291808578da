//go:build chaos

package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// failoverLoad is the traffic of a failover test: producers each take
// the next message number and enqueue it, retrying a refusal
// (ErrUnavailable) until it is acknowledged, as a peer retries after
// "try later". onRefusal and onAck, when set, see the running counts of
// refusals and acknowledgements (the lagging variants watch them).
type failoverLoad struct {
	messages, convs int
	onRefusal       func(refusals int64)
	onAck           func(acked int64)

	next     atomic.Int64
	acked    sync.Map // msgID -> true
	nAcked   atomic.Int64
	refusals atomic.Int64
	third    chan struct{} // a third of the messages are acknowledged
	once     sync.Once
	wg       sync.WaitGroup
	fatal    chan error
}

// start runs producers against s until every message is acknowledged.
func (l *failoverLoad) start(ctx context.Context, s *Store, producers int) {
	l.third = make(chan struct{})
	l.fatal = make(chan error, producers)
	for range producers {
		l.wg.Go(func() {
			for {
				n := int(l.next.Add(1))
				if n > l.messages {
					return
				}
				id := fmt.Sprint("m", n)
				conv := fmt.Sprint("c", n%l.convs)
				for {
					_, err := s.Enqueue(ctx, conv, id, []byte(id), time.Hour, 1<<20)
					if err == nil {
						break
					}
					if !errors.Is(err, ErrUnavailable) {
						l.fatal <- err
						return
					}
					r := l.refusals.Add(1)
					if l.onRefusal != nil {
						l.onRefusal(r)
					}
					// A peer's retry interval: pacing, not synchronisation.
					time.Sleep(10 * time.Millisecond)
				}
				l.acked.Store(id, true)
				a := l.nAcked.Add(1)
				if a == int64(l.messages/3) {
					l.once.Do(func() { close(l.third) })
				}
				if l.onAck != nil {
					l.onAck(a)
				}
			}
		})
	}
}

// await waits for ch, failing the test when a producer failed first.
func (l *failoverLoad) await(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case err := <-l.fatal:
		t.Fatal(err)
	}
}

// finish waits for the producers and fails the test when one failed.
func (l *failoverLoad) finish(t *testing.T) {
	t.Helper()
	l.wg.Wait()
	select {
	case err := <-l.fatal:
		t.Fatal(err)
	default:
	}
}

// tally reads every queue out through r: an acknowledged message missing
// is lost, one read twice duplicated.
func (l *failoverLoad) tally(t *testing.T, ctx context.Context, r *Store) failoverCounts {
	t.Helper()
	seen := map[string]int{}
	for i := range l.convs {
		es, err := r.Read(ctx, fmt.Sprint("c", i), 1<<20, 0)
		must(t, err)
		for _, e := range es {
			seen[e.MsgID]++
		}
	}
	c := failoverCounts{sent: l.messages, acked: int(l.nAcked.Load()), refusals: l.refusals.Load()}
	for id, n := range seen {
		if _, ok := l.acked.Load(id); !ok {
			c.unackedStored++
		}
		c.delivered++
		c.duplicated += n - 1
	}
	l.acked.Range(func(k, _ any) bool {
		if seen[k.(string)] == 0 {
			c.lost++
		}
		return true
	})
	return c
}
