package interwork

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"iwf/internal/cfgerr"
	"iwf/pager/split"
	"iwf/smpp"
	"iwf/smpp/coding"
	"iwf/smpp/concat"
)

// SMSCoding is the data coding of messages toward a partner.
type SMSCoding string

// The codings.
const (
	// CodingAuto is GSM-7 when every character fits the default alphabet
	// and its extension table (TS 23.038 section 6.2.1), else UCS-2.
	CodingAuto SMSCoding = "auto"
	CodingGSM7 SMSCoding = "gsm7"
	CodingUCS2 SMSCoding = "ucs2"
)

// What a message whose segments stop arriving becomes (SMSConfig.Incomplete).
const (
	// IncompleteDeliver delivers the segments that arrived
	// (concat.DeliverPartial).
	IncompleteDeliver = "deliver"
	// IncompleteFail drops the message and fails it to its sender
	// (concat.FailIncomplete).
	IncompleteFail = "fail"
)

// SMSConfig is a partner's SMS text settings: how text is coded and
// segmented toward it, and how its segmented messages are put back
// together (the partners[].smpp.sms section). Zero fields take
// DefaultSMSConfig's values in WithDefaults, except Marker and Receipts,
// whose zero is a choice.
type SMSConfig struct {
	Coding SMSCoding `yaml:"coding"`
	// Packed sends GSM-7 seven bits a septet instead of one per octet.
	Packed bool `yaml:"packed"`
	// Style is the concatenation: udh8, udh16, sar or payload
	// (concat.ParseStyle).
	Style string `yaml:"style"`
	// MaxSegments caps the segments of one message (1..255); a longer
	// text follows Overflow.
	MaxSegments int `yaml:"max_segments"`
	// Overflow is split, truncate or reject (split.ParsePolicy): what a
	// text over MaxSegments becomes (several concatenated SMS, one
	// truncated, or refused).
	Overflow string `yaml:"overflow"`
	// Marker ends a truncated text.
	Marker string `yaml:"marker"`
	// ReassemblyTimeout bounds the wait for the segments of an incoming
	// message (DESIGN: bounded segment reassembly time).
	ReassemblyTimeout time.Duration `yaml:"reassembly_timeout"`
	// Incomplete is IncompleteDeliver or IncompleteFail: what a message
	// whose segments stop arriving becomes.
	Incomplete string `yaml:"incomplete"`
	// MaxReassemblies caps the partner's concatenated messages waiting
	// for segments in the store; the first segment of one more is
	// refused with ESME_RMSGQFUL (try later), so that one partner never
	// fills the store for the others.
	MaxReassemblies int `yaml:"max_reassemblies"`
	// Receipts asks the SMSC for delivery receipts (registered_delivery
	// 1, SMPP 3.4 section 5.2.17) on our submits.
	Receipts bool `yaml:"receipts"`
}

// DefaultSMSConfig returns the settings an empty section means.
func DefaultSMSConfig() SMSConfig {
	return SMSConfig{
		Coding:            CodingAuto,
		Style:             concat.UDH8.String(),
		MaxSegments:       10,
		Overflow:          split.PolicySplit.String(),
		Marker:            split.DefaultMarker,
		ReassemblyTimeout: 2 * time.Minute,
		Incomplete:        IncompleteDeliver,
		MaxReassemblies:   10000,
		Receipts:          true,
	}
}

// WithDefaults fills zero fields from DefaultSMSConfig. Marker and
// Receipts have no zero to fill: zero means no marker and no receipts.
func (s SMSConfig) WithDefaults() SMSConfig {
	d := DefaultSMSConfig()
	s.Coding = cmp.Or(s.Coding, d.Coding)
	s.Style = cmp.Or(s.Style, d.Style)
	s.MaxSegments = cmp.Or(s.MaxSegments, d.MaxSegments)
	s.Overflow = cmp.Or(s.Overflow, d.Overflow)
	s.ReassemblyTimeout = cmp.Or(s.ReassemblyTimeout, d.ReassemblyTimeout)
	s.Incomplete = cmp.Or(s.Incomplete, d.Incomplete)
	s.MaxReassemblies = cmp.Or(s.MaxReassemblies, d.MaxReassemblies)
	return s
}

