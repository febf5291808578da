package concat

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"iwf/smpp/coding"
)

// segmentsOf splits text in style st under reference ref and inspects the
// segments as a receiver would.
func segmentsOf(t *testing.T, text string, st Style, ref uint16) []Inbound {
	t.Helper()
	segs, err := Split(mustEncode(t, coding.GSM7, text), coding.GSM7, Options{Style: st}, func() (uint16, error) { return ref, nil })
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Inbound, len(segs))
	for i, s := range segs {
		if out[i], err = Inspect(s.ESMClass, s.ShortMessage, s.TLVs); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// Issue 9 item 1: 8-bit, 16-bit and SAR references are three numbering
// spaces. Segments that carry the same number in different styles belong
// to different messages and never complete each other.
func TestReassembleStylesNeverMerge(t *testing.T) {
	ctx := context.Background()
	r, _ := newReassembler(t, DeliverPartial)
	text := strings.Repeat("x", 200)
	udh := segmentsOf(t, text, UDH8, 7)
	sar := segmentsOf(t, text, SAR, 7)
	udh16 := segmentsOf(t, text, UDH16, 7)
	for _, step := range []struct {
		name string
		in   Inbound
	}{{"udh8 part 1", udh[0]}, {"sar part 2", sar[1]}, {"udh16 part 2", udh16[1]}} {
		p, err := step.in.Part(coding.GSM7, false)
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Add(ctx, step.in.Key("p", "111", "222"), p, t0)
		if err != nil || res.Status != Pending {
			t.Fatalf("%s: %v, %v; want pending", step.name, res.Status, err)
		}
	}
}

// Issue 9 item 1: a reference reused after its message was released
// starts a new message, and the two are told apart by Instance.
func TestReassembleRefReused(t *testing.T) {
	ctx := context.Background()
	r, _ := newReassembler(t, DeliverPartial)
	key := Key{Partner: "p", Source: "1", Destination: "2", Ref: 42, Total: 2}
	var instances []string
	for i, text := range []string{"first ", "second"} {
		at := t0.Add(time.Duration(i) * time.Minute)
		var res Result
		for seq := 1; seq <= 2; seq++ {
			var err error
			res, err = r.Add(ctx, key, Part{Seq: seq, Coding: coding.GSM7, Units: []byte(text), Meta: []byte{byte(seq)}}, at.Add(time.Duration(seq)*time.Second))
			if err != nil {
				t.Fatal(err)
			}
		}
		if res.Status != Complete || res.Text != text+text {
			t.Fatalf("message %d: %v %q", i, res.Status, res.Text)
		}
		if !res.Started.Equal(at.Add(time.Second)) || len(res.Parts) != 2 || !slices.Equal(res.Parts[1].Meta, []byte{2}) {
			t.Fatalf("message %d: started %v, parts %+v", i, res.Started, res.Parts)
		}
		instances = append(instances, res.Instance())
		if err := r.Release(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if instances[0] == instances[1] {
		t.Fatalf("two messages under one reference share the instance %q", instances[0])
	}
}

// flaky is a PartStore over a MemoryStore whose Parts fails for some keys
// and which lists keys it does not hold (an index entry left without its
// parts).
type flaky struct {
	*MemoryStore
	unreadable map[Key]error
	orphans    []Key
	deleted    []Key
}

func (f *flaky) Parts(ctx context.Context, key Key) ([]Part, error) {
	if err := f.unreadable[key]; err != nil {
		return nil, err
	}
	return f.MemoryStore.Parts(ctx, key)
}

func (f *flaky) Expired(ctx context.Context, partner string, cutoff time.Time, limit int) ([]Key, error) {
	keys, err := f.MemoryStore.Expired(ctx, partner, cutoff, 0)
	keys = append(slices.Clone(f.orphans), keys...)
	if limit > 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	return keys, err
}

func (f *flaky) Delete(ctx context.Context, key Key) error {
	f.deleted = append(f.deleted, key)
	f.orphans = slices.DeleteFunc(f.orphans, func(k Key) bool { return k == key })
	return f.MemoryStore.Delete(ctx, key)
}

// Issue 9 item 2: no message holds up the expiry of the others. One that
// cannot be read now is skipped and named, one whose parts do not decode
// comes back Failed to be released, an index entry without parts goes.
func TestExpirePassesStuckKeys(t *testing.T) {
	ctx := context.Background()
	store := &flaky{MemoryStore: NewMemoryStore(), unreadable: map[Key]error{}}
	r, err := NewReassembler(store, Config{Partner: "p", Timeout: time.Minute, Policy: FailIncomplete})
	if err != nil {
		t.Fatal(err)
	}
	key := func(ref uint16) Key { return Key{Partner: "p", Ref: ref, Total: 2} }
	for ref := range uint16(3) {
		if _, err := r.Add(ctx, key(ref), Part{Seq: 1, Coding: coding.GSM7, Units: []byte("a")}, t0.Add(time.Duration(ref)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	down := errors.New("shard down")
	store.unreadable[key(0)] = down
	store.unreadable[key(1)] = corrupt("test")
	store.orphans = []Key{key(9)}
	res, err := r.Expire(ctx, t0.Add(time.Hour), 10)
	var ee *ExpireError
	if !errors.As(err, &ee) || !slices.Equal(ee.Keys, []Key{key(0)}) || !errors.Is(err, down) {
		t.Fatalf("Expire error %v, want an ExpireError naming ref 0", err)
	}
	if len(res) != 2 || res[0].Key != key(1) || res[0].Status != Failed || !errors.Is(res[0].Err, errCorrupt) ||
		res[1].Key != key(2) || res[1].Status != Failed || res[1].Err != nil {
		t.Fatalf("results %+v", res)
	}
	if !slices.Equal(store.deleted, []Key{key(9)}) {
		t.Fatalf("deleted %v, want the orphan", store.deleted)
	}
}

// Issue 9 item 3: each partner's reassembler applies its own timeout and
// policy to its own messages over one shared store, and one partner's cap
// on waiting messages leaves the others alone.
func TestReassemblersPerPartner(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	quick, err := NewReassembler(store, Config{Partner: "quick", Timeout: time.Minute, Policy: FailIncomplete, MaxMessages: 2})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := NewReassembler(store, Config{Partner: "slow", Timeout: time.Hour, Policy: DeliverPartial})
	if err != nil {
		t.Fatal(err)
	}
	part := Part{Seq: 1, Coding: coding.GSM7, Units: []byte("a")}
	for ref := range uint16(2) {
		if _, err := quick.Add(ctx, Key{Partner: "quick", Ref: ref, Total: 2}, part, t0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := quick.Add(ctx, Key{Partner: "quick", Ref: 2, Total: 2}, part, t0); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("third message of a partner capped at 2: %v", err)
	}
	if _, err := slow.Add(ctx, Key{Partner: "slow", Ref: 1, Total: 2}, part, t0); err != nil {
		t.Fatalf("another partner refused: %v", err)
	}
	if _, err := slow.Add(ctx, Key{Partner: "quick", Ref: 3, Total: 2}, part, t0); err == nil {
		t.Fatal("a partner's reassembler took another partner's part")
	}
	at := t0.Add(2 * time.Minute)
	got, err := quick.Expire(ctx, at, 0)
	if err != nil || len(got) != 2 || got[0].Status != Failed || got[0].Key.Partner != "quick" {
		t.Fatalf("quick partner's expiry: %+v, %v", got, err)
	}
	if got, err := slow.Expire(ctx, at, 0); err != nil || len(got) != 0 {
		t.Fatalf("slow partner's message expired after 2m of its 1h: %+v, %v", got, err)
	}
	if got, err := slow.Expire(ctx, t0.Add(2*time.Hour), 0); err != nil || len(got) != 1 || got[0].Status != Partial {
		t.Fatalf("slow partner's expiry: %+v, %v", got, err)
	}
}
