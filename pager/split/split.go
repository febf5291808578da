// Package split cuts a UTF-8 text into parts that each fit a target's size
// limit: SIP MESSAGE bodies (bytes, RFC 3428 section 8 recommends 1300 on a
// path without congestion control) and SMS (GSM 03.38 septets or UCS-2
// units, measured by the smpp side). It is shared by every pager-side
// delivery of the IWF.
//
// Cuts fall on line-break opportunities (UAX #14, in practice after the
// white space between words) where that wastes at most half a part, else on
// a grapheme cluster boundary (UAX #29): a cluster (a letter with its
// combining marks, an emoji ZWJ sequence, a flag) is never broken. The
// white space at a cut is dropped from the text sent. Part counters such as
// " (1/3)" are measured inside the limit.
//
// The package is pure: no I/O, no goroutines, no logging, no package-level
// state.
package split

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// Measure returns the size of s in the units of a limit. It must be
// additive over grapheme clusters (the size of a text is the sum of the
// sizes of its clusters) and never negative: bytes, GSM-7 septets with
// extension characters counting 2, and UTF-16 units all are.
type Measure func(s string) int

// Bytes measures UTF-8 bytes: the size of a SIP MESSAGE body (RFC 3428).
func Bytes(s string) int { return len(s) }

// UTF16Units measures UTF-16 code units, two for a character beyond the
// BMP: the size of UCS-2 SMS text (TS 23.038 section 6.2.3; a surrogate
// pair is one cluster here and so never split).
func UTF16Units(s string) int {
	n := 0
	for _, r := range s {
		n += utf16Len(r)
	}
	return n
}

func utf16Len(r rune) int {
	if r > 0xFFFF {
		return 2
	}
	return 1
}

// Policy says what happens to a text that does not fit one part.
type Policy uint8

// The overflow policies.
const (
	// PolicySplit cuts the text into up to MaxParts parts; a text that
	// needs more is an *OverflowError.
	PolicySplit Policy = iota
	// PolicyTruncate keeps one part: the longest prefix that fits with
	// Marker after it.
	PolicyTruncate
	// PolicyReject refuses a text over one part with an *OverflowError.
	PolicyReject
)

var policyNames = []string{PolicySplit: "split", PolicyTruncate: "truncate", PolicyReject: "reject"}

// String returns the configuration name: split, truncate or reject.
func (p Policy) String() string { return nameOf(policyNames, uint8(p), "Policy") }

// ParsePolicy reads a configuration name (split, truncate, reject).
func ParsePolicy(s string) (Policy, error) {
	v, err := parseName(policyNames, s, "Policy")
	return Policy(v), err
}

