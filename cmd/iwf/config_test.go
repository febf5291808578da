package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigsLoad(t *testing.T) {
	t.Setenv("IWF_MSRP_RELAY_PASSWORD", "from-env")
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("configs: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := LoadConfig(f)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MSRP.Relay != nil && cfg.MSRP.Relay.Password != "from-env" {
				t.Fatalf("secret not read from the environment: %q", cfg.MSRP.Relay.Password)
			}
		})
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "msrp:\n  listne: 1.2.3.4:1\n", "field listne not found"},
		{"bad listen", "msrp:\n  listen: nowhere\n", "msrp.listen"},
		{"zero window", "msrp:\n  window: 0\n", "msrp.window: must be positive"},
		{"solo below chunk", "msrp:\n  chunk_size: 4096\n  solo_chunk_size: 1024\n", "msrp.solo_chunk_size"},
		{"bad relay uri", "msrp:\n  relay:\n    uri: http://x\n    username: u\n    password: p\n", "msrp.relay.uri"},
		{"relay secret unset", "msrp:\n  relay:\n    uri: msrps://r.example.net;tcp\n    username: u\n    password: ${IWF_UNSET_FOR_TEST}\n", "msrp.relay.password"},
		{"tls without key", "msrp:\n  tls:\n    cert_file: a.pem\n", "msrp.tls.key_file"},
		{"log level", "log_level: loud\n", "log_level"},
		{"bad duration", "msrp:\n  bind_timeout: soon\n", "line 2: cannot unmarshal !!str `soon` into time.Duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestEmptyConfigTakesDefaults(t *testing.T) {
	cfg, err := ParseConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MSRP.Listen != "127.0.0.1:2855" || cfg.MSRP.ChunkSize != 2048 {
		t.Fatalf("defaults: %+v", cfg.MSRP)
	}
}
