package interwork

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/pager"
	"iwf/session/sipsession"
	"iwf/smpp"
	"iwf/smpp/concat"
)

// settlingStore is a memStore that settles a queue and frees its lease
// in one call, as store.Store's SettleRelease does, and logs the calls
// that end a worker.
type settlingStore struct {
	*memStore
	mu    sync.Mutex
	calls []string
	// gate, when set, holds SettleRelease until it is closed; entered
	// gets a value as each call starts waiting.
	gate    chan struct{}
	entered chan struct{}
}

func (s *settlingStore) log(call string) {
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
}

func (s *settlingStore) taken() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.calls
	s.calls = nil
	return out
}

func (s *settlingStore) SettleRelease(ctx context.Context, conv, owner string) (bool, error) {
	s.log("settle-release")
	if s.gate != nil {
		s.entered <- struct{}{}
		<-s.gate
	}
	settled, err := s.memStore.Settle(ctx, conv)
	if err != nil || !settled {
		return false, err
	}
	s.memStore.mu.Lock()
	if s.memStore.leases[conv] == owner {
		delete(s.memStore.leases, conv)
	}
	s.memStore.mu.Unlock()
	return true, nil
}

func (s *settlingStore) Settle(ctx context.Context, conv string) (bool, error) {
	s.log("settle")
	return s.memStore.Settle(ctx, conv)
}

func (s *settlingStore) Release(ctx context.Context, name, owner string) error {
	s.log("release")
	return s.memStore.Release(ctx, name, owner)
}

// startSettling is startUnit, pager-mode only, on a settlingStore.
func startSettling(t *testing.T, st *settlingStore) *unit {
	t.Helper()
	pol := unitPolicy()
	pol.Promotion = PromoteNever
	return startWrapped(t, st, st.memStore, nil, pol)
}

// startWrapped is startUnit with the store's roles and the sessions
// wrapped (sess nil: the unit's fakes).
func startWrapped(t *testing.T, st *settlingStore, rec Records, sess func(*fakeSessions) Sessions, pol Policy) *unit {
	t.Helper()
	return startClustered(t, st, rec, sess, nil, pol)
}

