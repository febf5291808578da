package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/store/redistest"
)

func TestConversationRecord(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		got, err := e.s.LoadConversation(ctx, conv)
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("unknown record: %v, %v; want an empty map", got, err)
		}
		must(t, e.s.SaveConversation(ctx, conv, map[string]string{"state": "opening", "owner": "n1"}, time.Hour))
		must(t, e.s.SaveConversation(ctx, conv, map[string]string{"state": "active"}, e.ttl))
		got, err = e.s.LoadConversation(ctx, conv)
		must(t, err)
		if want := map[string]string{"state": "active", "owner": "n1"}; !maps.Equal(got, want) {
			t.Fatalf("record %v, want %v", got, want)
		}
		// The last Save's TTL counts.
		e.elapse(t, func() bool {
			m, err := e.s.LoadConversation(ctx, conv)
			return err == nil && len(m) == 0
		})
		must(t, e.s.SaveConversation(ctx, conv, map[string]string{"state": "idle"}, time.Hour))
		must(t, e.s.DeleteConversation(ctx, conv))
		if got, _ := e.s.LoadConversation(ctx, conv); len(got) != 0 {
			t.Fatalf("record after Delete: %v", got)
		}
		must(t, e.s.DeleteConversation(ctx, conv))
	})
}

func TestLeases(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		const name = conv
		steps := []struct {
			name  string
			do    func() (bool, error)
			want  bool
			owner string // holder after the step
		}{
			{"n1 acquires a free lease", func() (bool, error) { return e.s.Acquire(ctx, name, "n1", time.Hour) }, true, "n1"},
			{"n2 cannot acquire it", func() (bool, error) { return e.s.Acquire(ctx, name, "n2", time.Hour) }, false, "n1"},
			{"n1 acquires again (extends)", func() (bool, error) { return e.s.Acquire(ctx, name, "n1", time.Hour) }, true, "n1"},
			{"n2 cannot renew it", func() (bool, error) { return e.s.Renew(ctx, name, "n2", time.Hour) }, false, "n1"},
			{"n1 renews", func() (bool, error) { return e.s.Renew(ctx, name, "n1", time.Hour) }, true, "n1"},
			{"n2 cannot release it", func() (bool, error) {
				err := e.s.Release(ctx, name, "n2")
				return errors.Is(err, ErrNotHolder), nil
			}, true, "n1"},
			{"n1 releases", func() (bool, error) { return true, e.s.Release(ctx, name, "n1") }, true, ""},
			{"releasing a free lease is no error", func() (bool, error) { return true, e.s.Release(ctx, name, "n1") }, true, ""},
			{"n1 cannot renew a released lease", func() (bool, error) { return e.s.Renew(ctx, name, "n1", time.Hour) }, false, ""},
			{"n2 acquires it", func() (bool, error) { return e.s.Acquire(ctx, name, "n2", e.ttl) }, true, "n2"},
		}
		for _, st := range steps {
			got, err := st.do()
			if err != nil || got != st.want {
				t.Fatalf("%s: %v, %v; want %v", st.name, got, err, st.want)
			}
			owner, err := e.s.Owner(ctx, name)
			if err != nil || owner != st.owner {
				t.Fatalf("%s: owner %q, %v; want %q", st.name, owner, err, st.owner)
			}
		}
		// A dead holder's lease expires and another node takes it.
		e.elapse(t, func() bool { o, err := e.s.Owner(ctx, name); return err == nil && o == "" })
		if ok, err := e.s.Renew(ctx, name, "n2", time.Hour); err != nil || ok {
			t.Fatalf("renew after expiry: %v, %v", ok, err)
		}
		if ok, err := e.s.Acquire(ctx, name, "n1", time.Hour); err != nil || !ok {
			t.Fatalf("acquire after expiry: %v, %v", ok, err)
		}
	})
}

func TestHitWindows(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		for want := int64(1); want <= 3; want++ {
			n, err := e.s.Hit(ctx, "promote|"+conv, e.ttl)
			if err != nil || n != want {
				t.Fatalf("hit %d: %d, %v", want, n, err)
			}
		}
		if n, _ := e.s.Hit(ctx, "other", e.ttl); n != 1 {
			t.Fatalf("another key counted %d, want 1", n)
		}
		// Hits do not extend the window; after it the count restarts.
		raw := e.raw(t)
		e.elapse(t, func() bool { return raw.Exists(ctx, e.s.keys.hit("promote|"+conv)).Val() == 0 })
		if n, err := e.s.Hit(ctx, "promote|"+conv, e.ttl); err != nil || n != 1 {
			t.Fatalf("first hit of a new window: %d, %v", n, err)
		}
		if _, err := e.s.Hit(ctx, "k", 0); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("zero window: %v", err)
		}
	})
}

func TestPutGetTTL(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		if v, ok, err := e.s.Get(ctx, "smsc-1"); err != nil || ok || v != nil {
			t.Fatalf("Get of nothing: %q %v %v", v, ok, err)
		}
		val := []byte{0, 1, 0xff, 'x'}
		must(t, e.s.Put(ctx, "smsc-1", val, e.ttl))
		must(t, e.s.Put(ctx, "smsc-2", []byte("y"), time.Hour))
		if v, ok, err := e.s.Get(ctx, "smsc-1"); err != nil || !ok || !slices.Equal(v, val) {
			t.Fatalf("Get: %q %v %v", v, ok, err)
		}
		e.elapse(t, func() bool { _, ok, err := e.s.Get(ctx, "smsc-1"); return err == nil && !ok })
		must(t, e.s.Delete(ctx, "smsc-2"))
		if _, ok, _ := e.s.Get(ctx, "smsc-2"); ok {
			t.Fatal("value after Delete")
		}
		if err := e.s.Put(ctx, "k", nil, 0); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("Put without TTL: %v", err)
		}
	})
}

