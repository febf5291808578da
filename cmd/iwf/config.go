package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"iwf/session/msrp"
)

// Config is the whole daemon configuration (configs/iwf.yaml). Defaults
// live in defaults(); Validate names every faulty field by its path.
type Config struct {
	LogLevel string     `yaml:"log_level"`
	MSRP     MSRPConfig `yaml:"msrp"`
}

// MSRPConfig configures the MSRP endpoint (session mode).
type MSRPConfig struct {
	// Listen is the TCP address to accept MSRP connections on.
	Listen string `yaml:"listen"`
	// Host and Port are written into a=path URIs; Port 0 takes Listen's.
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS, when set, makes the listener msrps.
	TLS *TLSConfig `yaml:"tls"`

	ChunkSize          int           `yaml:"chunk_size"`
	SoloChunkSize      int           `yaml:"solo_chunk_size"`
	Window             int           `yaml:"window"`
	TransactionTimeout time.Duration `yaml:"transaction_timeout"`
	MaxMessageSize     int64         `yaml:"max_message_size"`
	MaxIncomplete      int           `yaml:"max_incomplete"`
	IncompleteTimeout  time.Duration `yaml:"incomplete_timeout"`
	ConnectTimeout     time.Duration `yaml:"connect_timeout"`
	BindTimeout        time.Duration `yaml:"bind_timeout"`
	MaxHeaderBytes     int           `yaml:"max_header_bytes"`
	MaxHeaders         int           `yaml:"max_headers"`
	MaxChunk           int64         `yaml:"max_chunk"`

	Relay *RelayConfig `yaml:"relay"`
}

// TLSConfig names a certificate and key in PEM files.
type TLSConfig struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// RelayConfig is an RFC 4976 relay every session goes through.
type RelayConfig struct {
	URI      string `yaml:"uri"`
	Username string `yaml:"username"`
	// Password may be "${ENV_NAME}" to read it from the environment.
	Password string        `yaml:"password"`
	Expires  time.Duration `yaml:"expires"`
}

func defaults() Config {
	return Config{
		LogLevel: "info",
		MSRP: MSRPConfig{
			Listen:             "127.0.0.1:2855",
			Host:               "127.0.0.1",
			ChunkSize:          2048,
			SoloChunkSize:      256 << 10,
			Window:             32,
			TransactionTimeout: 30 * time.Second,
			MaxMessageSize:     16 << 20,
			MaxIncomplete:      16,
			IncompleteTimeout:  2 * time.Minute,
			ConnectTimeout:     10 * time.Second,
			BindTimeout:        30 * time.Second,
			MaxHeaderBytes:     msrp.DefaultLimits.MaxHeaderBytes,
			MaxHeaders:         msrp.DefaultLimits.MaxHeaders,
			MaxChunk:           msrp.DefaultLimits.MaxChunk,
		},
	}
}

// LoadConfig reads and validates a YAML file; unknown keys are errors.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(data)
}

// ParseConfig decodes YAML over the defaults and validates the result.
func ParseConfig(data []byte) (Config, error) {
	cfg := defaults()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg.expandSecrets()
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// expandSecrets replaces "${NAME}" values of secret fields with the
// environment variable NAME, so secrets stay out of config files.
func (c *Config) expandSecrets() {
	if c.MSRP.Relay != nil {
		c.MSRP.Relay.Password = expandEnv(c.MSRP.Relay.Password)
	}
}

func expandEnv(v string) string {
	if strings.HasPrefix(v, "${") && strings.HasSuffix(v, "}") {
		return os.Getenv(v[2 : len(v)-1])
	}
	return v
}

// Validate checks every field and joins the faults, each naming its path.
func (c Config) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: %s", path, fmt.Sprintf(format, args...)))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "%q is not debug, info, warn or error", c.LogLevel)
	}
	m := c.MSRP
	if _, _, err := net.SplitHostPort(m.Listen); err != nil {
		bad("msrp.listen", "%v", err)
	}
	if m.Host == "" {
		bad("msrp.host", "empty: peers need an address to connect to")
	}
	if m.Port < 0 || m.Port > 65535 {
		bad("msrp.port", "%d out of range", m.Port)
	}
	if m.TLS != nil {
		if m.TLS.CertFile == "" {
			bad("msrp.tls.cert_file", "empty")
		}
		if m.TLS.KeyFile == "" {
			bad("msrp.tls.key_file", "empty")
		}
	}
	positive := map[string]int64{
		"msrp.chunk_size": int64(m.ChunkSize), "msrp.solo_chunk_size": int64(m.SoloChunkSize),
		"msrp.window": int64(m.Window), "msrp.max_message_size": m.MaxMessageSize,
		"msrp.max_incomplete": int64(m.MaxIncomplete), "msrp.max_header_bytes": int64(m.MaxHeaderBytes),
		"msrp.max_headers": int64(m.MaxHeaders), "msrp.max_chunk": m.MaxChunk,
		"msrp.transaction_timeout": int64(m.TransactionTimeout), "msrp.incomplete_timeout": int64(m.IncompleteTimeout),
		"msrp.connect_timeout": int64(m.ConnectTimeout), "msrp.bind_timeout": int64(m.BindTimeout),
	}
	for _, path := range slices.Sorted(maps.Keys(positive)) {
		if positive[path] <= 0 {
			bad(path, "must be positive")
		}
	}
	if m.SoloChunkSize < m.ChunkSize {
		bad("msrp.solo_chunk_size", "%d is below chunk_size %d", m.SoloChunkSize, m.ChunkSize)
	}
	if m.MaxHeaderBytes < 1024 {
		bad("msrp.max_header_bytes", "%d is too small for real paths (at least 1024)", m.MaxHeaderBytes)
	}
	if r := m.Relay; r != nil {
		if _, err := msrp.ParseURI(r.URI); err != nil {
			bad("msrp.relay.uri", "%v", err)
		}
		if r.Username == "" {
			bad("msrp.relay.username", "empty")
		}
		if r.Password == "" {
			bad("msrp.relay.password", "empty (or its environment variable is unset)")
		}
		if r.Expires < 0 {
			bad("msrp.relay.expires", "negative")
		}
	}
	return errors.Join(errs...)
}
