package concat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/smpp/coding"
	"iwf/store"
	"iwf/store/redistest"
)

// env is one backend under test: a *store.Store on a fresh real
// redis-server or a fresh embedded miniredis.
type env struct {
	s    *store.Store
	addr string // the real server's, "" for the embedded store
}

// eachBackend runs fn as a subtest against real Redis and the embedded
// store, each fresh: SharedStore and SharedRefs are what the IWF runs on.
func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, b := range []struct {
		name string
		real bool
	}{{"redis", true}, {"embedded", false}} {
		t.Run(b.name, func(t *testing.T) {
			e := &env{}
			if b.real {
				e.addr = redistest.Start(t)
			}
			e.s = openStore(t, e.addr)
			fn(t, e)
		})
	}
}

// openStore opens a store on addr ("" for an embedded one), closed at the
// end of the test.
func openStore(t *testing.T, addr string) *store.Store {
	t.Helper()
	s, err := store.Open(testutil.Context(t), store.Config{Addr: addr}, testutil.Logger(t))
	if err != nil {
		t.Fatalf("store.Open(%q): %v", addr, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// second opens another Store on the same Redis, as another node would.
func (e *env) second(t *testing.T) *store.Store {
	t.Helper()
	return openStore(t, e.s.Addr())
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func part(seq int, text string) Part {
	return Part{Seq: seq, Coding: coding.Latin1, Tables: coding.Tables{Single: coding.Spanish}, Units: []byte(text)}
}

func seqs(parts []Part) []int {
	out := make([]int, len(parts))
	for i, p := range parts {
		out[i] = p.Seq
	}
	return out
}

// Eight nodes each receive one segment of one message at once: exactly one
// of them sees the message complete.
func TestPartsPutAtomic(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		ps := NewSharedStore(e.s, nil)
		key := Key{Partner: "p", Source: "+4611", Destination: "+4622", Ref: 7, Total: 8}
		now := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		complete := 0
		for seq := 1; seq <= 8; seq++ {
			wg.Go(func() {
				parts, stored, err := ps.Put(ctx, key, part(seq, fmt.Sprint(seq)), now, 100)
				if err != nil || !stored {
					t.Errorf("Put %d: stored %v, %v", seq, stored, err)
					return
				}
				if len(parts) == key.Total {
					mu.Lock()
					complete++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if complete != 1 {
			t.Fatalf("%d Puts saw all parts, want exactly 1", complete)
		}
		got, err := ps.Parts(ctx, key)
		must(t, err)
		if !slices.Equal(seqs(got), []int{1, 2, 3, 4, 5, 6, 7, 8}) {
			t.Fatalf("parts %v", seqs(got))
		}
		if want := part(3, "3"); !slices.Equal(got[2].Units, want.Units) || got[2].Coding != want.Coding || got[2].Tables != want.Tables {
			t.Fatalf("part 3 = %+v, want %+v", got[2], want)
		}
	})
}

func TestPartsDuplicateAndDelete(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		ps := NewSharedStore(e.s, nil)
		key := Key{Partner: "p|x", Source: "a%b", Destination: "{d}", Ref: 65535, Total: 3}
		now := time.Now()
		if _, stored, err := ps.Put(ctx, key, part(2, "two"), now, 0); err != nil || !stored {
			t.Fatalf("first Put: %v %v", stored, err)
		}
		parts, stored, err := ps.Put(ctx, key, part(2, "other"), now, 0)
		if err != nil || stored || len(parts) != 1 || string(parts[0].Units) != "two" {
			t.Fatalf("duplicate Put: %v stored %v, %v; want the first part kept", parts, stored, err)
		}
		// Another total is another message.
		other := key
		other.Total = 4
		if got, _ := ps.Parts(ctx, other); len(got) != 0 {
			t.Fatalf("parts under another total: %v", seqs(got))
		}
		must(t, ps.Delete(ctx, key))
		if got, _ := ps.Parts(ctx, key); len(got) != 0 {
			t.Fatalf("parts after Delete: %v", seqs(got))
		}
		if keys, _ := ps.Expired(ctx, key.Partner, now.Add(time.Hour), 0); len(keys) != 0 {
			t.Fatalf("index after Delete: %v", keys)
		}
		must(t, ps.Delete(ctx, key))
	})
}

func TestPartsExpiredOrder(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		ps := NewSharedStore(e.s, nil)
		base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
		keys := make([]Key, 4)
		// Put in an order unlike their ages.
		for _, i := range []int{2, 0, 3, 1} {
			keys[i] = Key{Partner: "p", Source: fmt.Sprint("s", 3-i), Destination: "d", Ref: uint16(i), Total: 2}
			if _, _, err := ps.Put(ctx, keys[i], part(1, "x"), base.Add(time.Duration(i)*time.Second), 0); err != nil {
				t.Fatal(err)
			}
		}
		// A later part does not make a message younger.
		if _, _, err := ps.Put(ctx, keys[0], part(2, "y"), base.Add(time.Hour), 0); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			cutoff time.Time
			limit  int
			want   []Key
		}{
			{"none before the first", base, 0, nil},
			{"strictly before cutoff", base.Add(2 * time.Second), 0, keys[:2]},
			{"all, oldest first", base.Add(time.Minute), 0, keys},
			{"limit", base.Add(time.Minute), 3, keys[:3]},
			{"microseconds count", base.Add(time.Microsecond), 0, keys[:1]},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := ps.Expired(ctx, "p", tc.cutoff, tc.limit)
				must(t, err)
				if !slices.Equal(got, tc.want) {
					t.Fatalf("Expired = %v, want %v", got, tc.want)
				}
			})
		}
	})
}

