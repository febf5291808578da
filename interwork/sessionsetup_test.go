package interwork

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"iwf/internal/testutil"
	"iwf/store"
)

// The set-up of a conversation's session is a chain of store round
// trips before its first SEND; these tests hold one link of it and show
// what goes on meanwhile. They run in a synctest bubble: synctest.Wait
// says when everything that can go on without the held link has.

// heldCluster is a Cluster whose ReserveSession answers admit once hold
// is closed (nil: at once); reserving counts the calls waiting.
type heldCluster struct {
	hold  chan struct{}
	admit bool
	mu    sync.Mutex
	// reserving counts the reservations waiting for hold.
	reserving int
}

func (c *heldCluster) TakeTokens(_ context.Context, _ string, _, _ float64, want int, _ time.Time) (int, error) {
	return want, nil
}

func (c *heldCluster) ReserveSession(ctx context.Context, _, _ string, _, _ int) (bool, error) {
	if c.hold != nil {
		c.mu.Lock()
		c.reserving++
		c.mu.Unlock()
		select {
		case <-c.hold:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	return c.admit, nil
}

func (c *heldCluster) waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reserving
}

func (c *heldCluster) Heartbeat(context.Context, string, store.NodeStatus, time.Duration, time.Time) error {
	return nil
}

func (c *heldCluster) Nodes(context.Context) ([]store.Node, error) { return nil, nil }

// setupRecords is a memStore's records that can be put back as
// store.Store's can (LoadSaveConversation, DeleteConversation), logging
// each write as it is issued and as it lands; a write of the state
// holdState waits for hold to be closed.
type setupRecords struct {
	*memStore
	holdState string
	hold      chan struct{}
	mu        sync.Mutex
	issued    []string
	landed    []string
}

func (r *setupRecords) note(list *[]string, what string) {
	r.mu.Lock()
	*list = append(*list, what)
	r.mu.Unlock()
}

func (r *setupRecords) logs() (issued, landed []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.issued), slices.Clone(r.landed)
}

func (r *setupRecords) SaveConversation(ctx context.Context, conv string, fields map[string]string, ttl time.Duration) error {
	what := "save " + fields["state"]
	r.note(&r.issued, what)
	if r.hold != nil && fields["state"] == r.holdState {
		<-r.hold
	}
	err := r.memStore.SaveConversation(ctx, conv, maps.Clone(fields), ttl)
	r.note(&r.landed, what)
	return err
}

func (r *setupRecords) LoadSaveConversation(ctx context.Context, conv string, fields map[string]string, ttl time.Duration) (map[string]string, error) {
	what := "load-save " + fields["state"]
	r.note(&r.issued, what)
	old, err := r.memStore.LoadConversation(ctx, conv)
	if err == nil {
		err = r.memStore.SaveConversation(ctx, conv, maps.Clone(fields), ttl)
	}
	r.note(&r.landed, what)
	return maps.Clone(old), err
}

func (r *setupRecords) DeleteConversation(_ context.Context, conv string) error {
	r.note(&r.issued, "delete")
	r.memStore.mu.Lock()
	delete(r.memStore.records, conv)
	r.memStore.mu.Unlock()
	r.note(&r.landed, "delete")
	return nil
}

// stored is the conversation's record as the store has it.
func (r *setupRecords) stored(key string) map[string]string {
	r.memStore.mu.Lock()
	defer r.memStore.mu.Unlock()
	return maps.Clone(r.memStore.records[key])
}

func setupPolicy() Policy {
	pol := unitPolicy()
	pol.Promotion = PromoteAlways
	pol.MaxSessions = 10
	return pol
}

// With a Cluster keeping the partner's shared session count, the
// record's opening write goes while the reservation is in the store,
// not after it; the session opens once it is admitted.
func TestSessionReservedWhileRecordOpens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &settlingStore{memStore: newMemStore()}
		rec := &setupRecords{memStore: st.memStore}
		cl := &heldCluster{hold: make(chan struct{}), admit: true}
		u := startClustered(t, st, rec, nil, cl, setupPolicy())
		admit := sync.OnceFunc(func() { close(cl.hold) })
		t.Cleanup(admit) // before the engine stops, should the test fail
		u.submit(t, "hello")
		synctest.Wait()
		issued, _ := rec.logs()
		if cl.waiting() != 1 || !slices.Equal(issued, []string{"load-save opening"}) {
			t.Fatalf("while the reservation is held (%d waiting): record writes %q, want the opening one", cl.waiting(), issued)
		}
		if n := u.sessions.openCount(); n != 0 {
			t.Fatalf("%d sessions opened before the reservation was admitted", n)
		}
		admit()
		if m := u.nextCall(t).nextSent(t); string(m.Body) == "" {
			t.Fatal("empty SEND")
		}
	})
}

