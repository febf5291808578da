package interwork

import (
	"cmp"
	"context"
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

// What data_coding 0 means on a partner's link (SMSConfig.DefaultAlphabet).
const (
	// AlphabetGSM7 is the GSM 7 bit default alphabet, as SMPP 3.4 5.2.19
	// and TS 23.038 say.
	AlphabetGSM7 = "gsm7"
	// AlphabetLatin1 is ISO-8859-1 octets, AlphabetASCII IA5 octets, for
	// SMSCs that carry those under data_coding 0 (Kannel's alt-charset).
	AlphabetLatin1 = "latin1"
	AlphabetASCII  = "ascii"
)

// What becomes of an incoming message that is not chat text
// (SMSConfig.NonText).
const (
	// NonTextReject answers it with an error status: the sender learns
	// at once that it was not delivered.
	NonTextReject = "reject"
	// NonTextDrop acknowledges it and drops it; a sender that asked for
	// a receipt gets a final REJECTD one.
	NonTextDrop = "drop"
)

// NonTextPolicy is what each kind of content that is never relayed as
// chat text becomes (smpp.Classify): NonTextReject or NonTextDrop.
type NonTextPolicy struct {
	// Binary is 8-bit data (data_coding 2, 4, 0x14-0x17, 0xF4-0xF7).
	Binary string `yaml:"binary"`
	// Ports is a message addressed to an application port (UDH element
	// 0x04 or 0x05).
	Ports string `yaml:"ports"`
	// Type0 is a Type 0 message (protocol_id 0x40), which a handset
	// acknowledges and discards.
	Type0 string `yaml:"type0"`
	// SMEAck is an SME delivery or user acknowledgement (esm_class 0x08,
	// 0x10).
	SMEAck string `yaml:"sme_ack"`
}

// of is the policy for content c.
func (n NonTextPolicy) of(c smpp.Content) string {
	switch c {
	case smpp.ContentBinary:
		return n.Binary
	case smpp.ContentPorts:
		return n.Ports
	case smpp.ContentType0:
		return n.Type0
	case smpp.ContentSMEAck:
		return n.SMEAck
	}
	return ""
}

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
	// DefaultAlphabet is what data_coding 0 (and the other schemes that
	// name the default alphabet) means on this link, both ways:
	// AlphabetGSM7, AlphabetLatin1 or AlphabetASCII.
	DefaultAlphabet string `yaml:"default_alphabet"`
	// FoldTypography replaces typographic quotes, dashes, ellipsis and
	// fixed-width spaces with their plain forms (coding.Fold) in text
	// toward the partner when that is all that keeps the text out of the
	// default alphabet, so that it is not sent as UCS-2 at half the
	// characters an SMS.
	FoldTypography bool `yaml:"fold_typography"`
	// NonText is what becomes of incoming messages that are not chat text.
	NonText NonTextPolicy `yaml:"non_text"`
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
		DefaultAlphabet:   AlphabetGSM7,
		// Typographic characters come from phone keyboards' smart
		// punctuation far more often than from writers who mean them;
		// each one alone would halve the text an SMS holds.
		FoldTypography: true,
		// A sender of binary or port-addressed data expects it processed
		// by an application; refusing tells it at once. A Type 0 message
		// is acknowledged and discarded by a handset (TS 23.040 9.2.3.9),
		// and an SME acknowledgement answers nothing we sent.
		NonText: NonTextPolicy{Binary: NonTextReject, Ports: NonTextReject, Type0: NonTextDrop, SMEAck: NonTextDrop},
	}
}

