package session

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"iwf/internal/cfgerr"
	"iwf/internal/listener"
	"iwf/session/msrp"
)

// Config configures an Endpoint; its YAML keys are the daemon's msrp
// section. What an Endpoint is handed rather than opens stays with the
// caller: the listener (Serve takes it) and the certificate, which is
// loaded from files before NewEndpoint, so an Endpoint reads no files.
//
// NewEndpoint fills zero fields from DefaultConfig; Validate checks a
// complete configuration, as decoding over DefaultConfig leaves it, so
// there an explicit zero is a fault rather than "the default".
type Config struct {
	// Host is the host written into our MSRP URIs (a=path); it must be
	// reachable by peers (a public address behind NAT).
	Host string `yaml:"host"`
	// Port is the port written into our URIs; 0 takes the port of the
	// first listener served.
	Port int `yaml:"port"`
	// Secure makes our URIs msrps (TLS); peers then connect with TLS.
	// It goes with TLS, so it has no key of its own.
	Secure bool `yaml:"-"`
	// ChunkSize is the body size of a chunk while several messages share
	// a connection, small so that none waits long (default 2048).
	ChunkSize int `yaml:"chunk_size"`
	// SoloChunkSize is the chunk body size while a message is alone on its
	// connection, large for throughput (default 262144, or ChunkSize when
	// that is larger). A chat message that starts meanwhile waits for at
	// most two such chunks.
	SoloChunkSize int `yaml:"solo_chunk_size"`
	// Window bounds the chunks of one message awaiting their response
	// (default 32); with the write queue it bounds memory per message.
	Window int `yaml:"window"`
	// TransactionTimeout is how long a request waits for its response
	// before it fails with a local 408 (default 30 s, RFC 4975 section 7.3).
	TransactionTimeout time.Duration `yaml:"transaction_timeout"`
	// MaxMessageSize is the default max-size of received messages
	// (default 16 MiB); a session may lower or raise it.
	MaxMessageSize int64 `yaml:"max_message_size"`
	// MaxIncomplete bounds the messages a session reassembles at once
	// (default 16).
	MaxIncomplete int `yaml:"max_incomplete"`
	// MaxQueuedMessages bounds the complete messages of one session
	// waiting for its Handler (default 32). Each session hands its
	// messages to the Handler in order on a goroutine of its own, so a
	// slow store stalls that session only, never the others sharing its
	// connection; a message completed while the queue is full is answered
	// 503 (the sender may try again) instead of stopping the reader.
	// Queued messages keep their bytes charged to MaxIncompleteBytes.
	MaxQueuedMessages int `yaml:"max_queued_messages"`
	// MaxIncompleteBytes bounds the bytes one session holds for messages
	// it reassembles in memory (default 128 MiB, and never below
	// MaxMessageSize when that is zero-filled); a chunk beyond it is
	// answered 413 and its message dropped. Memory follows the bytes
	// received, never a Byte-Range a peer claims.
	MaxIncompleteBytes int64 `yaml:"max_incomplete_bytes"`
	// MaxIncompleteBytesTotal is the same bound for all sessions of the
	// endpoint together (default 256 MiB, and never below
	// MaxIncompleteBytes when that is zero-filled).
	MaxIncompleteBytesTotal int64 `yaml:"max_incomplete_bytes_total"`
	// IncompleteTimeout drops a partly received message when no chunk
	// arrived for this long (default 2 minutes).
	IncompleteTimeout time.Duration `yaml:"incomplete_timeout"`
	// ConnectTimeout bounds a TCP/TLS connect (default 10 s).
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// BindTimeout is how long a passive session waits for the peer's
	// first request, and how long an accepted connection may go without
	// a request that binds it to a session (default 30 s): one that sends
	// nothing, or nothing valid for one of our sessions, is closed then.
	BindTimeout time.Duration `yaml:"bind_timeout"`
	// IdleTimeout closes a connection on which no frame went either way
	// for this long, failing its sessions (default 10 min). It should be
	// longer than the idle BYE of the sessions above. The relay
	// connection, which must stay up for the relay to reach us, is exempt.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// KeepaliveInterval, when positive, sends a bodiless SEND (RFC 4975
	// section 7.1 allows one at any time) on a session with no request
	// either way for this long, so that an SBC or NAT on the path does
	// not drop the connection or the session's media state as idle. Zero
	// (the default) sends none. A 481 answer ends the session: the peer
	// no longer has it. It must be below IdleTimeout.
	KeepaliveInterval time.Duration `yaml:"keepalive_interval"`
	// MaxWriteQueue bounds the bytes of responses, REPORTs and other
	// frames of our own waiting to be written on one connection (default
	// 256 KiB). At the bound we stop reading the peer's requests until
	// the writer has made room, so TCP holds the peer back; one that does
	// not read at all is cut off when a write has waited
	// TransactionTimeout. Message chunks are not counted: their senders
	// wait for the writer.
	MaxWriteQueue int `yaml:"max_write_queue"`
	// Budget caps accepted connections, in all and per source address
	// (keys max_connections, default 10000, and max_per_source, default
	// none: peers behind one SBC share its address). The Endpoint does
	// not apply it: whoever opens the listener wraps it with
	// listener.Wrap(ln, cfg.Budget, log) and hands that to Serve, whose
	// Stats then include its refusals. Zero means no cap.
	Budget listener.Budget `yaml:",inline"`
	// Limits are the parser limits (default msrp.DefaultLimits); their
	// keys sit beside the others.
	Limits msrp.Limits `yaml:",inline"`
	// TLS is used for msrps: as server config for TLS listeners wrapped by
	// the caller, and as client config when dialing msrps peers.
	TLS *tls.Config `yaml:"-"`
	// TLSVerify is how an msrps peer's certificate is checked (default
	// VerifyEither): by the a=fingerprint of its SDP when it sent one,
	// else by the CA roots of TLS (RootCAs, the system roots when nil)
	// for peers we connect to. "fingerprint" requires a matching
	// a=fingerprint of every peer, "ca" ignores a=fingerprint. A peer
	// that connects to us shows its certificate only when the TLS
	// listener asks for one (ClientAuth tls.RequestClientCert: a
	// self-signed one must not fail the handshake). The relay's
	// certificate is always checked against the CA roots.
	TLSVerify TLSVerify `yaml:"tls_verify"`
	// Relay, when set, routes every session through an RFC 4976 relay.
	Relay *RelayConfig `yaml:"relay"`
	// Logger receives structured logs (default slog.Default()).
	Logger *slog.Logger `yaml:"-"`
}