// MarshalText writes the configuration name.
func (p Policy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a configuration name, for YAML decoding.
func (p *Policy) UnmarshalText(b []byte) error {
	v, err := ParsePolicy(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Counter chooses the part counters of a split text.
type Counter uint8

// The counter styles. Counters are added only when there are two parts
// or more, and are measured inside the limit.
const (
	// CounterNone adds no counter.
	CounterNone Counter = iota
	// CounterSuffix ends each part with " (i/n)".
	CounterSuffix
	// CounterPrefix starts each part with "(i/n) ".
	CounterPrefix
)

var counterNames = []string{CounterNone: "none", CounterSuffix: "suffix", CounterPrefix: "prefix"}

// String returns the configuration name: none, suffix or prefix.
func (c Counter) String() string { return nameOf(counterNames, uint8(c), "Counter") }

// ParseCounter reads a configuration name (none, suffix, prefix).
func ParseCounter(s string) (Counter, error) {
	v, err := parseName(counterNames, s, "Counter")
	return Counter(v), err
}

// nameOf is the configuration name of value v of an enumeration.
func nameOf(names []string, v uint8, kind string) string {
	if int(v) < len(names) {
		return names[v]
	}
	return kind + "(" + strconv.Itoa(int(v)) + ")"
}

// parseName reads a configuration name of an enumeration, any case.
func parseName(names []string, s, kind string) (uint8, error) {
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return uint8(i), nil
		}
	}
	return 0, &OptionError{Field: kind, Reason: strconv.Quote(s) + " is not one of " + strings.Join(names, ", ")}
}

// MarshalText writes the configuration name.
func (c Counter) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a configuration name, for YAML decoding.
func (c *Counter) UnmarshalText(b []byte) error {
	v, err := ParseCounter(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// label is the counter text of part i of n.
func (c Counter) label(i, n int) string {
	switch c {
	case CounterSuffix:
		return " (" + strconv.Itoa(i) + "/" + strconv.Itoa(n) + ")"
	case CounterPrefix:
		return "(" + strconv.Itoa(i) + "/" + strconv.Itoa(n) + ") "
	}
	return ""
}

// DefaultMarker ends a truncated text unless Options.Marker says otherwise.
const DefaultMarker = "…"

// Options configure Text.
type Options struct {
	// Measure sizes text in the units of Limit; nil means Bytes.
	Measure Measure
	// Limit is the most a part may measure, counter and marker included.
	Limit int
	// MaxParts caps the parts of PolicySplit; zero means no cap.
	MaxParts int
	// Policy applies to a text over one part.
	Policy Policy
	// Marker ends a truncated text (PolicyTruncate); it may be empty.
	// Configuration layers default it to DefaultMarker.
	Marker string
	// Counter labels the parts of a split text.
	Counter Counter
}

// Part is one piece of a text.
type Part struct {
	// Text is what to send: Content with the counter, and for a
	// truncated text the marker. White space at a cut is dropped from
	// Text (it was the gap between two words), so Text measures at most
	// the limit even when that white space did not fit.
	Text string
	// Content is the slice of the input this part carries: the Contents
	// of a split text join to the input, that of a truncated text is a
	// prefix of it.
	Content string
	// Truncated is set on the part of a truncated text.
	Truncated bool
}

// maxCounterRounds bounds the search for a stable part count: the counter
// of part n/n grows with the digits of n, so the count settles after one
// round per digit for any additive measure.
const maxCounterRounds = 16

// Text cuts text into parts that each measure at most o.Limit. A text that
// fits is returned whole as one part under every policy; otherwise
// o.Policy decides (PolicySplit, PolicyTruncate, PolicyReject). Errors are
// an *OptionError, ErrInvalidUTF8, an *OverflowError or a *ClusterError.
func Text(text string, o Options) ([]Part, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if !utf8.ValidString(text) {
		return nil, ErrInvalidUTF8
	}
	m := o.measure()
	size := m(text)
	if size < 0 {
		return nil, &OptionError{Field: "Measure", Reason: "negative size"}
	}
	if size <= o.Limit {
		return []Part{{Text: text, Content: text}}, nil
	}
	switch o.Policy {
	case PolicyReject:
		return nil, &OverflowError{Size: size, Limit: o.Limit, MaxParts: 1}
	case PolicyTruncate:
		return truncate(text, o, m)
	}
	return o.split(text, size, m)
}

func (o Options) measure() Measure {
	if o.Measure == nil {
		return Bytes
	}
	return o.Measure
}

func (o Options) check() error {
	switch {
	case o.Limit <= 0:
		return &OptionError{Field: "Limit", Reason: "must be positive"}
	case o.MaxParts < 0:
		return &OptionError{Field: "MaxParts", Reason: "must not be negative"}
	case o.Policy > PolicyReject:
		return &OptionError{Field: "Policy", Reason: "unknown policy " + o.Policy.String()}
	case o.Counter > CounterPrefix:
		return &OptionError{Field: "Counter", Reason: "unknown counter " + o.Counter.String()}
	case !utf8.ValidString(o.Marker):
		return &OptionError{Field: "Marker", Reason: "not valid utf-8"}
	}
	return nil
}

func truncate(text string, o Options, m Measure) ([]Part, error) {
	mark := m(o.Marker)
	if mark < 0 || mark > o.Limit {
		return nil, &OptionError{Field: "Marker", Reason: "measures " + strconv.Itoa(mark) + ", over the limit of " + strconv.Itoa(o.Limit)}
	}
	s := newCutter(text, m)
	end := 0
	c, err := s.next(0, -1, o.Limit-mark)
	var ce *ClusterError
	switch {
	case err == nil:
		end = c.end
	case !errors.As(err, &ce):
		return nil, err
	}
	// A first cluster wider than the room left leaves the marker alone.
	content := trimCut(text[:end])
	return []Part{{Text: content + o.Marker, Content: content, Truncated: true}}, nil
}

func (o Options) split(text string, size int, m Measure) ([]Part, error) {
	s := newCutter(text, m)
	// n is the part count the counters are written for, starting from a
	// lower bound (no part holds more than the limit); with no counter
	// one round gives the answer.
	n := max(2, (size+o.Limit-1)/o.Limit)
	for round := 0; round < maxCounterRounds; round++ {
		capacity := func(i int) int { return o.Limit - m(o.Counter.label(i, n)) }
		if o.Counter == CounterNone {
			capacity = func(int) int { return o.Limit }
		}
		ends, err := s.all(capacity, o.MaxParts)
		if errors.Is(err, errTooManyParts) {
			return nil, &OverflowError{Size: size, Limit: o.Limit, Parts: len(ends), MaxParts: o.MaxParts}
		}
		if err != nil {
			return nil, err
		}
		if o.Counter == CounterNone || len(ends) == n {
			return o.parts(text, ends), nil
		}
		n = len(ends)
		if o.MaxParts > 0 && n > o.MaxParts {
			return nil, &OverflowError{Size: size, Limit: o.Limit, Parts: n, MaxParts: o.MaxParts}
		}
	}
	return nil, &OptionError{Field: "Measure", Reason: "part counters do not settle: the measure is not additive"}
}

// parts builds the Parts of a text cut at ends.
func (o Options) parts(text string, ends []int) []Part {
	out := make([]Part, len(ends))
	start := 0
	for i, end := range ends {
		content := text[start:end]
		// White space at a cut is the gap between two words: it would
		// read as a stray blank at the edge of a message or beside a
		// counter, and the cutter let it overflow the capacity.
		body := trimCut(content)
		if i > 0 {
			body = strings.TrimLeftFunc(body, unicode.IsSpace)
		}
		label := o.Counter.label(i+1, len(ends))
		if o.Counter == CounterPrefix {
			body = label + body
		} else {
			body += label
		}
		out[i] = Part{Text: body, Content: content}
		start = end
	}
	return out
}

// trimCut drops the white space a cut left at the end of a part: it was
// the gap between two words and reads as nothing before a counter or a
// marker.
func trimCut(s string) string { return strings.TrimRightFunc(s, unicode.IsSpace) }

// cutter walks the grapheme clusters of one text.
type cutter struct {
	text string
	m    Measure
	// breaks are the UAX #14 line-break opportunities of the text found
	// so far, ascending byte offsets, up to lineAt. They are found apart
	// from the grapheme walk (uniseg's combined Step costs several times
	// more) and only as far as the walk goes.
	breaks    []int
	lineAt    int
	lineState int
}

func newCutter(text string, m Measure) *cutter {
	return &cutter{text: text, m: m, lineState: -1}
}

// breakAt reports whether pos is a line-break opportunity, k being where
// to start looking in breaks (advanced past pos for the next call).
func (s *cutter) breakAt(pos int, k *int) bool {
	for s.lineAt < pos {
		var seg string
		seg, _, _, s.lineState = uniseg.FirstLineSegmentInString(s.text[s.lineAt:], s.lineState)
		s.lineAt += len(seg)
		s.breaks = append(s.breaks, s.lineAt)
	}
	for *k < len(s.breaks) && s.breaks[*k] < pos {
		*k++
	}
	return *k < len(s.breaks) && s.breaks[*k] == pos
}

// nextCluster returns the first grapheme cluster of rest, what follows it
// and the segmenter state after it. An ASCII character other than CR
// followed by another ASCII character is a cluster of its own (UAX #29
// GB999: no rule joins two such characters), and the fresh state is
// exact after it; that skips the segmenter for most SIP text.
func nextCluster(rest string, state int) (cluster, after string, newState int) {
	if len(rest) > 1 && rest[0] < utf8.RuneSelf && rest[1] < utf8.RuneSelf && rest[0] != '\r' {
		return rest[:1], rest[1:], -1
	}
	cluster, after, _, newState = uniseg.FirstGraphemeClusterInString(rest, state)
	return cluster, after, newState
}

// isSpace reports whether a cluster is white space only.
func isSpace(cluster string) bool {
	for _, r := range cluster {
		if !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// cut is the end of one part and the grapheme segmenter state to resume
// after it.
type cut struct {
	end   int
	state int
}

// errTooManyParts stops all at part maxParts+1; split turns it into an
// *OverflowError.
var errTooManyParts = errors.New("split: too many parts")

// all cuts the whole text; capacity gives the room of part i (1-based).
// With maxParts > 0 it stops with errTooManyParts and the maxParts+1 ends
// found so far.
func (s *cutter) all(capacity func(i int) int, maxParts int) ([]int, error) {
	var ends []int
	at := cut{end: 0, state: -1}
	for i := 1; at.end < len(s.text); i++ {
		if maxParts > 0 && i > maxParts {
			return append(ends, -1), errTooManyParts
		}
		c := capacity(i)
		if c <= 0 {
			return nil, &OptionError{Field: "Limit", Reason: "no room left beside the part counter"}
		}
		next, err := s.next(at.end, at.state, c)
		if err != nil {
			return nil, err
		}
		ends = append(ends, next.end)
		at = next
	}
	if len(ends) == 0 {
		ends = append(ends, 0)
	}
	return ends, nil
}

// next finds the end of the part that starts at byte start (grapheme
// segmenter state state) and may measure capacity: the last line-break
// opportunity that fits and falls between two clusters, when the part
// before it fills at least half the capacity, else the last grapheme
// cluster boundary that fits. The part is never empty unless the text is;
// a first cluster over capacity is a *ClusterError. It returns len(text)
// when the rest fits.
func (s *cutter) next(start, state, capacity int) (cut, error) {
	rest := s.text[start:]
	pos, size := start, 0
	brk := cut{end: -1}
	brkSize := 0
	full := false
	k := sort.SearchInts(s.breaks, start+1)
	for len(rest) > 0 {
		cluster, after, newState := nextCluster(rest, state)
		w := s.m(cluster)
		if w < 0 {
			return cut{}, &OptionError{Field: "Measure", Reason: "negative size"}
		}
		if full || size+w > capacity {
			if pos > start && isSpace(cluster) {
				// White space at the cut is trimmed from the part's
				// Text, so it rides along without taking room: the next
				// part then starts with a word, not a blank.
				pos += len(cluster)
				rest, state = after, newState
				brk, brkSize, full = cut{end: pos, state: state}, capacity, true
				continue
			}
			if pos == start {
				if capacity <= 0 {
					return cut{end: start, state: state}, nil
				}
				return cut{}, &ClusterError{Offset: pos, Size: w, Capacity: capacity}
			}
			// UAX #14 opportunity, if taking it wastes at most half.
			if brk.end > start && 2*brkSize >= capacity {
				return brk, nil
			}
			return cut{end: pos, state: state}, nil
		}
		size += w
		pos += len(cluster)
		rest, state = after, newState
		// An opportunity inside a cluster (UAX #14 and #29 disagree on a
		// few sequences) is skipped: clusters are never broken.
		if s.breakAt(pos, &k) {
			brk, brkSize = cut{end: pos, state: state}, size
		}
	}
	return cut{end: pos, state: state}, nil
}
