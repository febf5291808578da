package interwork

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/pager"
	"iwf/session/sipsession"
	"iwf/smpp"
	"iwf/smpp/concat"
	"iwf/store"
)

// parkedRecords is a memStore with a parked list of older versions that
// counts the Pops and TakeDues the engine makes.
type parkedRecords struct {
	*memStore
	pops, takes atomic.Int64
	mu          sync.Mutex
	parked      [][]byte
}

func (r *parkedRecords) Pop(context.Context, string, time.Duration) ([]byte, bool, error) {
	r.pops.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.parked) == 0 {
		return nil, false, nil
	}
	v := r.parked[0]
	r.parked = r.parked[1:]
	return v, true, nil
}

func (r *parkedRecords) TakeDue(ctx context.Context, name string, now time.Time, hold time.Duration, count int) ([]store.Scheduled, error) {
	defer r.takes.Add(1)
	return r.memStore.TakeDue(ctx, name, now, hold, count)
}

func (r *parkedRecords) park(t *testing.T, msgID string) {
	t.Helper()
	b, err := json.Marshal(parkedReceipt{
		Message: &queued{ID: msgID, Text: "parked", Receipt: &receiptTo{ID: msgID, SrcAddr: "+46700000001", DstAddr: "+46700000002"}},
		Outcome: Delivered,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.parked = append(r.parked, b)
}

// The taker of a partner's receipts looks at the list where older
// versions parked them when it starts, draining it, and then at most
// once per parkedEvery of the engine's clock, not after every wake-up:
// under load a wake-up comes with every batch of receipts, and a look
// is a round trip to Redis.
func TestRelayReceiptsPopsParkedOncePerTick(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	rec := &parkedRecords{memStore: newMemStore()}
	rec.park(t, "old1")
	rec.park(t, "old2")
	sms := &fakeSMS{receipts: make(chan *smpp.Message, 8)}
	eng, err := New(Config{
		Node: "n1", Queue: rec.memStore, Leases: rec.memStore, Records: rec,
		Parts: concat.NewMemoryStore(), Refs: concat.NewMemoryRefs(100, 1),
		Partners: []Partner{{Name: "p", Numbers: []string{"+"}, DeliverVia: ViaSMPP}},
		RCS: RCS{Sessions: &fakeSessions{calls: make(chan *fakeCall, 8)}, Trunk: sipsession.DefaultTrunk(),
			Domain: "iwf.test", PagerPartner: "rcs"},
		SMS: sms, Pager: &fakePager{sent: make(chan pager.Outgoing, 8)},
		LeaseTTL: 30 * time.Millisecond, RecoverEvery: 10 * time.Millisecond,
		Now:       now,
		StoreWait: 50 * time.Millisecond,
		Logger:    testutil.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	// awaitReceipts awaits the receipts for ids, in any order: 64 senders
	// send them.
	awaitReceipts := func(ids ...string) {
		t.Helper()
		want := make(map[string]bool)
		for _, id := range ids {
			want["id:"+id+" "] = true
		}
		for len(want) > 0 {
			select {
			case m := <-sms.receipts:
				id, _, _ := strings.Cut(string(m.ShortMessage), "sub:")
				if !want[id] {
					t.Fatalf("receipt %q, want those for %q", m.ShortMessage, ids)
				}
				delete(want, id)
			case <-time.After(testutil.WaitTimeout):
				t.Fatalf("no receipt for %v", want)
			}
		}
	}
	// At start: both parked receipts adopted and sent, the list drained.
	awaitReceipts("old1", "old2")
	testutil.Eventually(t, func() bool { return rec.pops.Load() >= 3 }, "the parked list drained: two receipts and an empty Pop")

	// Wake-ups within the tick take due receipts without looking at the
	// list: the one parked now waits for the next tick.
	rec.park(t, "old3")
	for range 5 {
		takes := rec.takes.Load()
		eng.wakeReceipts("p")
		testutil.Eventually(t, func() bool { return rec.takes.Load() > takes }, "a TakeDue after the wake-up")
	}
	if n := rec.pops.Load(); n != 3 {
		t.Fatalf("%d Pops after five wake-ups within a tick, want 3 (those at start)", n)
	}

	// A tick later the list is looked at again.
	clock.Add(int64(parkedEvery))
	eng.wakeReceipts("p")
	awaitReceipts("old3")
	testutil.Eventually(t, func() bool { return rec.pops.Load() >= 5 }, "the parked list drained again")
	if n := rec.pops.Load(); n != 5 {
		t.Fatalf("%d Pops after a tick, want 5", n)
	}
}
