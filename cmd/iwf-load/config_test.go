package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		// wantFlags are the flags the error must name, none for success.
		wantFlags []string
		check     func(c Config, o options) bool
	}{
		{
			name: "defaults", args: nil,
			check: func(c Config, o options) bool {
				return c.SMPP == "127.0.0.1:2775" && c.RCS == "127.0.0.1:5070" && c.MSRP == "127.0.0.1:0" &&
					c.SystemID == "demo" && c.Password == "demo" && c.Binds == 2 && c.Window == 100 &&
					c.N == 20000 && c.Conversations == 50 && c.Rate == 0 && c.Timeout == time.Minute &&
					c.ReceiptWait == 5*time.Second && !c.Baseline && !o.JSON && c.Logger != nil
			},
		},
		{
			name: "every flag",
			args: []string{"-smpp", "10.0.0.1:2776", "-system-id", "esme", "-password", "secret", "-binds", "4",
				"-window", "10", "-n", "100", "-conversations", "5", "-rate", "250", "-rcs", "127.0.0.1:5080",
				"-msrp", "127.0.0.1:2856", "-timeout", "5s", "-bind-timeout", "1s", "-receipt-wait", "0",
				"-baseline", "-json", "-run-id", "abc", "-source", "12345", "-v"},
			check: func(c Config, o options) bool {
				return c.SMPP == "10.0.0.1:2776" && c.SystemID == "esme" && c.Password == "secret" && c.Binds == 4 &&
					c.Window == 10 && c.N == 100 && c.Conversations == 5 && c.Rate == 250 && c.RCS == "127.0.0.1:5080" &&
					c.MSRP == "127.0.0.1:2856" && c.Timeout == 5*time.Second && c.BindTimeout == time.Second &&
					c.ReceiptWait == 0 && c.Baseline && o.JSON && o.Verbose && c.RunID == "abc" && c.Source == "12345"
			},
		},
		{name: "zero window is not the default", args: []string{"-window", "0"}, wantFlags: []string{"-window"}},
		{name: "window over the cap", args: []string{"-window", "1001"}, wantFlags: []string{"-window"}},
		{name: "no binds", args: []string{"-binds", "0"}, wantFlags: []string{"-binds"}},
		{name: "no messages", args: []string{"-n", "0"}, wantFlags: []string{"-n"}},
		{name: "more conversations than messages", args: []string{"-n", "10", "-conversations", "11"}, wantFlags: []string{"-conversations"}},
		{name: "conversations beyond six digits", args: []string{"-n", "2000000", "-conversations", "1000001"}, wantFlags: []string{"-conversations"}},
		{name: "negative rate", args: []string{"-rate", "-1"}, wantFlags: []string{"-rate"}},
		{name: "NaN rate", args: []string{"-rate", "NaN"}, wantFlags: []string{"-rate"}},
		{name: "address without port", args: []string{"-smpp", "localhost"}, wantFlags: []string{"-smpp"}},
		{name: "port out of range", args: []string{"-rcs", "127.0.0.1:70000"}, wantFlags: []string{"-rcs"}},
		{name: "no host", args: []string{"-msrp", ":0"}, wantFlags: []string{"-msrp"}},
		{name: "long system_id", args: []string{"-system-id", "sixteen-octets-x"}, wantFlags: []string{"-system-id"}},
		{name: "long password", args: []string{"-password", "ninechars"}, wantFlags: []string{"-password"}},
		{name: "zero timeout", args: []string{"-timeout", "0s"}, wantFlags: []string{"-timeout"}},
		{name: "negative receipt wait", args: []string{"-receipt-wait", "-1s"}, wantFlags: []string{"-receipt-wait"}},
		{name: "run id with a space", args: []string{"-run-id", "a b"}, wantFlags: []string{"-run-id"}},
		{name: "source not a number", args: []string{"-source", "alice"}, wantFlags: []string{"-source"}},
		{
			name: "several at once", args: []string{"-binds", "0", "-window", "0", "-timeout", "-1s"},
			wantFlags: []string{"-binds", "-window", "-timeout"},
		},
		{name: "stray argument", args: []string{"extra"}, wantFlags: []string{`"extra"`}},
		{name: "unknown flag", args: []string{"-speed", "9"}, wantFlags: []string{"-speed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			c, o, err := parseFlags(tc.args, &out)
			if len(tc.wantFlags) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if !tc.check(c, o) {
					t.Errorf("config %+v options %+v", c, o)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, f := range tc.wantFlags {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
		})
	}
}

func TestFlagErrorsAreTyped(t *testing.T) {
	_, _, err := parseFlags([]string{"-window", "0", "-n", "0"}, &bytes.Buffer{})
	var fe *flagError
	if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "iwf-load: -") {
		t.Fatalf("error %v, want *flagError starting iwf-load: -", err)
	}
}

func TestCLIExitStatus(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
		// stderr must contain
		says string
	}{
		{"help", []string{"-h"}, 0, "usage: iwf-load"},
		{"bad flag value", []string{"-window", "0"}, 2, "-window"},
		{"unknown flag", []string{"-nope"}, 2, "-nope"},
		{"nothing to bind to", []string{"-smpp", "127.0.0.1:1", "-rcs", "127.0.0.1:0", "-bind-timeout", "50ms"}, 1, "smpp binds not up"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := cli(tc.args, &stdout, &stderr); got != tc.want {
				t.Errorf("exit %d, want %d; stderr %s", got, tc.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.says) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tc.says)
			}
		})
	}
}
