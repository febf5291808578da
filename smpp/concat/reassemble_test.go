package concat

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"iwf/smpp/coding"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newReassembler(t *testing.T, policy Policy) (*Reassembler, *MemoryStore) {
	t.Helper()
	store := NewMemoryStore()
	r, err := NewReassembler(store, Config{Partner: "p", Timeout: time.Minute, Policy: policy, GapMarker: "[…]"})
	if err != nil {
		t.Fatal(err)
	}
	return r, store
}

// partsOf splits text with Split and returns the parts a receiver would
// get, with the key they share.
func partsOf(t *testing.T, c coding.Coding, text string, st Style) (Key, []Part) {
	t.Helper()
	segs, err := Split(mustEncode(t, c, text), c, Options{Style: st}, func() (uint16, error) { return 77, nil })
	if err != nil {
		t.Fatal(err)
	}
	var key Key
	parts := make([]Part, len(segs))
	for i, s := range segs {
		in, err := Inspect(s.ESMClass, s.ShortMessage, s.TLVs)
		if err != nil {
			t.Fatal(err)
		}
		key = in.Key("p", "111", "222")
		if parts[i], err = in.Part(c, false); err != nil {
			t.Fatal(err)
		}
	}
	return key, parts
}

func TestReassembleOrders(t *testing.T) {
	text := strings.Repeat("The quick brown fox {jumps} over €5. ", 12)
	tests := []struct {
		name  string
		c     coding.Coding
		text  string
		st    Style
		order []int // indexes into parts; repeats are duplicates
	}{
		{name: "in order", c: coding.GSM7, text: text, st: UDH8, order: []int{0, 1, 2, 3}},
		{name: "reverse", c: coding.GSM7, text: text, st: UDH16, order: []int{3, 2, 1, 0}},
		{name: "shuffled with duplicates", c: coding.GSM7, text: text, st: SAR, order: []int{2, 0, 3, 2, 1, 0}},
		{name: "ucs2 emoji", c: coding.UCS2, text: strings.Repeat("ok 😀 ж ", 20), st: UDH8, order: []int{1, 0, 2, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, store := newReassembler(t, DeliverPartial)
			key, parts := partsOf(t, tc.c, tc.text, tc.st)
			if slices.Max(tc.order) != len(parts)-1 {
				t.Fatalf("test wants %d parts, text gives %d", slices.Max(tc.order)+1, len(parts))
			}
			completes := 0
			seen := map[int]bool{}
			for n, i := range tc.order {
				res, err := r.Add(context.Background(), key, parts[i], t0.Add(time.Duration(n)*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				want := Pending
				switch {
				case seen[i]:
					want = Duplicate
				case len(seen) == len(parts)-1:
					want = Complete
				}
				seen[i] = true
				if res.Status != want {
					t.Fatalf("step %d (part %d): status %v, want %v", n, i+1, res.Status, want)
				}
				if res.Status == Complete {
					completes++
					if res.Text != tc.text || res.Missing != nil || res.Err != nil || res.Have != len(parts) {
						t.Fatalf("complete result %+v", res)
					}
				}
			}
			if completes != 1 {
				t.Fatalf("%d completions", completes)
			}
			if err := r.Release(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			if got, _ := store.Parts(context.Background(), key); len(got) != 0 {
				t.Fatalf("parts left after Release: %d", len(got))
			}
		})
	}
}

func TestReassembleSinglePart(t *testing.T) {
	r, store := newReassembler(t, DeliverPartial)
	key := Key{Partner: "p", Ref: 1, Total: 1}
	res, err := r.Add(context.Background(), key, Part{Seq: 1, Coding: coding.GSM7, Units: []byte("hi")}, t0)
	if err != nil || res.Status != Complete || res.Text != "hi" {
		t.Fatalf("Add = %+v, %v", res, err)
	}
	if keys, _ := store.Expired(context.Background(), "p", t0.Add(time.Hour), 0); len(keys) != 0 {
		t.Fatalf("single part was stored")
	}
}

func TestReassembleTimeout(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		have    []int // part indexes that arrive
		status  Status
		text    string
		missing []int
	}{
		{name: "deliver partial middle gap", policy: DeliverPartial, have: []int{0, 2}, status: Partial, text: "AAAA[…]CCCC", missing: []int{2}},
		{name: "deliver partial tail gap", policy: DeliverPartial, have: []int{1, 0}, status: Partial, text: "AAAABBBB[…]", missing: []int{3}},
		{name: "deliver partial head gap", policy: DeliverPartial, have: []int{2}, status: Partial, text: "[…]CCCC", missing: []int{1, 2}},
		{name: "fail", policy: FailIncomplete, have: []int{0, 2}, status: Failed, text: "AAAA[…]CCCC", missing: []int{2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newReassembler(t, tc.policy)
			ctx := context.Background()
			key := Key{Partner: "p", Source: "1", Destination: "2", Ref: 5, Total: 3}
			for _, i := range tc.have {
				p := Part{Seq: i + 1, Coding: coding.GSM7, Units: []byte(strings.Repeat(string(rune('A'+i)), 4))}
				if _, err := r.Add(ctx, key, p, t0); err != nil {
					t.Fatal(err)
				}
			}
			if res, err := r.Expire(ctx, t0.Add(time.Minute), 0); err != nil || len(res) != 0 {
				t.Fatalf("Expire at the timeout = %v, %v; want nothing yet", res, err)
			}
			res, err := r.Expire(ctx, t0.Add(time.Minute+time.Millisecond), 10)
			if err != nil || len(res) != 1 {
				t.Fatalf("Expire = %v, %v", res, err)
			}
			got := res[0]
			if got.Status != tc.status || got.Text != tc.text || !slices.Equal(got.Missing, tc.missing) || got.Key != key {
				t.Fatalf("result %+v, want %v %q missing %v", got, tc.status, tc.text, tc.missing)
			}
			if err := r.Release(ctx, key); err != nil {
				t.Fatal(err)
			}
			if res, _ := r.Expire(ctx, t0.Add(time.Hour), 10); len(res) != 0 {
				t.Fatalf("released message expired again: %v", res)
			}
		})
	}
}

// TestExpireUnreleased: a message that completed but was never released
// (the process died before persisting it) comes back whole on Expire.
func TestExpireUnreleased(t *testing.T) {
	r, _ := newReassembler(t, FailIncomplete)
	ctx := context.Background()
	key := Key{Partner: "p", Ref: 3, Total: 2}
	for seq, units := range map[int]string{1: "ab", 2: "cd"} {
		if _, err := r.Add(ctx, key, Part{Seq: seq, Coding: coding.GSM7, Units: []byte(units)}, t0); err != nil {
			t.Fatal(err)
		}
	}
	res, err := r.Expire(ctx, t0.Add(2*time.Minute), 0)
	if err != nil || len(res) != 1 || res[0].Status != Complete || res[0].Text != "abcd" {
		t.Fatalf("Expire = %+v, %v", res, err)
	}
}

func TestReassembleDecoding(t *testing.T) {
	tests := []struct {
		name   string
		parts  []Part
		status Status
		text   string
	}{
		// A sender that cut inside an escape pair still reads right: a
		// run of one coding is decoded as a whole.
		{name: "escape split by sender", parts: []Part{{Seq: 1, Coding: coding.GSM7, Units: []byte{'5', 0x1B}}, {Seq: 2, Coding: coding.GSM7, Units: []byte{0x65, '!'}}}, status: Complete, text: "5€!"},
		{name: "surrogate split by sender", parts: []Part{{Seq: 1, Coding: coding.UCS2, Units: []byte{0, 'a', 0xD8, 0x3D}}, {Seq: 2, Coding: coding.UCS2, Units: []byte{0xDE, 0x00}}}, status: Complete, text: "a😀"},
		{name: "coding per segment", parts: []Part{{Seq: 1, Coding: coding.GSM7, Units: []byte("abc ")}, {Seq: 2, Coding: coding.UCS2, Units: []byte{0x04, 0x36}}}, status: Complete, text: "abc ж"},
		{name: "national tables per part", parts: []Part{{Seq: 1, Coding: coding.GSM7, Tables: coding.Tables{Locking: coding.Turkish}, Units: []byte{0x1C, ' '}},
			{Seq: 2, Coding: coding.GSM7, Units: []byte{0x1C}}}, status: Complete, text: "Ş Æ"},
		{name: "undecodable", parts: []Part{{Seq: 1, Coding: coding.UCS2, Units: []byte{0, 'a'}}, {Seq: 2, Coding: coding.UCS2, Units: []byte{0xDC, 0}}}, status: Failed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newReassembler(t, DeliverPartial)
			key := Key{Partner: "p", Ref: 9, Total: len(tc.parts)}
			var res Result
			var err error
			for _, p := range tc.parts {
				if res, err = r.Add(context.Background(), key, p, t0); err != nil {
					t.Fatal(err)
				}
			}
			if res.Status != tc.status || (tc.status == Complete && res.Text != tc.text) {
				t.Fatalf("result %+v, want %v %q", res, tc.status, tc.text)
			}
			if tc.status == Failed && !errors.Is(res.Err, coding.ErrMalformed) {
				t.Fatalf("Err = %v, want a decoding error", res.Err)
			}
		})
	}
}

func TestReassembleErrors(t *testing.T) {
	ctx := context.Background()
	r, _ := newReassembler(t, DeliverPartial)
	for _, tc := range []struct {
		name string
		key  Key
		p    Part
	}{
		{"seq zero", Key{Partner: "p", Total: 2}, Part{Seq: 0}},
		{"seq past total", Key{Partner: "p", Total: 2}, Part{Seq: 3}},
		{"total zero", Key{Partner: "p", Total: 0}, Part{Seq: 1}},
		{"part too big", Key{Partner: "p", Total: 2}, Part{Seq: 1, Units: make([]byte, 1025)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := r.Add(ctx, tc.key, tc.p, t0); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Add error = %v, want ErrMalformed", err)
			}
		})
	}
	t.Run("over the segment limit", func(t *testing.T) {
		capped, err := NewReassembler(NewMemoryStore(), Config{Timeout: time.Second, MaxSegments: 4})
		if err != nil {
			t.Fatal(err)
		}
		var se *SegmentsError
		if _, err := capped.Add(ctx, Key{Total: 5}, Part{Seq: 1}, t0); !errors.As(err, &se) || se.Need != 5 || se.Max != 4 {
			t.Fatalf("Add error = %v, want a SegmentsError", err)
		}
		if _, err := r.Add(ctx, Key{Partner: "p", Total: 256}, Part{Seq: 1}, t0); !errors.Is(err, ErrTooManySegments) {
			t.Fatalf("Add of 256 parts error = %v", err)
		}
	})
	t.Run("store full", func(t *testing.T) {
		small, err := NewReassembler(NewMemoryStore(), Config{Timeout: time.Second, MaxMessages: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := small.Add(ctx, Key{Ref: 1, Total: 2}, Part{Seq: 1}, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := small.Add(ctx, Key{Ref: 2, Total: 2}, Part{Seq: 1}, t0); !errors.Is(err, ErrStoreFull) {
			t.Fatalf("Add error = %v, want ErrStoreFull", err)
		}
	})
	t.Run("config", func(t *testing.T) {
		if _, err := NewReassembler(nil, Config{Timeout: time.Second}); err == nil {
			t.Error("nil store accepted")
		}
		if _, err := NewReassembler(NewMemoryStore(), Config{}); err == nil {
			t.Error("zero timeout accepted")
		}
		if _, err := NewReassembler(NewMemoryStore(), Config{Timeout: time.Second, Policy: 9}); err == nil {
			t.Error("unknown policy accepted")
		}
		if _, err := NewReassembler(NewMemoryStore(), Config{Timeout: time.Second, MaxSegments: 256}); err == nil {
			t.Error("256 segments accepted")
		}
	})
}

// TestReassembleConcurrent adds every part of many messages from several
// goroutines at once: each message must complete exactly once.
func TestReassembleConcurrent(t *testing.T) {
	r, _ := newReassembler(t, DeliverPartial)
	const messages, total = 50, 5
	var mu sync.Mutex
	completes := map[uint16]int{}
	var wg sync.WaitGroup
	errs := make(chan error, messages*total)
	for seq := 1; seq <= total; seq++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range messages {
				key := Key{Partner: "p", Ref: uint16(m), Total: total}
				res, err := r.Add(context.Background(), key, Part{Seq: seq, Coding: coding.GSM7, Units: []byte{'a'}}, t0)
				if err != nil {
					errs <- err
					return
				}
				if res.Status == Complete {
					mu.Lock()
					completes[key.Ref]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(completes) != messages {
		t.Fatalf("%d messages completed, want %d", len(completes), messages)
	}
	for ref, n := range completes {
		if n != 1 {
			t.Fatalf("message %d completed %d times", ref, n)
		}
	}
}

func TestMemoryRefs(t *testing.T) {
	ctx := context.Background()
	refs := NewMemoryRefs(0, 100)
	a1, _ := refs.NextRef(ctx, "+111")
	b1, _ := refs.NextRef(ctx, "+222")
	a2, _ := refs.NextRef(ctx, "+111")
	if a2 != a1+1 {
		t.Fatalf("destination refs %d then %d, want consecutive", a1, a2)
	}
	if b1 == a1 || byte(b1) == byte(a1) {
		t.Fatalf("two destinations start at %d and %d", a1, b1)
	}
	// 256 consecutive messages to one destination never repeat an 8-bit
	// reference.
	seen := map[byte]bool{byte(a1): true, byte(a2): true}
	for range 254 {
		ref, _ := refs.NextRef(ctx, "+111")
		if seen[byte(ref)] {
			t.Fatalf("8-bit reference %d repeated", byte(ref))
		}
		seen[byte(ref)] = true
	}
	small := NewMemoryRefs(2, 0)
	for _, d := range []string{"a", "b", "c", "d"} {
		small.NextRef(ctx, d)
	}
	if len(small.next) > 2 {
		t.Fatalf("allocator holds %d destinations, limit 2", len(small.next))
	}
}