// RelayConfig names the RFC 4976 relay all sessions go through.
type RelayConfig struct {
	// URI of the relay, e.g. msrps://relay.example.net:2855;tcp.
	URI string `yaml:"uri"`
	// Username and Password answer its digest challenge.
	Username string `yaml:"username"`
	// Password may be written "${ENV_NAME}" in the daemon's file, which
	// reads it from the environment.
	Password string `yaml:"password"`
	// Expires is the registration lifetime asked for (default 10 min);
	// a 423 answer raises it to the relay's Min-Expires.
	Expires time.Duration `yaml:"expires"`
}

// defaultRelayExpires is RelayConfig.Expires when zero. It is not in
// DefaultConfig because there is no relay by default.
const defaultRelayExpires = 10 * time.Minute

// ErrInvalidConfig is matched (errors.Is) by every configuration fault
// Validate and NewEndpoint return.
var ErrInvalidConfig = errors.New("session: invalid configuration")

// DefaultConfig is what zero fields mean. It has no Host: peers must be
// told an address that reaches us, which only the deployment knows.
func DefaultConfig() Config {
	return Config{
		ChunkSize:          2048,
		SoloChunkSize:      256 << 10,
		Window:             32,
		TransactionTimeout: 30 * time.Second,
		MaxMessageSize:     16 << 20,
		MaxIncomplete:      16,
		MaxQueuedMessages:  32,
		IncompleteTimeout:  2 * time.Minute,
		ConnectTimeout:     10 * time.Second,
		BindTimeout:        30 * time.Second,
		IdleTimeout:        10 * time.Minute,
		MaxWriteQueue:      256 << 10,
		Limits:             msrp.DefaultLimits,
		Budget:             listener.Budget{MaxConnections: 10000},
		TLSVerify:          VerifyEither,

		MaxIncompleteBytes:      128 << 20,
		MaxIncompleteBytesTotal: 256 << 20,
	}
}

