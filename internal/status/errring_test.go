package status

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// TestErrorsRing checks the ring keeps the newest N, newest first.
func TestErrorsRing(t *testing.T) {
	tests := []struct {
		name       string
		per        int
		add        int
		wantLen    int
		wantNewest string
		wantOldest string
	}{
		{"empty", 3, 0, 0, "", ""},
		{"under capacity", 3, 2, 2, "e2", "e1"},
		{"exactly full", 3, 3, 3, "e3", "e1"},
		{"wrapped", 3, 5, 3, "e5", "e3"},
		{"wrapped many times", 3, 100, 3, "e100", "e98"},
		{"one slot", 1, 4, 1, "e4", "e4"},
		{"default size", 0, 20, DefaultErrorsPerPartner, "e20", "e11"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := NewErrors(tc.per)
			for i := 1; i <= tc.add; i++ {
				e.Add("acme", "smpp", fmt.Errorf("e%d", i))
			}
			e.Add("other", "msrp", errors.New("elsewhere"))
			got := e.Last("acme")
			if len(got) != tc.wantLen {
				t.Fatalf("len %d, want %d: %v", len(got), tc.wantLen, got)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Time.After(got[i-1].Time) {
					t.Errorf("entry %d is newer than entry %d", i, i-1)
				}
			}
			if tc.wantLen == 0 {
				if got == nil {
					t.Error("Last returned nil, want an empty slice")
				}
				return
			}
			if got[0].Error != tc.wantNewest || got[len(got)-1].Error != tc.wantOldest {
				t.Errorf("newest %q oldest %q, want %q %q", got[0].Error, got[len(got)-1].Error, tc.wantNewest, tc.wantOldest)
			}
			if got[0].Where != "smpp" {
				t.Errorf("where = %q", got[0].Where)
			}
		})
	}
}

// TestErrorsEdges checks nil receivers and errors, copies, the partner cap
// and the length cap.
func TestErrorsEdges(t *testing.T) {
	t.Run("nil errors value", func(t *testing.T) {
		var e *Errors
		e.Add("p", "w", errors.New("x"))
		if got := e.Last("p"); got == nil || len(got) != 0 {
			t.Errorf("Last = %#v", got)
		}
	})
	t.Run("nil error ignored", func(t *testing.T) {
		e := NewErrors(2)
		e.Add("p", "w", nil)
		if n := len(e.Last("p")); n != 0 {
			t.Errorf("%d entries", n)
		}
	})
	t.Run("last is a copy", func(t *testing.T) {
		e := NewErrors(2)
		e.Add("p", "w", errors.New("x"))
		e.Last("p")[0].Error = "changed"
		if e.Last("p")[0].Error != "x" {
			t.Error("Last shares the ring's storage")
		}
	})
	t.Run("partner cap", func(t *testing.T) {
		e := NewErrors(1)
		for i := range MaxErrorPartners + 5 {
			e.Add(fmt.Sprint("p", i), "w", fmt.Errorf("e%d", i))
		}
		if got := e.Last(fmt.Sprint("p", MaxErrorPartners+1)); len(got) != 0 {
			t.Errorf("partner past the cap got its own ring: %v", got)
		}
		got := e.Last(OtherPartner)
		if len(got) != 1 || got[0].Error != fmt.Sprint("e", MaxErrorPartners+4) {
			t.Errorf("%s = %v", OtherPartner, got)
		}
		if len(e.Last("p0")) != 1 {
			t.Error("a partner under the cap lost its ring")
		}
	})
	t.Run("long error clipped", func(t *testing.T) {
		e := NewErrors(1)
		e.Add("p", "w", errors.New(strings.Repeat("é", MaxErrorLen)))
		got := e.Last("p")[0].Error
		if len(got) > MaxErrorLen || !strings.HasSuffix(got, "...") || !utf8.ValidString(got) {
			t.Errorf("clipped to %d bytes, valid %v, suffix %q", len(got), utf8.ValidString(got), got[len(got)-3:])
		}
	})
}

// TestErrorsConcurrent adds and reads from many goroutines; run with -race.
// Each writer's own entries must come out newest first.
func TestErrorsConcurrent(t *testing.T) {
	const writers, perWriter, keep = 8, 500, 16
	e := NewErrors(keep)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				e.Add("acme", "smpp", fmt.Errorf("w%d-%06d", w, i))
			}
		})
	}
	bad := make(chan string, writers)
	for range 4 {
		wg.Go(func() {
			for range perWriter {
				got := e.Last("acme")
				if len(got) > keep {
					bad <- fmt.Sprintf("%d entries", len(got))
					return
				}
				seen := map[string]string{}
				for _, g := range got {
					w, seq, _ := strings.Cut(g.Error, "-")
					if prev, ok := seen[w]; ok && seq >= prev {
						bad <- fmt.Sprintf("writer %s: %s after %s", w, seq, prev)
						return
					}
					seen[w] = seq
				}
			}
		})
	}
	wg.Wait()
	close(bad)
	for msg := range bad {
		t.Error(msg)
	}
	if n := len(e.Last("acme")); n != keep {
		t.Errorf("%d entries at the end, want %d", n, keep)
	}
}

// ExampleErrors shows the last errors of a partner, newest first.
func ExampleErrors() {
	e := NewErrors(2)
	e.Add("acme", "smpp", errors.New("smpp: bind refused"))
	e.Add("acme", "msrp", errors.New("msrp: 413 too large"))
	e.Add("acme", "store", errors.New("store: timeout"))
	for _, x := range e.Last("acme") {
		fmt.Println(x.Where, x.Error)
	}
	// Output:
	// store store: timeout
	// msrp msrp: 413 too large
}
