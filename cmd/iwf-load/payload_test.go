package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lines reads a vector file, one case a line, spaces kept.
func lines(t testing.TB, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestParseTextVectors(t *testing.T) {
	for _, file := range []string{"texts-valid.txt", "texts-invalid.txt"} {
		valid := file == "texts-valid.txt"
		for _, s := range lines(t, file) {
			t.Run(file+"/"+s, func(t *testing.T) {
				p, err := parseText(s)
				if !valid {
					var pe *payloadError
					if !errors.As(err, &pe) {
						t.Fatalf("parsed %+v, err %v; want a *payloadError", p, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if p.text() != s {
					t.Errorf("text() = %q, want %q", p.text(), s)
				}
			})
		}
	}
}

func TestUnwrap(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		file        string // in testdata/cpim, or body when empty
		body        string
		want        string
		wantErr     string
	}{
		{name: "cpim with imdn headers", contentType: "message/cpim", file: "imdn.txt", want: "load 1a2b3c4d 7"},
		{name: "plain cpim, type in other case", contentType: "Message/CPIM", file: "plain.txt", want: "load 1a2b3c4d 8"},
		{name: "bare text/plain", contentType: "text/plain; charset=UTF-8", body: "load x 1", want: "load x 1"},
		{name: "cpim around a notification", contentType: "message/cpim", file: "notification.txt", wantErr: "not text/plain"},
		{name: "broken cpim", contentType: "message/cpim", file: "broken.txt", wantErr: "cpim"},
		{name: "other type", contentType: "application/octet-stream", body: "x", wantErr: "not message/cpim"},
		{name: "unparsable type", contentType: "/", body: "x", wantErr: "content type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			if tc.file != "" {
				var err error
				if body, err = os.ReadFile(filepath.Join("testdata", "cpim", tc.file)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := unwrap(tc.contentType, body)
			if tc.wantErr != "" {
				var pe *payloadError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %q, %v; want a *payloadError saying %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestURIDigits(t *testing.T) {
	tests := []struct{ uri, want string }{
		{"sip:+4671000001@127.0.0.1:5070", "4671000001"},
		{"sip:+4671000001@127.0.0.1;user=phone", "4671000001"},
		{"SIPS:4671000001@example.net", "4671000001"},
		{"tel:+46-71-000001", "4671000001"},
		{"tel:+4671000001;phone-context=example.net", "4671000001"},
		{"sip:127.0.0.1:5070", ""},
		{"sip:alice@example.net", ""},
		{"mailto:1@2", ""},
		{"4671000001", ""},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			if got := uriDigits(tc.uri); got != tc.want {
				t.Errorf("uriDigits(%q) = %q, want %q", tc.uri, got, tc.want)
			}
		})
	}
}

func TestDestination(t *testing.T) {
	tests := []struct {
		i    int
		want string
	}{{0, "+4671000000"}, {7, "+4671000007"}, {49, "+4671000049"}, {999999, "+4671999999"}}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := destination(tc.i); got != tc.want {
				t.Errorf("destination(%d) = %q", tc.i, got)
			}
		})
	}
}

func TestNewRunID(t *testing.T) {
	a, b := newRunID(), newRunID()
	if !isRunID(a) || len(a) != 8 || a == b {
		t.Errorf("run ids %q %q", a, b)
	}
}
