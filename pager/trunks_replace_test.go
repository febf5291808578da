package pager

import (
	"net/netip"
	"sync"
	"testing"
)

// Replace swaps the table while lookups run (the race detector watches);
// an invalid set leaves the table as it was.
func TestTrunksReplace(t *testing.T) {
	a := Trunk{Partner: "a", NextHop: "sip:127.0.0.1:5070", AllowedSources: []string{"10.0.0.0/8"}}
	b := Trunk{Partner: "b", NextHop: "sip:127.0.0.1:5071", AllowedSources: []string{"192.0.2.0/24"}}
	tr, err := NewTrunks([]Trunk{a})
	if err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddr("192.0.2.7")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				tr.BySource(src)
				tr.Get("b")
			}
		}
	})
	if err := tr.Replace([]Trunk{a, b}); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if name, ok := tr.BySource(src); !ok || name != "b" {
		t.Fatalf("after Replace %s is %q", src, name)
	}
	if err := tr.Replace([]Trunk{a, a}); err == nil {
		t.Fatal("a partner's second trunk accepted")
	}
	if _, ok := tr.Get("b"); !ok {
		t.Fatal("a refused Replace changed the table")
	}
	if err := tr.Replace([]Trunk{b}); err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.Get("a"); ok {
		t.Fatal("a removed trunk is still there")
	}
}