// Validate checks every field and returns the faults joined, each a
// *cfgerr.FieldError naming its YAML field ("coding", "max_segments") and
// matching ErrInvalidConfig.
func (s SMSConfig) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &cfgerr.FieldError{Pkg: "interwork", Path: field, Reason: fmt.Sprintf(format, args...), Kind: ErrInvalidConfig})
	}
	switch s.Coding {
	case CodingAuto, CodingGSM7:
	case CodingUCS2:
		if s.Packed {
			bad("packed", "packing is for GSM-7 (TS 23.038 section 6.1.2.1), coding is ucs2")
		}
	default:
		bad("coding", "%q is not auto, gsm7 or ucs2", s.Coding)
	}
	if _, err := concat.ParseStyle(s.Style); err != nil {
		bad("style", "%q is not udh8, udh16, sar or payload", s.Style)
	}
	// A concatenated message counts its segments in one octet (TS 23.040
	// section 9.2.3.24.1, SMPP 3.4 section 5.3.2.23).
	if s.MaxSegments < 1 || s.MaxSegments > concat.MaxSegments {
		bad("max_segments", "%d is not 1..%d", s.MaxSegments, concat.MaxSegments)
	}
	if _, err := split.ParsePolicy(s.Overflow); err != nil {
		bad("overflow", "%q is not split, truncate or reject", s.Overflow)
	}
	if len(s.Marker) > 32 || strings.ContainsFunc(s.Marker, func(r rune) bool { return r == '\uFFFD' || unicode.IsControl(r) }) {
		bad("marker", "%q: at most 32 bytes of printable UTF-8", s.Marker)
	}
	if s.ReassemblyTimeout <= 0 {
		bad("reassembly_timeout", "%v: must be positive", s.ReassemblyTimeout)
	}
	switch s.Incomplete {
	case IncompleteDeliver, IncompleteFail:
	default:
		bad("incomplete", "%q is not deliver or fail", s.Incomplete)
	}
	if s.MaxReassemblies < 1 {
		bad("max_reassemblies", "%d: must be positive", s.MaxReassemblies)
	}
	return errors.Join(errs...)
}

// TextOptions are the coding and segmentation of text toward the
// partner: a forced coding unless Coding is auto.
func (s SMSConfig) TextOptions() smpp.TextOptions {
	var forced *coding.Coding
	switch s.Coding {
	case CodingGSM7:
		c := coding.GSM7
		forced = &c
	case CodingUCS2:
		c := coding.UCS2
		forced = &c
	}
	return smpp.TextOptions{Coding: forced, Concat: s.ConcatOptions()}
}

// ConcatOptions are the segmentation settings of messages toward the
// partner; a Style that does not parse (Validate names it) is udh8.
func (s SMSConfig) ConcatOptions() concat.Options {
	st, _ := concat.ParseStyle(s.Style)
	return concat.Options{Style: st, Packed: s.Packed, MaxSegments: s.MaxSegments}
}

// Reassembly configures the reassembly of the concatenated messages of
// the partner named partner.
func (s SMSConfig) Reassembly(partner string) concat.Config {
	pol := concat.DeliverPartial
	if s.Incomplete == IncompleteFail {
		pol = concat.FailIncomplete
	}
	return concat.Config{Partner: partner, Timeout: s.ReassemblyTimeout, Policy: pol, MaxSegments: s.MaxSegments, MaxMessages: s.MaxReassemblies}
}

// OverflowPolicy is what a text over MaxSegments becomes; an Overflow
// that does not parse (Validate names it) is split.
func (s SMSConfig) OverflowPolicy() split.Policy {
	p, _ := split.ParsePolicy(s.Overflow)
	return p
}