func TestPartsStoreFull(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		ps := NewSharedStore(e.s, nil)
		key := func(ref uint16) Key { return Key{Partner: "p", Ref: ref, Total: 3} }
		now := time.Now()
		for ref := range uint16(2) {
			if _, _, err := ps.Put(ctx, key(ref), part(1, "x"), now, 2); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := ps.Put(ctx, key(2), part(1, "x"), now, 2); !errors.Is(err, ErrStoreFull) {
			t.Fatalf("third message: %v, want ErrStoreFull", err)
		}
		// Parts of a message already waiting still go in.
		if _, stored, err := ps.Put(ctx, key(1), part(2, "y"), now, 2); err != nil || !stored {
			t.Fatalf("next part of a waiting message: %v %v", stored, err)
		}
		must(t, ps.Delete(ctx, key(0)))
		if _, _, err := ps.Put(ctx, key(2), part(1, "x"), now, 2); err != nil {
			t.Fatalf("after a Delete: %v", err)
		}
	})
}

// The store serves Reassembler end to end: out of order parts, a
// duplicate, completion, release, and the timeout policy.
func TestPartsReassembler(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		r, err := NewReassembler(NewSharedStore(e.s, nil), Config{Partner: "p", Timeout: time.Minute, GapMarker: "[...]"})
		must(t, err)
		now := time.Now()
		key := Key{Partner: "p", Source: "a", Destination: "b", Ref: 1, Total: 3}
		for _, step := range []struct {
			seq  int
			text string
			want Status
		}{{3, "c", Pending}, {1, "a", Pending}, {1, "a", Duplicate}, {2, "b", Complete}} {
			res, err := r.Add(ctx, key, part(step.seq, step.text), now)
			if err != nil || res.Status != step.want {
				t.Fatalf("Add %d: %v, %v; want %v", step.seq, res.Status, err, step.want)
			}
			if res.Status == Complete && res.Text != "abc" {
				t.Fatalf("text %q", res.Text)
			}
		}
		must(t, r.Release(ctx, key))
		lost := key
		lost.Ref = 2
		if _, err := r.Add(ctx, lost, part(1, "x"), now); err != nil {
			t.Fatal(err)
		}
		res, err := r.Expire(ctx, now.Add(2*time.Minute), 10)
		must(t, err)
		if len(res) != 1 || res[0].Key != lost || res[0].Status != Partial || res[0].Text != "x[...]" {
			t.Fatalf("Expire = %+v", res)
		}
	})
}

// shifted is a Backend whose sequences start further on, as if used that
// often before, and which records the TTL asked for.
type shifted struct {
	Backend
	by  int64
	mu  sync.Mutex
	ttl time.Duration
}

func (b *shifted) Next(ctx context.Context, name string, ttl time.Duration) (int64, error) {
	b.mu.Lock()
	b.ttl = ttl
	b.mu.Unlock()
	n, err := b.Backend.Next(ctx, name, ttl)
	return n + b.by, err
}

func TestRefs(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		next := func(b Backend, dest string) uint16 {
			t.Helper()
			r, err := NewSharedRefs(b).NextRef(ctx, dest)
			must(t, err)
			return r
		}
		a1, a2 := next(e.s, "+4611"), next(e.s, "+4611")
		if a2 != a1+1 {
			t.Fatalf("consecutive refs %d, %d", a1, a2)
		}
		// Another node continues the same sequence.
		if a3 := next(e.second(t), "+4611"); a3 != a2+1 {
			t.Fatalf("ref from another node %d after %d", a3, a2)
		}
		b1 := next(e.s, "+4622")
		if b1 == a1 || uint8(b1) == uint8(a1) {
			t.Fatalf("two destinations start at %d and %d", a1, b1)
		}
		// 16-bit wrap: the sequence passes 65535 and refs keep rotating.
		b := &shifted{Backend: e.s, by: 65534}
		refs := NewSharedRefs(b)
		seen := map[uint16]bool{}
		for range 4 {
			r, err := refs.NextRef(ctx, "+4633")
			must(t, err)
			if seen[r] {
				t.Fatalf("ref %d repeated across the wrap", r)
			}
			seen[r] = true
		}
		// The store keeps a sequence for the TTL asked (store's TestNext).
		if b.ttl != 24*time.Hour {
			t.Fatalf("sequence TTL %v, want a day", b.ttl)
		}
	})
}