// startClustered is startWrapped with the shared limits of cl (nil:
// none).
func startClustered(t *testing.T, st *settlingStore, rec Records, sess func(*fakeSessions) Sessions, cl Cluster, pol Policy) *unit {
	t.Helper()
	u := &unit{
		st:       st.memStore,
		parts:    concat.NewMemoryStore(),
		sessions: &fakeSessions{calls: make(chan *fakeCall, 8)},
		pager:    &fakePager{sent: make(chan pager.Outgoing, 8)},
		sms:      &fakeSMS{receipts: make(chan *smpp.Message, 8)},
		done:     make(chan struct{}),
	}
	var sessions Sessions = u.sessions
	if sess != nil {
		sessions = sess(u.sessions)
	}
	var err error
	u.eng, err = New(Config{
		Node: "n1", Queue: st, Leases: st, Records: rec, Cluster: cl,
		Parts: u.parts, Refs: concat.NewMemoryRefs(100, 1),
		Partners: []Partner{{Name: "p", Numbers: []string{"+"}, DeliverVia: ViaSMPP, Policy: pol}},
		RCS:      RCS{Sessions: sessions, Trunk: sipsession.DefaultTrunk(), Domain: "iwf.test", PagerPartner: "rcs"},
		SMS:      u.sms, Pager: u.pager,
		LeaseTTL: time.Minute, RecoverEvery: time.Hour,
		StoreWait: 5 * time.Second,
		Logger:    testutil.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	u.run(t)
	return u
}

// relayed awaits the next pager-mode message toward the RCS side.
func (u *unit) relayed(t *testing.T) string {
	t.Helper()
	select {
	case m := <-u.pager.sent:
		return m.Text
	case <-time.After(30 * time.Second):
		t.Fatal("nothing relayed")
		return ""
	}
}

// workers is how many conversations this node works on, leaving ones
// included.
func (u *unit) workers() int {
	u.eng.mu.Lock()
	defer u.eng.mu.Unlock()
	return len(u.eng.convs) + len(u.eng.leaving)
}

// A worker whose queue ran empty ends with one store call, which
// settles the queue and frees the lease (one round trip on store.Store;
// Settle and Release took four).
func TestConvEndOneStoreCall(t *testing.T) {
	st := &settlingStore{memStore: newMemStore()}
	u := startSettling(t, st)
	u.submit(t, "one")
	if got := u.relayed(t); got != "one" {
		t.Fatalf("relayed %q", got)
	}
	testutil.Eventually(t, func() bool { return u.workers() == 0 }, "worker gone")
	if got := st.taken(); !slices.Equal(got, []string{"settle-release"}) {
		t.Fatalf("the worker ended with %q, want one settle-release", got)
	}
	if owner, _ := st.Owner(testutil.Context(t), testKey("p", "+46700000001", "+46700000002").String()); owner != "" {
		t.Fatalf("lease held by %q after the worker left", owner)
	}
}

// A message that comes while the worker is leaving (its settle and
// release in flight) is relayed by a new worker, started once the
// leaving one is done: the leaving worker found the queue not empty and
// kept the lease for it.
func TestConvMessageWhileLeaving(t *testing.T) {
	st := &settlingStore{memStore: newMemStore(), gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	u := startSettling(t, st)
	u.submit(t, "first")
	if got := u.relayed(t); got != "first" {
		t.Fatalf("relayed %q", got)
	}
	select {
	case <-st.entered: // the worker is leaving
	case <-time.After(30 * time.Second):
		t.Fatal("the worker never settled and released")
	}
	msgs, err := smpp.TextMessages(smsAddr("+46700000001"), smsAddr("+46700000002"), "second", smpp.TextOptions{}, nil)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	// The submit waits for the leaving worker: not from the test's
	// goroutine, which lets it go on.
	submitted := make(chan error, 1)
	go func() {
		_, err := u.eng.HandleSubmit(testutil.Context(t), "p", msgs[0])
		submitted <- err
	}()
	testutil.Eventually(t, func() bool { return u.queueLen(t) == 1 }, "second message queued")
	close(st.gate)
	if got := u.relayed(t); got != "second" {
		t.Fatalf("relayed %q", got)
	}
	if err := <-submitted; err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, func() bool { return u.workers() == 0 }, "second worker gone")
	if got := st.taken(); !slices.Equal(got, []string{"settle-release", "settle-release"}) {
		t.Fatalf("the workers ended with %q, want the first one's settle-release, which kept the lease, then the second one's", got)
	}
}

// loadSaveRecords is a memStore that reads and writes a record in one
// call, as store.Store's LoadSaveConversation does, and logs the
// record calls.
type loadSaveRecords struct {
	*memStore
	mu    sync.Mutex
	calls []string
}

func (r *loadSaveRecords) log(call string) {
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.mu.Unlock()
}

func (r *loadSaveRecords) taken() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func (r *loadSaveRecords) LoadConversation(ctx context.Context, conv string) (map[string]string, error) {
	r.log("load")
	return r.memStore.LoadConversation(ctx, conv)
}

func (r *loadSaveRecords) SaveConversation(ctx context.Context, conv string, fields map[string]string, ttl time.Duration) error {
	r.log("save " + fields["state"])
	return r.memStore.SaveConversation(ctx, conv, fields, ttl)
}

func (r *loadSaveRecords) LoadSaveConversation(ctx context.Context, conv string, fields map[string]string, ttl time.Duration) (map[string]string, error) {
	r.log("load-save " + fields["state"])
	old, err := r.memStore.LoadConversation(ctx, conv)
	if err != nil {
		return nil, err
	}
	return old, r.memStore.SaveConversation(ctx, conv, fields, ttl)
}

// idSessions hands on the Conversation-ID of each session opened.
type idSessions struct {
	*fakeSessions
	ids chan string
}

func (s idSessions) Open(ctx context.Context, r sipsession.OpenRequest) (Call, error) {
	s.ids <- r.ConversationID
	return s.fakeSessions.Open(ctx, r)
}

// A session open reads the conversation's record, for the
// Conversation-ID it keeps, and records the state opening in one store
// call (one round trip on store.Store; the read and the write took two).
func TestConvOpenOneRecordCall(t *testing.T) {
	st := &settlingStore{memStore: newMemStore()}
	rec := &loadSaveRecords{memStore: st.memStore}
	ids := make(chan string, 1)
	key := testKey("p", "+46700000001", "+46700000002").String()
	if err := st.SaveConversation(testutil.Context(t), key, map[string]string{"state": "idle", "conversation_id": "thread-1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	pol := unitPolicy()
	pol.Promotion = PromoteAlways
	u := startWrapped(t, st, rec, func(f *fakeSessions) Sessions { return idSessions{f, ids} }, pol)
	u.submit(t, "hello")
	select {
	case id := <-ids:
		if id != "thread-1" {
			t.Fatalf("session opened with Conversation-ID %q, want the record's thread-1", id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no session opened")
	}
	if got := rec.taken(); len(got) == 0 || got[0] != "load-save opening" || slices.Contains(got, "load") {
		t.Fatalf("record calls %q, want load-save opening first and no load", got)
	}
}
