package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"iwf/internal/testutil"
)

func TestGroup(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		const g = "g"
		base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
		put := func(member, field, value string, at time.Time, maxMembers int) (map[string]string, bool) {
			t.Helper()
			fields, stored, err := e.s.GroupPut(ctx, g, member, field, []byte(value), at, maxMembers)
			must(t, err)
			out := map[string]string{}
			for f, v := range fields {
				out[f] = string(v)
			}
			return out, stored
		}
		if f, stored := put("m1", "1", "a", base, 2); !stored || !maps.Equal(f, map[string]string{"1": "a"}) {
			t.Fatalf("first put: %v %v", f, stored)
		}
		if f, stored := put("m1", "1", "b", base, 2); stored || !maps.Equal(f, map[string]string{"1": "a"}) {
			t.Fatalf("same field again: %v %v; want the first value kept", f, stored)
		}
		// Values are bytes; a later write does not make a member younger.
		if f, stored := put("m1", "2", "\x00\xff", base.Add(time.Hour), 2); !stored || f["2"] != "\x00\xff" || len(f) != 2 {
			t.Fatalf("second field: %q %v", f, stored)
		}
		put("m2", "1", "x", base.Add(time.Second), 2)
		if f, stored := put("m3", "1", "x", base, 2); stored || len(f) != 0 {
			t.Fatalf("put into a full group: %v %v; want nothing", f, stored)
		}
		if f, err := e.s.GroupGet(ctx, g, "m3"); err != nil || len(f) != 0 {
			t.Fatalf("refused member written: %v %v", f, err)
		}
		if _, stored := put("m1", "3", "c", base, 2); !stored {
			t.Fatal("a member already waiting is refused in a full group")
		}
		for _, tc := range []struct {
			cutoff time.Time
			limit  int
			want   []string
		}{
			{base, 0, nil},
			{base.Add(time.Microsecond), 0, []string{"m1"}},
			{base.Add(time.Minute), 0, []string{"m1", "m2"}},
			{base.Add(time.Minute), 1, []string{"m1"}},
		} {
			got, err := e.s.GroupBefore(ctx, g, tc.cutoff, tc.limit)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("GroupBefore(%v, %d) = %v, %v; want %v", tc.cutoff, tc.limit, got, err, tc.want)
			}
		}
		must(t, e.s.GroupDelete(ctx, g, "m1", "m2", "unknown"))
		if f, err := e.s.GroupGet(ctx, g, "m1"); err != nil || len(f) != 0 {
			t.Fatalf("after delete: %v %v", f, err)
		}
		if got, err := e.s.GroupBefore(ctx, g, base.Add(time.Hour), 0); err != nil || len(got) != 0 {
			t.Fatalf("index after delete: %v %v", got, err)
		}
		if _, stored := put("m3", "1", "x", base, 2); !stored {
			t.Fatal("refused after a delete")
		}
		must(t, e.s.GroupDelete(ctx, g))
	})
}

// Eight nodes each write one field of one member at once: exactly one of
// them sees the hash complete.
func TestGroupPutAtomic(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		nodes := []*Store{e.s, e.second(t)}
		var wg sync.WaitGroup
		var mu sync.Mutex
		complete := 0
		for i := range 8 {
			wg.Go(func() {
				s := nodes[i%2]
				fields, stored, err := s.GroupPut(ctx, "g", "m", fmt.Sprint(i), []byte{byte(i)}, time.Now(), 10)
				if err != nil || !stored {
					t.Errorf("put %d: %v %v", i, stored, err)
					return
				}
				if len(fields) == 8 {
					mu.Lock()
					complete++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if complete != 1 {
			t.Fatalf("%d puts saw all fields, want exactly 1", complete)
		}
	})
}

func TestGroupInvalid(t *testing.T) {
	s := open(t, Config{})
	ctx := context.Background()
	for name, err := range map[string]error{
		"empty group": func() error { _, _, err := s.GroupPut(ctx, "", "m", "f", nil, time.Now(), 1); return err }(),
		"no bound":    func() error { _, _, err := s.GroupPut(ctx, "g", "m", "f", nil, time.Now(), 0); return err }(),
		"get":         func() error { _, err := s.GroupGet(ctx, "", "m"); return err }(),
		"delete":      s.GroupDelete(ctx, "", "m"),
		"before":      func() error { _, err := s.GroupBefore(ctx, "", time.Now(), 0); return err }(),
		"next ttl":    func() error { _, err := s.Next(ctx, "n", 0); return err }(),
	} {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
	// A group is in one Cluster slot, whatever its name.
	for _, g := range []string{"parts", "a{b}", "}"} {
		if keySlot(s.keys.group(g, "x|{y}")) != keySlot(s.keys.groupIndex(g)) {
			t.Errorf("group %q spans slots", g)
		}
	}
}

func TestNext(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := testutil.Context(t)
		next := func(s *Store, name string) int64 {
			t.Helper()
			n, err := s.Next(ctx, name, 24*time.Hour)
			must(t, err)
			return n
		}
		if a, b := next(e.s, "a"), next(e.s, "a"); a != 1 || b != 2 {
			t.Fatalf("a new sequence gives %d, %d", a, b)
		}
		// Another node continues the same sequence.
		if n := next(e.second(t), "a"); n != 3 {
			t.Fatalf("from another node %d", n)
		}
		if n := next(e.s, "b"); n != 1 {
			t.Fatalf("another sequence starts at %d", n)
		}
		// Past 16 bits: the store does not wrap, its callers do.
		must(t, e.raw(t).Set(ctx, e.s.keys.seq("c"), 65535, time.Minute).Err())
		if n := next(e.s, "c"); n != 65536 {
			t.Fatalf("after 65535: %d", n)
		}
		if ttl := e.raw(t).PTTL(ctx, e.s.keys.seq("c")).Val(); ttl <= 23*time.Hour || ttl > 24*time.Hour {
			t.Fatalf("TTL %v, want a day from the last use", ttl)
		}
	})
}

func TestGroupUnavailable(t *testing.T) {
	srv := redistestDurable(t)
	s := open(t, Config{Addr: srv.Addr()})
	srv.Kill()
	_, _, err := s.GroupPut(context.Background(), "g", "m", "f", nil, time.Now(), 1)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("GroupPut with Redis down: %v", err)
	}
	if _, err := s.Next(context.Background(), "n", time.Hour); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Next with Redis down: %v", err)
	}
}