// A session the shared count refuses after the record's opening write
// leaves the record as the refusal found it, as when it was refused
// before the write: none stays none, an idle one stays as it was (its
// Conversation-ID is the pager-mode fallback's).
func TestSessionRefusedPutsRecordBack(t *testing.T) {
	key := testKey("p", "+46700000001", "+46700000002").String()
	for _, tc := range []struct {
		name   string
		before map[string]string
	}{
		{name: "none"},
		{name: "idle", before: map[string]string{"state": "idle", "node": "n0", "partner": "p", "sms": "+46700000001", "rcs": "+46700000002",
			"last_activity": "2024-01-01T00:00:00Z", "conversation_id": "thread-1", "call_id": "old-call"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &settlingStore{memStore: newMemStore()}
			if tc.before != nil {
				st.records[key] = maps.Clone(tc.before)
			}
			rec := &setupRecords{memStore: st.memStore}
			pol := setupPolicy()
			pol.OnSessionLimit = FallbackPager
			u := startClustered(t, st, rec, nil, &heldCluster{admit: false}, pol)
			u.submit(t, "hello")
			select {
			case m := <-u.pager.sent:
				if m.Text != "hello" || m.ConversationID != tc.before["conversation_id"] {
					t.Fatalf("relayed %q with Conversation-ID %q, want hello with %q", m.Text, m.ConversationID, tc.before["conversation_id"])
				}
			case <-time.After(30 * time.Second):
				t.Fatal("nothing relayed")
			}
			if issued, _ := rec.logs(); len(issued) == 0 || issued[0] != "load-save opening" {
				t.Fatalf("record writes %q, want the opening one first", issued)
			}
			if got := rec.stored(key); !maps.Equal(got, tc.before) {
				t.Fatalf("record %v after the refusal, want it as it was: %v", got, tc.before)
			}
			if n := u.sessions.openCount(); n != 0 {
				t.Fatalf("%d sessions opened", n)
			}
		})
	}
}

// The record's "active" write does not hold up the first SEND; the
// record's later writes land after it, in the order the worker issued
// them, and the engine's stop waits for it.
func TestSessionActiveRecordInBackground(t *testing.T) {
	key := testKey("p", "+46700000001", "+46700000002").String()
	for _, tc := range []struct {
		name string
		// end ends the session while the active write is held, and
		// returns what has to be done once it was let through.
		end func(t *testing.T, u *unit, call *fakeCall) (finish func())
		// stopped says the engine was stopped, not only the session.
		stopped bool
	}{
		{name: "session ends", end: func(t *testing.T, u *unit, call *fakeCall) func() {
			_ = call.Close(testutil.Context(t))
			return func() {}
		}},
		{name: "engine stops", stopped: true, end: func(t *testing.T, u *unit, call *fakeCall) func() {
			go u.stop()
			return func() { <-u.done }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := &settlingStore{memStore: newMemStore()}
				rec := &setupRecords{memStore: st.memStore, holdState: string(stateActive), hold: make(chan struct{})}
				u := startClustered(t, st, rec, nil, &heldCluster{admit: true}, setupPolicy())
				release := sync.OnceFunc(func() { close(rec.hold) })
				t.Cleanup(release) // before the engine stops, should the test fail
				u.submit(t, "hello")
				call := u.nextCall(t)
				if m := call.nextSent(t); string(m.Body) == "" {
					t.Fatal("empty SEND")
				}
				_, landed := rec.logs()
				if slices.Contains(landed, "save active") {
					t.Fatal("the active write landed though held")
				}
				finish := tc.end(t, u, call)
				synctest.Wait()
				if issued, _ := rec.logs(); slices.Contains(issued, "save closing") {
					t.Fatalf("record writes %q: the closing one went while the active one was held", issued)
				}
				if tc.stopped {
					select {
					case <-u.done:
						t.Fatal("the engine stopped with a record write held")
					default:
					}
				}
				release()
				finish()
				synctest.Wait()
				want := []string{"load-save opening", "save active", "save closing", "save idle"}
				if _, landed := rec.logs(); !slices.Equal(landed, want) {
					t.Fatalf("record writes landed %q, want %q", landed, want)
				}
				if got := rec.stored(key)["state"]; got != string(stateIdle) {
					t.Fatalf("record state %q, want idle", got)
				}
			})
		})
	}
}