// withDefaults fills the zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.ChunkSize = cmp.Or(c.ChunkSize, d.ChunkSize)
	if c.SoloChunkSize == 0 {
		// Solo chunks are never smaller than shared ones.
		c.SoloChunkSize = max(d.SoloChunkSize, c.ChunkSize)
	}
	c.Window = cmp.Or(c.Window, d.Window)
	c.TransactionTimeout = cmp.Or(c.TransactionTimeout, d.TransactionTimeout)
	c.MaxMessageSize = cmp.Or(c.MaxMessageSize, d.MaxMessageSize)
	c.MaxIncomplete = cmp.Or(c.MaxIncomplete, d.MaxIncomplete)
	c.MaxQueuedMessages = cmp.Or(c.MaxQueuedMessages, d.MaxQueuedMessages)
	c.IncompleteTimeout = cmp.Or(c.IncompleteTimeout, d.IncompleteTimeout)
	c.ConnectTimeout = cmp.Or(c.ConnectTimeout, d.ConnectTimeout)
	c.BindTimeout = cmp.Or(c.BindTimeout, d.BindTimeout)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, d.IdleTimeout)
	c.MaxWriteQueue = cmp.Or(c.MaxWriteQueue, d.MaxWriteQueue)
	c.TLSVerify = cmp.Or(c.TLSVerify, d.TLSVerify)
	// The byte bounds never fall below what one message of max-size
	// needs, so raising max-size alone keeps a valid configuration.
	c.MaxIncompleteBytes = cmp.Or(c.MaxIncompleteBytes, max(d.MaxIncompleteBytes, c.MaxMessageSize))
	c.MaxIncompleteBytesTotal = cmp.Or(c.MaxIncompleteBytesTotal, max(d.MaxIncompleteBytesTotal, c.MaxIncompleteBytes))
	c.Limits.MaxHeaderBytes = cmp.Or(c.Limits.MaxHeaderBytes, d.Limits.MaxHeaderBytes)
	c.Limits.MaxHeaders = cmp.Or(c.Limits.MaxHeaders, d.Limits.MaxHeaders)
	c.Limits.MaxNonSendBody = cmp.Or(c.Limits.MaxNonSendBody, d.Limits.MaxNonSendBody)
	c.Limits.MaxChunk = cmp.Or(c.Limits.MaxChunk, d.Limits.MaxChunk)
	if c.Relay != nil {
		r := *c.Relay
		r.Expires = cmp.Or(r.Expires, defaultRelayExpires)
		c.Relay = &r
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate checks every field and returns the faults joined, each a
// *cfgerr.FieldError naming its YAML path ("chunk_size",
// "relay.password") and matching ErrInvalidConfig. Nothing is clamped.
func (c Config) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, &cfgerr.FieldError{Pkg: "session", Path: path, Reason: fmt.Sprintf(format, args...), Kind: ErrInvalidConfig})
	}
	if c.Host == "" {
		bad("host", "empty: peers need an address to connect to")
	}
	if c.Port < 0 || c.Port > 65535 {
		bad("port", "%d out of range", c.Port)
	}
	for _, f := range []struct {
		path string
		v    int64
	}{
		{"bind_timeout", int64(c.BindTimeout)},
		{"chunk_size", int64(c.ChunkSize)},
		{"connect_timeout", int64(c.ConnectTimeout)},
		{"idle_timeout", int64(c.IdleTimeout)},
		{"incomplete_timeout", int64(c.IncompleteTimeout)},
		{"max_chunk", c.Limits.MaxChunk},
		{"max_header_bytes", int64(c.Limits.MaxHeaderBytes)},
		{"max_headers", int64(c.Limits.MaxHeaders)},
		{"max_incomplete", int64(c.MaxIncomplete)},
		{"max_incomplete_bytes", c.MaxIncompleteBytes},
		{"max_incomplete_bytes_total", c.MaxIncompleteBytesTotal},
		{"max_message_size", c.MaxMessageSize},
		{"max_queued_messages", int64(c.MaxQueuedMessages)},
		{"max_write_queue", int64(c.MaxWriteQueue)},
		{"solo_chunk_size", int64(c.SoloChunkSize)},
		{"transaction_timeout", int64(c.TransactionTimeout)},
		{"window", int64(c.Window)},
	} {
		if f.v <= 0 {
			bad(f.path, "must be positive")
		}
	}
	if c.SoloChunkSize < c.ChunkSize {
		bad("solo_chunk_size", "%d is below chunk_size %d", c.SoloChunkSize, c.ChunkSize)
	}
	if c.Limits.MaxHeaderBytes < 1024 {
		bad("max_header_bytes", "%d is too small for real paths (at least 1024)", c.Limits.MaxHeaderBytes)
	}
	if c.MaxIncompleteBytes > 0 && c.MaxIncompleteBytes < c.MaxMessageSize {
		bad("max_incomplete_bytes", "%d is below max_message_size %d: such a message could never be reassembled", c.MaxIncompleteBytes, c.MaxMessageSize)
	}
	if c.MaxIncompleteBytesTotal > 0 && c.MaxIncompleteBytesTotal < c.MaxIncompleteBytes {
		bad("max_incomplete_bytes_total", "%d is below max_incomplete_bytes %d", c.MaxIncompleteBytesTotal, c.MaxIncompleteBytes)
	}
	if c.MaxWriteQueue > 0 && c.MaxWriteQueue < c.Limits.MaxHeaderBytes {
		// A response repeats the request's paths, which the header limit
		// bounds: a queue that cannot hold one would cut off every peer.
		bad("max_write_queue", "%d is below max_header_bytes %d", c.MaxWriteQueue, c.Limits.MaxHeaderBytes)
	}
	if c.KeepaliveInterval < 0 {
		bad("keepalive_interval", "negative (0 sends none)")
	} else if c.KeepaliveInterval > 0 && c.IdleTimeout > 0 && c.KeepaliveInterval >= c.IdleTimeout {
		bad("keepalive_interval", "%v is not below idle_timeout %v: the connection would be closed as idle first", c.KeepaliveInterval, c.IdleTimeout)
	}
	if !c.TLSVerify.valid() {
		bad("tls_verify", "%q is not one of either, fingerprint, ca", c.TLSVerify)
	}
	if c.Budget.MaxConnections < 0 {
		bad("max_connections", "%d is negative", c.Budget.MaxConnections)
	}
	if c.Budget.MaxPerSource < 0 {
		bad("max_per_source", "%d is negative", c.Budget.MaxPerSource)
	}
	if r := c.Relay; r != nil {
		if _, err := msrp.ParseURI(r.URI); err != nil {
			bad("relay.uri", "%v", err)
		}
		if r.Username == "" {
			bad("relay.username", "empty")
		}
		if r.Password == "" {
			bad("relay.password", "empty")
		}
		if r.Expires < 0 {
			bad("relay.expires", "negative")
		}
	}
	return errors.Join(errs...)
}
