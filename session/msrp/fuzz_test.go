package msrp

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func seedGolden(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.msrp")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzReader checks that no input panics the reader and that every frame
// it accepts survives serialize -> parse unchanged.
func FuzzReader(f *testing.F) {
	seedGolden(f)
	f.Add([]byte(okHead + "Content-Type: text/plain\r\n\r\n-------abcd1234$\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := NewReader(bytes.NewReader(data), Limits{MaxHeaderBytes: 4096, MaxChunk: 1 << 16})
		for range 16 {
			var fr Frame
			err := rd.ReadFrame(&fr)
			if errors.Is(err, io.EOF) || errors.Is(err, ErrFraming) {
				return
			}
			if err != nil {
				if StatusOf(err) != 400 && StatusOf(err) != 413 {
					t.Fatalf("error without a status: %v", err)
				}
				continue
			}
			wire, err := AppendFrame(nil, &fr)
			if errors.Is(err, ErrEndLineInBody) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			var again Frame
			if err := NewReader(bytes.NewReader(wire), Limits{MaxChunk: 1 << 16}).ReadFrame(&again); err != nil {
				t.Fatalf("reparse of %q: %v", wire, err)
			}
			if !reflect.DeepEqual(fr, again) {
				t.Fatalf("round trip differs:\n%+v\n%+v\nwire %q", fr, again, wire)
			}
		}
	})
}

func FuzzByteRange(f *testing.F) {
	for _, s := range []string{"1-25/25", "1-*/*", "1-0/0", "5-*/8", "3-1/5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseByteRange(s)
		if err != nil {
			return
		}
		again, err := ParseByteRange(r.String())
		if err != nil || again != r {
			t.Fatalf("%q -> %q -> %+v %v", s, r.String(), again, err)
		}
	})
}

func FuzzURI(f *testing.F) {
	for _, s := range []string{
		"msrp://atlanta.example.com:7654/jshA7weztas;tcp",
		"msrps://alice@intra.example.com;tcp",
		"msrp://[2001:db8::1]:2855/a+b=c/d;tcp;foo=bar",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			return
		}
		again, err := ParseURI(u.String())
		if err != nil || !reflect.DeepEqual(again, u) || !again.Equal(u) {
			t.Fatalf("%q -> %q -> %+v %v", s, u.String(), again, err)
		}
	})
}
