package main

import (
	"os"
	"strings"
	"testing"
)

// status.admin_token is a secret like status.token, and may not equal it.
func TestAdminTokenConfig(t *testing.T) {
	base, err := os.ReadFile("../../configs/testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) {
		if k == "ADMIN" {
			return "from-env", true
		}
		return "", false
	}
	tests := []struct {
		name, status, want, errPath string
	}{
		{"off by default", "", "", ""},
		{"from the environment", `{admin_token: "${ADMIN}"}`, "from-env", ""},
		{"unset variable", `{admin_token: "${NOPE}"}`, "", "status.admin_token"},
		{"same as the status token", `{token: t, admin_token: t}`, "", "status.admin_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := string(base)
			if tc.status != "" {
				data += "status: " + tc.status + "\n"
			}
			cfg, err := parseConfig([]byte(data), env)
			if tc.errPath != "" {
				if err == nil || !strings.Contains(err.Error(), "config: "+tc.errPath+":") {
					t.Fatalf("error %v, want one naming %s", err, tc.errPath)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Status.AdminToken != tc.want {
				t.Fatalf("admin_token %q, want %q", cfg.Status.AdminToken, tc.want)
			}
		})
	}
}

// restartOnly names the sections outside partners that changed.
func TestRestartOnly(t *testing.T) {
	a := defaults()
	b := a
	b.Partners = []PartnerConfig{{Name: "x"}}
	if got := restartOnly(a, b); len(got) != 0 {
		t.Fatalf("a partner change needs a restart: %v", got)
	}
	b.MSRP.Listen = "127.0.0.1:1"
	b.Node = "other"
	if got := strings.Join(restartOnly(a, b), ","); got != "node,msrp" {
		t.Fatalf("restartOnly %q, want node,msrp", got)
	}
}
