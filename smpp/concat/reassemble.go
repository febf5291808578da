package concat

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"iwf/smpp/coding"
)

// Key names one concatenated message being reassembled. Total is part of
// the key so that a reference number reused for a message of another
// length, while an older one still waits, does not mix the two; Style is,
// because 8-bit, 16-bit and SAR references are three numbering spaces (TS
// 23.040 9.2.3.24.1 and .8, SMPP 3.4 5.3.2.22). A key names a message only
// while it is being reassembled: once released, the same reference starts
// a new message (8-bit references wrap, and handsets pick them at random).
type Key struct {
	Partner, Source, Destination string
	Style                        Style
	Ref                          uint16
	Total                        int
	// legacy marks a key read from a member stored before keys had a
	// style, so that its parts are read and deleted where they are.
	legacy bool
}

// Part is one received segment.
type Part struct {
	Seq    int
	Coding coding.Coding
	// Tables are the national language tables of GSM7 units
	// (Inbound.Tables).
	Tables coding.Tables
	// Units is the segment text ready for coding.Decode (Inbound.Units).
	Units []byte
	// At is when the part arrived; Add sets it.
	At time.Time
	// Meta is the caller's, kept with the part (at most MaxMetaOctets):
	// interwork keeps there where the part's failure receipt goes, since
	// each segment was acknowledged on its own.
	Meta []byte
}

// MaxMetaOctets bounds Part.Meta.
const MaxMetaOctets = 1024

// PartStore keeps parts until their message completes or times out.
// Implementations must make Put atomic per key, so that exactly one Put
// sees the last missing part arrive, and count messages per partner, so
// that one partner cannot fill the store for the others.
type PartStore interface {
	// Put stores p under key unless a part with the same Seq is already
	// there (stored false), and returns every part held after that; the
	// first Put of a key records now as its arrival time. When max
	// messages of key.Partner wait already and key is not one of them,
	// it stores nothing and fails with ErrStoreFull.
	Put(ctx context.Context, key Key, p Part, now time.Time, max int) (parts []Part, stored bool, err error)
	// Parts returns the parts held under key, none if unknown.
	Parts(ctx context.Context, key Key) ([]Part, error)
	// Delete forgets key and its parts; deleting an unknown key is no
	// error.
	Delete(ctx context.Context, key Key) error
	// Expired lists up to limit (<= 0: all) keys of partner whose first
	// part arrived before cutoff, oldest first.
	Expired(ctx context.Context, partner string, cutoff time.Time, limit int) ([]Key, error)
}

// Policy is what happens to a message whose parts stop arriving.
type Policy uint8

const (
	// DeliverPartial delivers the parts that arrived, with Missing set
	// and GapMarker where parts are missing.
	DeliverPartial Policy = iota
	// FailIncomplete drops the message; the caller sends a failure
	// receipt.
	FailIncomplete
)

// Status is the state of a message after a part or a timeout.
type Status uint8

// The statuses a Result can carry.
const (
	// Pending: stored, more parts to come.
	Pending Status = iota
	// Duplicate: a part with this Seq was already held; acknowledge it
	// and do nothing else.
	Duplicate
	// Complete: every part is here; Text holds the message.
	Complete
	// Partial: timed out under DeliverPartial; Text holds what arrived.
	Partial
	// Failed: timed out under FailIncomplete, or the parts do not decode
	// or cannot be read back from the store (Err says why).
	Failed
)

