package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/redis/go-redis/v9"

	"iwf/internal/cfgerr"
)

// ErrQueueFull is returned by Enqueue when the conversation's queue already
// holds maxLen unacknowledged entries (design: bounded queue length).
var ErrQueueFull = errors.New("store: queue full")

// ErrUnavailable is matched (errors.Is) by every error that comes from not
// reaching Redis: refused or broken connections, timeouts, a closed store, a
// server that is loading, read-only or failing over. Callers answer them
// with a temporary failure (SIP 503, SMPP ESME_RX_T_APPN) so that the peer
// retries; see UnavailableError.
var ErrUnavailable = errors.New("store: unavailable")

// ErrNotHolder is returned by Release and AckOwned when another owner
// holds the lease (or, for AckOwned, when nobody does).
var ErrNotHolder = errors.New("store: lease held by another owner")

// ErrEviction is returned by Open for a Redis whose maxmemory-policy may
// evict keys, unless Config.AllowEviction.
var ErrEviction = errors.New("store: redis may evict keys")

// ErrInvalidConfig is matched (errors.Is) by every *FieldError.
var ErrInvalidConfig = errors.New("store: invalid configuration")

// ErrInvalidArgument is matched by errors about a call's arguments (an
// empty conversation, a non-positive TTL or bound): programming errors,
// reported instead of being clamped.
var ErrInvalidArgument = errors.New("store: invalid argument")

// ErrCorrupt is matched by errors about a value in Redis this package did
// not write (a counter that is not a number, a script reply of the wrong
// shape).
var ErrCorrupt = errors.New("store: corrupt value")

// FieldError names a configuration field that breaks a rule by its YAML
// path ("addr"); it matches ErrInvalidConfig.
type FieldError = cfgerr.FieldError

func fieldError(path, reason string) error {
	return &FieldError{Pkg: "store", Path: path, Reason: reason, Kind: ErrInvalidConfig}
}

func invalid(op, format string, args ...any) error {
	return fmt.Errorf("store: %s: "+format+": %w", append([]any{op}, append(args, ErrInvalidArgument)...)...)
}

func corrupt(op, format string, args ...any) error {
	return fmt.Errorf("store: %s: "+format+": %w", append([]any{op}, append(args, ErrCorrupt)...)...)
}

// UnavailableError is a failure to reach Redis during Op. It matches
// ErrUnavailable and unwraps to the cause (a *net.OpError,
// context.DeadlineExceeded, ...).
type UnavailableError struct {
	// Op is the store operation: "enqueue", "read", ...
	Op  string
	Err error
}

// Error says which operation failed and why.
func (e *UnavailableError) Error() string {
	return "store: " + e.Op + ": unavailable: " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// SIPStatus is 503 Service Unavailable (RFC 3261 21.5.4): the request may
// be retried, here or at another node.
func (e *UnavailableError) SIPStatus() int { return 503 }

// SMPPStatus is ESME_RX_T_APPN (SMPP 3.4 5.1.3, 0x64): a temporary
// application error, the SMSC retries the deliver_sm.
func (e *UnavailableError) SMPPStatus() uint32 { return 0x00000064 }

// wrap turns a go-redis error into this package's: redis.Nil stays as it
// is for the caller to map to a zero result, connection failures become an
// *UnavailableError, and everything else is wrapped with the operation.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil):
		return err
	case unreachable(err):
		return &UnavailableError{Op: op, Err: err}
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// unreachable reports errors that say nothing about the command and all
// about the path to the server or its state: the caller may retry the same
// command later with the same arguments.
func unreachable(err error) bool {
	if errors.Is(err, context.Canceled) {
		// The caller gave up; that says nothing about Redis.
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, redis.ErrClosed) ||
		errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrPoolExhausted) {
		return true
	}
	// Server states that pass: an AOF or RDB loading, a replica that was a
	// primary, a failover in progress, a busy script.
	for _, p := range []string{"OOM ", "LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY ", "NOREPLICAS", "MAXCLIENTS", "max number of clients"} {
		if redis.HasErrorPrefix(err, p) {
			return true
		}
	}
	return false
}