// WithDefaults fills zero fields from DefaultSMSConfig. Marker, Receipts
// and FoldTypography have no zero to fill: zero means no marker, no
// receipts and no folding.
func (s SMSConfig) WithDefaults() SMSConfig {
	d := DefaultSMSConfig()
	s.Coding = cmp.Or(s.Coding, d.Coding)
	s.Style = cmp.Or(s.Style, d.Style)
	s.MaxSegments = cmp.Or(s.MaxSegments, d.MaxSegments)
	s.Overflow = cmp.Or(s.Overflow, d.Overflow)
	s.ReassemblyTimeout = cmp.Or(s.ReassemblyTimeout, d.ReassemblyTimeout)
	s.Incomplete = cmp.Or(s.Incomplete, d.Incomplete)
	s.DefaultAlphabet = cmp.Or(s.DefaultAlphabet, d.DefaultAlphabet)
	s.NonText.Binary = cmp.Or(s.NonText.Binary, d.NonText.Binary)
	s.NonText.Ports = cmp.Or(s.NonText.Ports, d.NonText.Ports)
	s.NonText.Type0 = cmp.Or(s.NonText.Type0, d.NonText.Type0)
	s.NonText.SMEAck = cmp.Or(s.NonText.SMEAck, d.NonText.SMEAck)
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
	switch s.DefaultAlphabet {
	case AlphabetGSM7:
	case AlphabetLatin1, AlphabetASCII:
		if s.Coding == CodingGSM7 {
			bad("coding", "gsm7 is data_coding 0, which default_alphabet %s gives to %s", s.DefaultAlphabet, s.DefaultAlphabet)
		}
		if s.Packed {
			bad("packed", "packing is for GSM-7 (TS 23.038 section 6.1.2.1), default_alphabet is %s", s.DefaultAlphabet)
		}
	default:
		bad("default_alphabet", "%q is not gsm7, latin1 or ascii", s.DefaultAlphabet)
	}
	for _, f := range [...]struct{ name, v string }{
		{"non_text.binary", s.NonText.Binary}, {"non_text.ports", s.NonText.Ports},
		{"non_text.type0", s.NonText.Type0}, {"non_text.sme_ack", s.NonText.SMEAck},
	} {
		if f.v != NonTextReject && f.v != NonTextDrop {
			bad(f.name, "%q is not reject or drop", f.v)
		}
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
	return smpp.TextOptions{Coding: forced, Default: s.alphabet(), Concat: s.ConcatOptions()}
}

// alphabet is the coding data_coding 0 stands for on the partner's link.
func (s SMSConfig) alphabet() coding.Coding {
	switch s.DefaultAlphabet {
	case AlphabetLatin1:
		return coding.Latin1
	case AlphabetASCII:
		return coding.IA5
	}
	return coding.GSM7
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

// Texts turns text toward the partner into the texts to send, each one
// concatenated message within MaxSegments: the text itself when it fits,
// else what Overflow makes of it (several texts, one truncated with
// Marker, or a *split.OverflowError). Typographic characters are folded
// first when FoldTypography is set and folding brings the text into the
// default alphabet. Whether a text fits is asked of the segmenter itself
// (smpp.Segments), so an escape or a surrogate pair that moves to the
// next segment, or a grapheme cluster kept whole, is counted as it will
// be sent.
func (s SMSConfig) Texts(text string) ([]string, error) {
	opts := s.TextOptions()
	marker := s.Marker
	if s.FoldTypography && (opts.Coding == nil || *opts.Coding != coding.UCS2) {
		text = foldInto(opts.Default, text)
		// The default marker "…" alone would send a truncated text as
		// UCS-2.
		marker = foldInto(opts.Default, marker)
	}
	fits := func(t string) (bool, error) {
		_, err := smpp.Segments(t, opts)
		if errors.Is(err, concat.ErrTooManySegments) {
			return false, nil
		}
		return err == nil, err
	}
	ok, err := fits(text)
	if err != nil || ok {
		return []string{text}, err
	}
	n, per, err := smpp.Units(text, opts)
	if err != nil {
		return nil, err
	}
	limit := per * s.MaxSegments
	if s.MaxSegments == 1 {
		// One SMS holds a lone message's capacity, not a segment's.
		single := opts.Concat
		single.MaxSegments = 1
		limit = concat.Capacity(opts.CodingFor(text), single, false)
	}
	measure := func(t string) int {
		u, _, err := smpp.Units(t, opts)
		if err != nil {
			return len(t) * 2
		}
		return u
	}
	// Units add up; segments lose what a cut leaves at their end. Lower
	// the limit until every piece fits as it will be cut, by steps that
	// start at one unit and double: a few rounds, and at most twice the
	// room the cuts take is given up.
	for step := 1; limit > 0; step *= 2 {
		parts, err := split.Text(text, split.Options{Measure: measure, Limit: limit, Policy: s.OverflowPolicy(), Marker: marker})
		if err != nil {
			return nil, err
		}
		out := make([]string, len(parts))
		all := true
		for i, pt := range parts {
			out[i] = pt.Text
			if ok, err := fits(pt.Text); err != nil {
				return nil, err
			} else if !ok {
				all = false
			}
		}
		if all {
			return out, nil
		}
		limit -= step
	}
	return nil, &split.OverflowError{Size: n, Limit: per * s.MaxSegments, MaxParts: 1}
}

// The refusals of incoming messages that are not chat text, or whose
// data_coding cannot be read. ESME_RINVDCS is SMPP 5.0's status (4.7.6)
// for a data coding the receiver does not support; 3.4 reserves the
// value for extensions and has none of its own.
const statusInvDCS uint32 = 0x00000104

var (
	errBadCoding = &Refusal{"data_coding not supported (compressed, reserved or a national coding)", 415, statusInvDCS, 415}
	errBinary    = &Refusal{"8-bit data is not relayed as text", 415, statusInvDCS, 415}
	errPorts     = &Refusal{"port-addressed message is not relayed as text", 415, smpp.StatusXPAppn, 415}
	errType0     = &Refusal{"type 0 message is not relayed", 415, smpp.StatusXPAppn, 415}
	errSMEAck    = &Refusal{"SME acknowledgement is not relayed", 400, smpp.StatusInvEsmClass, 400}
)

// inbound reads an incoming message's data coding and user data header
// and applies the partner's NonText policy: the coding of its text and
// the message taken apart; drop when it is to be acknowledged and
// dropped; a *Refusal when it is refused.
func (s SMSConfig) inbound(m *smpp.Message) (c coding.Coding, in concat.Inbound, drop bool, err error) {
	in, err = m.Inspect()
	if err != nil {
		return 0, in, false, errBadText
	}
	sc, err := coding.ParseScheme(m.DataCoding, s.alphabet())
	if err != nil {
		return 0, in, false, errBadCoding
	}
	content := smpp.Classify(m, in, sc)
	if content == smpp.ContentText {
		return sc.Coding, in, false, nil
	}
	if s.NonText.of(content) == NonTextDrop {
		return 0, in, true, nil
	}
	switch content {
	case smpp.ContentBinary:
		err = errBinary
	case smpp.ContentPorts:
		err = errPorts
	case smpp.ContentType0:
		err = errType0
	default:
		err = errSMEAck
	}
	return 0, in, false, err
}

// dropSMS ends an incoming message that the partner's NonText policy
// drops: it was acknowledged and goes no further; a sender that asked
// for a receipt gets a final one saying it was rejected.
func (e *Engine) dropSMS(ctx context.Context, p *partner, id string, rt *receiptTo, now time.Time) {
	p.counters.add(counterFailed, 1)
	if rt != nil {
		q := &queued{ID: id, Dir: toRCS, Ingress: ingressSMPP, At: now.UnixNano(), Receipt: rt}
		e.queueReceipt(ctx, p, q, Rejected)
	}
}

// foldInto is coding.Fold(text) when that fits coding c and text does
// not, else text: folding is for keeping text in the default alphabet,
// not for rewriting text that goes as UCS-2 anyway.
func foldInto(c coding.Coding, text string) string {
	f := coding.Fold(text)
	if f == text {
		return text
	}
	if _, err := coding.Length(c, f); err != nil {
		return text
	}
	return f
}