// String names the status for logs.
func (s Status) String() string {
	switch s {
	case Pending:
		return "pending"
	case Duplicate:
		return "duplicate"
	case Complete:
		return "complete"
	case Partial:
		return "partial"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Result is the outcome of Add or Expire for one message.
type Result struct {
	Key    Key
	Status Status
	// Have counts the distinct parts held.
	Have int
	// Missing lists the absent sequence numbers (Partial, Failed).
	Missing []int
	// Coding is the coding of the first part held.
	Coding coding.Coding
	// Units is the parts' units concatenated in order, for binary data.
	Units []byte
	// Text is the decoded message (Complete, Partial; Failed when the
	// parts decode).
	Text string
	// Err is the decoding failure behind a Failed status, if any.
	Err error
	// Parts are the parts held, in order and without duplicates: their At
	// and Meta say which acknowledged segments a final status answers.
	Parts []Part
	// Started is when the first part held arrived (zero for parts stored
	// before arrivals were kept).
	Started time.Time
}

// Instance names this one reassembly of Key: the key with the arrival of
// its first part. A caller that persists the message under it (as a
// duplicate marker) stores it once, however often Expire returns it
// unreleased, and a later message that reuses the reference is another
// instance.
func (r Result) Instance() string {
	return formatMember(r.Key) + "|" + strconv.FormatInt(r.Started.UnixMicro(), 10)
}

// Final reports a status that ends the message: the caller persists it,
// then calls Release.
func (s Status) Final() bool { return s == Complete || s == Partial || s == Failed }

// Config tunes a Reassembler, which serves one partner.
type Config struct {
	// Partner is the partner whose messages the Reassembler takes: Add
	// refuses other keys, Expire lists only the partner's.
	Partner string
	// Timeout is how long after its first part a message may stay
	// incomplete (design: bounded segment reassembly time).
	Timeout time.Duration
	// Policy applies once Timeout has passed.
	Policy Policy
	// GapMarker is put in Partial text where parts are missing.
	GapMarker string
	// MaxPartOctets bounds one part's units; 0 means 1024, room for any
	// short_message (at most 254 octets, SMPP 3.4 5.2.21). Raise it for
	// partners that send SAR segments in message_payload.
	MaxPartOctets int
	// MaxSegments bounds the total a message may claim (the partner's
	// segment limit); 0 means 255.
	MaxSegments int
	// MaxMessages bounds the partner's messages waiting for parts; the
	// first part of one more fails with ErrStoreFull. 0 means 10000.
	MaxMessages int
}

// Reassembler puts concatenated messages back together over a PartStore.
// It holds no state of its own, so any number of them (on any number of
// nodes) can share one store.
type Reassembler struct {
	store PartStore
	cfg   Config
}

// NewReassembler checks cfg and returns a Reassembler over store.
func NewReassembler(store PartStore, cfg Config) (*Reassembler, error) {
	if store == nil {
		return nil, errors.New("concat: reassembler needs a part store")
	}
	if cfg.Timeout <= 0 {
		return nil, fmt.Errorf("concat: reassembly timeout %v must be positive", cfg.Timeout)
	}
	if cfg.Policy > FailIncomplete {
		return nil, fmt.Errorf("concat: unknown timeout policy %d", cfg.Policy)
	}
	if cfg.MaxPartOctets < 0 || cfg.MaxSegments < 0 || cfg.MaxSegments > MaxSegments || cfg.MaxMessages < 0 {
		return nil, fmt.Errorf("concat: reassembly limits %d octets, %d segments, %d messages out of range", cfg.MaxPartOctets, cfg.MaxSegments, cfg.MaxMessages)
	}
	if cfg.MaxPartOctets == 0 {
		cfg.MaxPartOctets = 1024
	}
	if cfg.MaxSegments == 0 {
		cfg.MaxSegments = MaxSegments
	}
	if cfg.MaxMessages == 0 {
		cfg.MaxMessages = defaultMaxMessages
	}
	return &Reassembler{store: store, cfg: cfg}, nil
}

// Add records part p of the message key, received at now. A message of
// one part completes at once without touching the store. Once Add or
// Expire returns a final status (Status.Final), the caller persists the
// message and then calls Release; until then the parts stay stored, so a
// crash in between delivers the message again rather than losing it.
func (r *Reassembler) Add(ctx context.Context, key Key, p Part, now time.Time) (Result, error) {
	if key.Partner != r.cfg.Partner {
		return Result{}, fmt.Errorf("concat: a part of partner %q given to the reassembler of %q", key.Partner, r.cfg.Partner)
	}
	if key.Total < 1 || p.Seq < 1 || p.Seq > key.Total {
		return Result{}, malformed("part %d of %d", p.Seq, key.Total)
	}
	if key.Total > r.cfg.MaxSegments {
		return Result{}, fmt.Errorf("concat: message of %d parts: %w", key.Total, &SegmentsError{Need: key.Total, Max: r.cfg.MaxSegments})
	}
	if len(p.Units) > r.cfg.MaxPartOctets {
		return Result{}, malformed("part of %d octets over %d", len(p.Units), r.cfg.MaxPartOctets)
	}
	if len(p.Meta) > MaxMetaOctets {
		return Result{}, fmt.Errorf("concat: part metadata of %d octets over %d", len(p.Meta), MaxMetaOctets)
	}
	p.At = now
	if key.Total == 1 {
		return r.assemble(key, []Part{p}, Complete), nil
	}
	parts, stored, err := r.store.Put(ctx, key, p, now, r.cfg.MaxMessages)
	if err != nil {
		return Result{}, fmt.Errorf("concat: store part %d of %v: %w", p.Seq, key.Ref, err)
	}
	switch {
	case !stored:
		return Result{Key: key, Status: Duplicate, Have: len(parts), Coding: p.Coding}, nil
	case len(parts) < key.Total:
		return Result{Key: key, Status: Pending, Have: len(parts), Coding: p.Coding}, nil
	}
	return r.assemble(key, parts, Complete), nil
}

// ExpireError is returned by Expire beside the results it could make: it
// lists the keys whose parts could not be read this time. They count
// toward the limit, so a caller that sees the same keys fail again asks
// for more next time, and the keys behind them are still reached.
type ExpireError struct {
	Keys []Key
	Err  error
}

// Error says how many keys failed and why.
func (e *ExpireError) Error() string {
	return fmt.Sprintf("concat: %d expired messages unreadable: %v", len(e.Keys), e.Err)
}

// Unwrap returns the failures.
func (e *ExpireError) Unwrap() error { return e.Err }

// Expire applies the timeout policy to up to limit messages whose first
// part arrived more than Timeout before now. The caller runs it
// periodically with its own clock; each result is final (see Add). A
// message whose parts are all held (completed, then not released) comes
// back Complete. No message holds up the others: one whose stored parts
// do not decode comes back Failed (to be released), an index entry
// without parts is deleted, and one that cannot be read now is skipped
// and named in an *ExpireError.
func (r *Reassembler) Expire(ctx context.Context, now time.Time, limit int) ([]Result, error) {
	keys, err := r.store.Expired(ctx, r.cfg.Partner, now.Add(-r.cfg.Timeout), limit)
	if err != nil {
		return nil, fmt.Errorf("concat: list expired parts: %w", err)
	}
	status := Partial
	if r.cfg.Policy == FailIncomplete {
		status = Failed
	}
	out := make([]Result, 0, len(keys))
	var failed ExpireError
	skip := func(key Key, err error) {
		failed.Keys = append(failed.Keys, key)
		failed.Err = errors.Join(failed.Err, fmt.Errorf("ref %d: %w", key.Ref, err))
	}
	for _, key := range keys {
		parts, err := r.store.Parts(ctx, key)
		switch {
		case errors.Is(err, errCorrupt):
			out = append(out, Result{Key: key, Status: Failed, Err: err})
			continue
		case err != nil:
			skip(key, err)
			continue
		case len(parts) == 0:
			// Indexed without parts (a half-written or evicted member):
			// nothing to deliver, and nothing else would remove it.
			if err := r.store.Delete(ctx, key); err != nil {
				skip(key, err)
			}
			continue
		}
		// All parts held means the message completed earlier and was
		// never released (a crash before the caller persisted it): deliver
		// it whole rather than as a timeout.
		st := status
		if distinctSeqs(parts) == key.Total {
			st = Complete
		}
		out = append(out, r.assemble(key, parts, st))
	}
	if len(failed.Keys) > 0 {
		return out, &failed
	}
	return out, nil
}

// distinctSeqs counts the different sequence numbers among parts.
func distinctSeqs(parts []Part) int {
	seen := make(map[int]bool, len(parts))
	for _, p := range parts {
		seen[p.Seq] = true
	}
	return len(seen)
}

// Release forgets a message whose final result the caller has persisted.
func (r *Reassembler) Release(ctx context.Context, key Key) error {
	if err := r.store.Delete(ctx, key); err != nil {
		return fmt.Errorf("concat: release ref %d: %w", key.Ref, err)
	}
	return nil
}

// assemble orders parts and decodes them. Parts are decoded in runs of
// consecutive parts that share a coding and tables: senders that chose the coding per
// segment still read right, and a run of one coding is decoded as a whole,
// so a pair split across segments by a careless sender survives.
func (r *Reassembler) assemble(key Key, parts []Part, status Status) Result {
	parts = slices.Clone(parts)
	slices.SortFunc(parts, func(a, b Part) int { return cmp.Compare(a.Seq, b.Seq) })
	parts = slices.CompactFunc(parts, func(a, b Part) bool { return a.Seq == b.Seq })
	res := Result{Key: key, Status: status, Have: len(parts), Coding: parts[0].Coding, Parts: parts, Started: parts[0].At}
	for _, p := range parts[1:] {
		if p.At.Before(res.Started) {
			res.Started = p.At
		}
	}
	var text strings.Builder
	next := 1
	for i := 0; i < len(parts); {
		if parts[i].Seq != next {
			for s := next; s < parts[i].Seq; s++ {
				res.Missing = append(res.Missing, s)
			}
			text.WriteString(r.cfg.GapMarker)
		}
		j := i
		var run []byte
		for j < len(parts) && parts[j].Coding == parts[i].Coding && parts[j].Tables == parts[i].Tables && parts[j].Seq == parts[i].Seq+(j-i) {
			run = append(run, parts[j].Units...)
			j++
		}
		res.Units = append(res.Units, run...)
		s, err := decode(parts[i].Coding, parts[i].Tables, run)
		if err != nil && res.Err == nil {
			res.Err = fmt.Errorf("concat: decode parts %d-%d: %w", parts[i].Seq, parts[j-1].Seq, err)
		}
		text.WriteString(s)
		next = parts[j-1].Seq + 1
		i = j
	}
	for s := next; s <= key.Total; s++ {
		res.Missing = append(res.Missing, s)
	}
	if next <= key.Total {
		text.WriteString(r.cfg.GapMarker)
	}
	res.Text = text.String()
	if res.Err != nil {
		res.Status = Failed
	}
	return res
}
