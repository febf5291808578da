package sipsession

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTrunkValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Trunk)
		paths []string // field paths named by the error, none for valid
	}{
		{name: "defaults with a next hop", edit: func(*Trunk) {}},
		{name: "tcp next hop", edit: func(tr *Trunk) { tr.NextHop = "sip:sbc.example.net:5060;transport=tcp" }},
		{name: "active setup", edit: func(tr *Trunk) { tr.Setup = "active" }},
		{name: "no next hop", edit: func(tr *Trunk) { tr.NextHop = "" }, paths: []string{"next_hop"}},
		{name: "tel next hop", edit: func(tr *Trunk) { tr.NextHop = "tel:+1555" }, paths: []string{"next_hop"}},
		{name: "bad transport", edit: func(tr *Trunk) { tr.Transport = "sctp" }, paths: []string{"transport"}},
		{name: "passive offer", edit: func(tr *Trunk) { tr.Setup = "passive" }, paths: []string{"setup"}},
		{name: "negative timeout", edit: func(tr *Trunk) { tr.InviteTimeout = -time.Second }, paths: []string{"invite_timeout"}},
		{name: "bad extra header", edit: func(tr *Trunk) {
			tr.ExtraHeaders = []Header{{Name: "X-Ok", Value: "1"}, {Name: "Bad Name", Value: "x"}, {Name: "X-Inj", Value: "a\r\nVia: evil"}}
		}, paths: []string{"extra_headers[1].name", "extra_headers[2].value"}},
		{name: "several", edit: func(tr *Trunk) { tr.NextHop, tr.Transport = "", "x" }, paths: []string{"next_hop", "transport"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := DefaultTrunk()
			tr.NextHop = "sip:127.0.0.1:5060"
			tc.edit(&tr)
			err := tr.Validate()
			if len(tc.paths) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, p := range tc.paths {
				if !strings.Contains(err.Error(), "sipsession: "+p+": ") {
					t.Errorf("error %q does not name %s", err, p)
				}
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error %T is no *FieldError", err)
			}
		})
	}
}

func TestTrunkTransport(t *testing.T) {
	tests := []struct{ hop, transport, want string }{
		{hop: "sip:a.example", want: "udp"},
		{hop: "sip:a.example;transport=TCP", want: "tcp"},
		{hop: "sips:a.example", want: "tls"},
		{hop: "sip:a.example;transport=tcp", transport: "UDP", want: "udp"},
	}
	for _, tc := range tests {
		t.Run(tc.hop+"/"+tc.transport, func(t *testing.T) {
			tr := Trunk{NextHop: tc.hop, Transport: tc.transport}
			hop, err := tr.nextHop()
			if err != nil {
				t.Fatal(err)
			}
			if got := tr.transport(hop); got != tc.want {
				t.Fatalf("transport %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	_, err := New(Config{AnswerSetup: "actpass"})
	for _, p := range []string{"stack", "endpoint", "answer_setup"} {
		if err == nil || !strings.Contains(err.Error(), p+": ") {
			t.Errorf("error %v does not name %s", err, p)
		}
	}
}