// A member some other writer left in the group does not hold up the
// expiry of the others, and goes.
func TestPartsExpiredDropsUndecodable(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		ps := NewSharedStore(e.s, nil)
		now := time.Now()
		if _, _, err := e.s.GroupPut(ctx, partnerGroup("p"), "junk", "1", []byte("x"), now, 10); err != nil {
			t.Fatal(err)
		}
		key := Key{Partner: "p", Ref: 1, Total: 2}
		if _, _, err := ps.Put(ctx, key, part(1, "x"), now, 0); err != nil {
			t.Fatal(err)
		}
		keys, err := ps.Expired(ctx, "p", now.Add(time.Hour), 0)
		if err != nil || !slices.Equal(keys, []Key{key}) {
			t.Fatalf("Expired = %v, %v", keys, err)
		}
		if m, err := e.s.GroupBefore(ctx, partnerGroup("p"), now.Add(time.Hour), 0); err != nil || !slices.Equal(m, []string{formatMember(key)}) {
			t.Fatalf("members left %v, %v", m, err)
		}
	})
}

func TestPartsUnavailable(t *testing.T) {
	srv := redistest.StartServer(t, redistest.StartOpts{Durable: true})
	s := openStore(t, srv.Addr())
	srv.Kill()
	_, _, err := NewSharedStore(s, nil).Put(context.Background(), Key{Total: 2}, part(1, "x"), time.Now(), 0)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Put with Redis down: %v", err)
	}
}

// Issue 9 item 3 on the shared store: each partner's messages are
// counted and expired apart, so a partner at its cap leaves the others
// room, and parts keep their arrival and the caller's metadata.
func TestPartsPerPartner(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		ps := NewSharedStore(e.s, nil)
		now := time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC)
		full := Key{Partner: "full", Ref: 1, Total: 2}
		if _, _, err := ps.Put(ctx, full, part(1, "x"), now, 1); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ps.Put(ctx, Key{Partner: "full", Ref: 2, Total: 2}, part(1, "x"), now, 1); !errors.Is(err, ErrStoreFull) {
			t.Fatalf("second message of a partner capped at 1: %v", err)
		}
		other := Key{Partner: "other", Style: SAR, Ref: 1, Total: 2}
		p := part(2, "y")
		p.At, p.Meta = now, []byte(`{"id":"m1"}`)
		parts, stored, err := ps.Put(ctx, other, p, now, 1)
		if err != nil || !stored {
			t.Fatalf("another partner refused: %v %v", stored, err)
		}
		if len(parts) != 1 || !parts[0].At.Equal(now) || string(parts[0].Meta) != `{"id":"m1"}` {
			t.Fatalf("part read back %+v", parts)
		}
		for partner, want := range map[string][]Key{"full": {full}, "other": {other}, "none": nil} {
			if got, err := ps.Expired(ctx, partner, now.Add(time.Hour), 0); err != nil || !slices.Equal(got, want) {
				t.Fatalf("Expired(%s) = %v, %v; want %v", partner, got, err, want)
			}
		}
	})
}

// Parts stored by the version before partners had groups of their own
// are still read, expired and released, each by its partner.
func TestPartsLegacyGroup(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		ps := NewSharedStore(e.s, nil)
		now := time.Now()
		for _, m := range []struct{ member, field, value string }{
			{"p|a|b|7|2", "1", "\x00\x00\x00hi"},
			{"q|a|b|7|2", "1", "\x00\x00\x00other"},
		} {
			if _, _, err := e.s.GroupPut(ctx, legacyGroup, m.member, m.field, []byte(m.value), now, 100); err != nil {
				t.Fatal(err)
			}
		}
		fresh := Key{Partner: "p", Ref: 8, Total: 2}
		if _, _, err := ps.Put(ctx, fresh, part(1, "x"), now, 0); err != nil {
			t.Fatal(err)
		}
		keys, err := ps.Expired(ctx, "p", now.Add(time.Hour), 0)
		if err != nil || len(keys) != 2 || keys[0] != fresh || keys[1].Ref != 7 || keys[1].Partner != "p" {
			t.Fatalf("Expired = %+v, %v", keys, err)
		}
		if got, err := ps.Expired(ctx, "p", now.Add(time.Hour), 1); err != nil || !slices.Equal(got, keys[:1]) {
			t.Fatalf("Expired with limit 1 = %+v, %v", got, err)
		}
		old := keys[1]
		parts, err := ps.Parts(ctx, old)
		if err != nil || len(parts) != 1 || string(parts[0].Units) != "hi" {
			t.Fatalf("legacy parts %+v, %v", parts, err)
		}
		must(t, ps.Delete(ctx, old))
		if m, err := e.s.GroupBefore(ctx, legacyGroup, now.Add(time.Hour), 0); err != nil || !slices.Equal(m, []string{"q|a|b|7|2"}) {
			t.Fatalf("legacy members left %v, %v", m, err)
		}
	})
}