func TestNotifySubscribe(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		subCtx, cancel := context.WithCancel(ctx)
		ch, err := e.s.Subscribe(subCtx, "node-b")
		must(t, err)
		other, err := e.s.Subscribe(ctx, "node-c")
		must(t, err)
		sender := e.second(t)
		for _, c := range []string{"c1", "c2"} {
			must(t, sender.Notify(ctx, "node-b", c))
		}
		// Wake-ups are hints, in no promised order: on a cluster two
		// PUBLISHes may enter at different nodes.
		want := map[string]bool{"c1": true, "c2": true}
		for range 2 {
			select {
			case got := <-ch:
				if !want[got] {
					t.Fatalf("wake-up %q, want one each of c1 and c2", got)
				}
				delete(want, got)
			case <-ctx.Done():
				t.Fatal("no wake-up")
			}
		}
		select {
		case got := <-other:
			t.Fatalf("node-c woken for %q", got)
		default:
		}
		cancel()
		for range ch {
		}
		// Close ends the other subscription.
		must(t, e.s.Close())
		for range other {
		}
		if _, err := e.s.Subscribe(ctx, "node-b"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Subscribe after Close: %v", err)
		}
	})
}

func TestCounters(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		got, err := e.s.Counters(ctx)
		if err != nil || len(got) != 0 {
			t.Fatalf("no counters: %v %v", got, err)
		}
		must(t, e.s.Count(ctx, "sms_in", 2))
		must(t, e.s.Count(ctx, "sms_in", 3))
		must(t, e.second(t).Count(ctx, "dropped", -1))
		got, err = e.s.Counters(ctx)
		must(t, err)
		if want := map[string]int64{"sms_in": 5, "dropped": -1}; !maps.Equal(got, want) {
			t.Fatalf("counters %v, want %v", got, want)
		}
	})
}

// TestRenewAll renews a node's leases together and says which it holds.
func TestRenewAll(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		for _, n := range []string{"c1", "c2"} {
			if ok, err := e.s.Acquire(ctx, n, "n1", e.ttl); err != nil || !ok {
				t.Fatalf("acquire %s: %v %v", n, ok, err)
			}
		}
		if ok, err := e.s.Acquire(ctx, "c3", "n2", time.Hour); err != nil || !ok {
			t.Fatalf("acquire c3: %v %v", ok, err)
		}
		got, err := e.s.RenewAll(ctx, []string{"c1", "c2", "c3", "c4"}, "n1", 2*time.Hour)
		if err != nil || fmt.Sprint(got) != "[true true false false]" {
			t.Fatalf("RenewAll = %v, %v", got, err)
		}
		// The renewed leases outlive their first TTL.
		if ttl := e.raw(t).PTTL(ctx, e.s.keys.lease("c1")).Val(); ttl <= e.ttl {
			t.Fatalf("c1 TTL %v after renewal, want over %v", ttl, e.ttl)
		}
		if got, err := e.s.RenewAll(ctx, nil, "n1", time.Hour); err != nil || len(got) != 0 {
			t.Fatalf("RenewAll of none = %v, %v", got, err)
		}
		if _, err := e.s.RenewAll(ctx, []string{"c1"}, "n1", 0); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("RenewAll without ttl: %v", err)
		}
	})
}

// Off a Cluster, RenewAll renews a thousand leases with one script call
// (Redis's time per renewal is mostly a call's): 1001 leases take two,
// each lease with its own outcome.
func TestRenewAllCallsPerThousand(t *testing.T) {
	ctx := testutil.Context(t)
	e := &env{real: true}
	e.cfg.Addr = redistest.Start(t)
	e.s = open(t, e.cfg)
	names := make([]string, renewManyChunk+1)
	for i := range names {
		names[i] = fmt.Sprint("c", i)
		if i%2 == 0 {
			if ok, err := e.s.Acquire(ctx, names[i], "n1", time.Minute); err != nil || !ok {
				t.Fatalf("acquire %s: %v %v", names[i], ok, err)
			}
		}
	}
	must(t, e.s.client.ConfigResetStat(ctx).Err())
	got, err := e.s.RenewAll(ctx, names, "n1", time.Hour)
	must(t, err)
	if len(got) != len(names) {
		t.Fatalf("%d outcomes for %d leases", len(got), len(names))
	}
	for i, ok := range got {
		if ok != (i%2 == 0) {
			t.Fatalf("lease %s renewed %v, want %v", names[i], ok, i%2 == 0)
		}
	}
	if ttl := e.s.client.PTTL(ctx, e.s.keys.lease(names[renewManyChunk])).Val(); ttl <= time.Minute {
		t.Errorf("last lease's TTL %v after renewal, want over a minute", ttl)
	}
	if n := commandCalls(t, e, "evalsha")["evalsha"]; n != 2 {
		t.Errorf("%d script calls for %d leases, want 2", n, len(names))
	}
}
