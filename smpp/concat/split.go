package concat

import (
	"fmt"
	"strings"

	"github.com/rivo/uniseg"

	"iwf/smpp/coding"
)

// Style is how a partner wants long messages carried.
type Style uint8

// The concatenation styles. The zero value is UDH8, the most widely
// understood.
const (
	// UDH8 prefixes each segment with the 6-octet header 05 00 03 ref total
	// seq (TS 23.040 9.2.3.24.1) and sets the UDHI bit of esm_class.
	UDH8 Style = iota
	// UDH16 uses the 7-octet header 06 08 04 ref-hi ref-lo total seq
	// (TS 23.040 9.2.3.24.8), so fewer references repeat.
	UDH16
	// SAR leaves short_message to the text and sets sar_msg_ref_num,
	// sar_total_segments and sar_segment_seqnum (SMPP 3.4 5.3.2.22-24);
	// the SMSC builds the UDH, so a segment holds a full 140 octets.
	SAR
	// Payload sends one PDU whose message_payload TLV holds the whole text
	// (SMPP 3.4 5.3.2.32); the SMSC segments it.
	Payload
)

// String is the config spelling of the style.
func (s Style) String() string {
	switch s {
	case UDH8:
		return "udh8"
	case UDH16:
		return "udh16"
	case SAR:
		return "sar"
	case Payload:
		return "payload"
	}
	return fmt.Sprintf("style(%d)", uint8(s))
}

// ParseStyle reads the config spelling of a style (see String).
func ParseStyle(s string) (Style, error) {
	for st := UDH8; st <= Payload; st++ {
		if strings.EqualFold(s, st.String()) {
			return st, nil
		}
	}
	return 0, fmt.Errorf("concat: unknown concatenation style %q (want udh8, udh16, sar or payload)", s)
}

// SMPP 3.4 names and limits used here.
const (
	// ESMClassUDHI is the esm_class bit saying short_message starts with a
	// user data header (SMPP 3.4 5.2.12, GSM specific feature bit 6).
	ESMClassUDHI byte = 0x40
	// TagSARMsgRefNum is sar_msg_ref_num, 2 octets (SMPP 3.4 5.3.2.22).
	TagSARMsgRefNum uint16 = 0x020C
	// TagSARTotalSegments is sar_total_segments, 1 octet (5.3.2.23).
	TagSARTotalSegments uint16 = 0x020E
	// TagSARSegmentSeqnum is sar_segment_seqnum, 1 octet (5.3.2.24).
	TagSARSegmentSeqnum uint16 = 0x020F
	// TagMessagePayload is message_payload (5.3.2.32).
	TagMessagePayload uint16 = 0x0424
	// MaxSegments is the most segments a 1-octet total can count.
	MaxSegments = 255
	// MaxPayload is the largest message_payload a 2-octet TLV length holds.
	MaxPayload = 0xFFFF
	// smOctets is the TP-UD capacity of one SMS (TS 23.040 9.2.3.16).
	smOctets = 140
)

// TLV is an SMPP optional parameter as it goes on the wire.
type TLV struct {
	Tag   uint16
	Value []byte
}

// Options are a partner's segmentation settings.
type Options struct {
	Style Style
	// Packed sends GSM7 text packed 7 bits per septet, with the fill bits
	// TS 23.040 9.2.3.24 asks for after a UDH; otherwise one septet per
	// octet, as SMPP 3.4 carries data_coding 0 by default.
	Packed bool
	// MaxSegments caps the segments of one message; 0 means 255.
	MaxSegments int
	// Tables are the national language tables GSM7 text was encoded with
	// (coding.ChooseTables). Other than the default they are named in the
	// UDH (TS 23.040 9.2.3.24.15-16), so they need UDH8 or UDH16, and even
	// a lone SMS then carries a UDH.
	Tables coding.Tables
}

// Segment is what one submit_sm / deliver_sm carries.
type Segment struct {
	// ShortMessage is the UDH (if any) followed by this segment's text;
	// empty with the Payload style for a long message.
	ShortMessage []byte
	// ESMClass holds the bits to OR into esm_class: ESMClassUDHI when
	// ShortMessage starts with a UDH.
	ESMClass byte
	// TLVs are the optional parameters to set on this PDU.
	TLVs []TLV
}

// Capacity is how many units of text one segment holds with options o,
// in the units coding.Length counts: 153/152 GSM7 septets, 67/66 UCS2
// code units, 134/133 octets for the 8-bit codings with UDH8/UDH16. SAR
// and Payload hold as much as UDH8: the SMSC turns the SAR parameters or
// its own segmentation of message_payload into the 6-octet header of TS
// 23.040 9.2.3.24.1 before the handset sees it, and that header takes its
// room from the same 140 octets. When concat is false it is the capacity
// of a lone, unconcatenated SMS (160 septets, 70 UCS2 units, 140 octets).
// Each national language element takes 3 octets more of the UDH.
func Capacity(c coding.Coding, o Options, concat bool) int {
	var info *Info
	if concat {
		info = &Info{Style: o.Style}
		if o.Style == SAR || o.Style == Payload {
			info.Style = UDH8
		}
	}
	header := 0
	if ies := o.headerIEs(info, c); len(ies) > 0 {
		header = UDHLen(ies)
	}
	bits := (smOctets - header) * 8
	switch c {
	case coding.GSM7:
		return (bits - coding.FillBits(header)) / 7
	case coding.UCS2:
		return bits / 16
	}
	return bits / 8
}

// capacityOctets is Capacity in octets of encoded text (unpacked septets
// for GSM7), the unit Split cuts in.
func capacityOctets(c coding.Coding, o Options, concat bool) int {
	if c == coding.UCS2 {
		return 2 * Capacity(c, o, concat)
	}
	return Capacity(c, o, concat)
}

// Split cuts encoded (the output of coding.Encode for c, unpacked for
// GSM7) into segments for o.Style. A text that fits one SMS gives one
// segment with no concatenation header and no TLVs. next is called once,
// only when the message needs a reference number, to get one
// (RefAllocator.NextRef). A message_payload (Payload) holds what
// o.MaxSegments segments would, as the SMSC will cut it.
func Split(encoded []byte, c coding.Coding, o Options, next func() (uint16, error)) ([]Segment, error) {
	cuts, err := o.plan(encoded, c)
	if err != nil {
		return nil, err
	}
	if cuts == nil {
		seg, err := o.segment(nil, encoded, c)
		if err != nil {
			return nil, err
		}
		return []Segment{seg}, nil
	}
	if o.Style == Payload {
		pl, err := body(encoded, c, o.Packed, 0)
		if err != nil {
			return nil, err
		}
		if len(pl) > MaxPayload {
			return nil, fmt.Errorf("concat: message_payload of %d octets over %d: %w", len(pl), MaxPayload, &SegmentsError{Need: 2, Max: 1})
		}
		return []Segment{{TLVs: []TLV{{Tag: TagMessagePayload, Value: pl}}}}, nil
	}
	if next == nil {
		return nil, fmt.Errorf("concat: %d segments need a reference number and no allocator was given", len(cuts)-1)
	}
	ref, err := next()
	if err != nil {
		return nil, fmt.Errorf("concat: reference number: %w", err)
	}
	total := len(cuts) - 1
	segs := make([]Segment, total)
	for i := range segs {
		info := Info{Style: o.Style, Ref: ref, Total: total, Seq: i + 1}
		if segs[i], err = o.segment(&info, encoded[cuts[i]:cuts[i+1]], c); err != nil {
			return nil, err
		}
	}
	return segs, nil
}

// Count is the number of SMS that Split makes of encoded, counted with
// the same cuts: 1 for a text that fits one, else the segments, which a
// Payload message_payload is cut into by the SMSC. A text over
// o.MaxSegments is a *SegmentsError. Callers that must fit a text to a
// budget ask Count rather than add up units: a cut never splits an
// escape pair, a surrogate pair or a grapheme cluster, so segments may
// carry less than Capacity.
func Count(encoded []byte, c coding.Coding, o Options) (int, error) {
	cuts, err := o.plan(encoded, c)
	if err != nil || cuts == nil {
		return 1, err
	}
	return len(cuts) - 1, nil
}

// plan checks o and encoded and returns the segment boundaries of a
// concatenated message, nil for a text that fits one SMS.
func (o Options) plan(encoded []byte, c coding.Coding) ([]int, error) {
	limit := o.MaxSegments
	if limit == 0 {
		limit = MaxSegments
	}
	if limit < 1 || limit > MaxSegments {
		return nil, fmt.Errorf("concat: max segments %d out of 1..%d", o.MaxSegments, MaxSegments)
	}
	if o.Style > Payload {
		return nil, fmt.Errorf("concat: unknown style %v", o.Style)
	}
	if c == coding.GSM7 && !o.Tables.IsDefault() && o.Style != UDH8 && o.Style != UDH16 {
		return nil, fmt.Errorf("concat: national language tables need a udh8 or udh16 style, not %v", o.Style)
	}
	if err := checkUnits(encoded, c); err != nil {
		return nil, err
	}
	if len(encoded) <= capacityOctets(c, o, false) {
		return nil, nil
	}
	cuts := cutPoints(encoded, c, capacityOctets(c, o, true), clusterStarts(encoded, c, o.Tables))
	if len(cuts)-1 > limit {
		return nil, &SegmentsError{Need: len(cuts) - 1, Max: limit}
	}
	return cuts, nil
}

// segment builds the PDU fields of one part: info locates it in a
// concatenated message, nil for a lone SMS.
func (o Options) segment(info *Info, units []byte, c coding.Coding) (Segment, error) {
	var seg Segment
	if info != nil && info.Style == SAR {
		seg.TLVs = info.sarTLVs()
	}
	hdr := []byte(nil)
	if ies := o.headerIEs(info, c); len(ies) > 0 {
		hdr = AppendUDH(nil, ies)
		seg.ESMClass = ESMClassUDHI
	}
	text, err := body(units, c, o.Packed, len(hdr))
	seg.ShortMessage = append(hdr, text...)
	return seg, err
}

// headerIEs are the UDH elements of a segment: the concatenation element
// of info (nil: none), then the national language shift elements of GSM7
// text.
func (o Options) headerIEs(info *Info, c coding.Coding) []IE {
	var ies []IE
	if info != nil && (info.Style == UDH8 || info.Style == UDH16) {
		ies = append(ies, info.ie())
	}
	if c != coding.GSM7 {
		return ies
	}
	if o.Tables.Locking != coding.Default {
		ies = append(ies, IE{ID: IEILockingShift, Data: []byte{byte(o.Tables.Locking)}})
	}
	if o.Tables.Single != coding.Default {
		ies = append(ies, IE{ID: IEISingleShift, Data: []byte{byte(o.Tables.Single)}})
	}
	return ies
}

// sarTLVs are the three SAR parameters for info.
func (info Info) sarTLVs() []TLV {
	return []TLV{
		{Tag: TagSARMsgRefNum, Value: []byte{byte(info.Ref >> 8), byte(info.Ref)}},
		{Tag: TagSARTotalSegments, Value: []byte{byte(info.Total)}},
		{Tag: TagSARSegmentSeqnum, Value: []byte{byte(info.Seq)}},
	}
}

// body is the text of a segment as it goes after a header of headerLen
// octets: packed with the fill bits the header needs, or as is.
func body(units []byte, c coding.Coding, packed bool, headerLen int) ([]byte, error) {
	if c == coding.GSM7 && packed {
		return coding.Pack(units, coding.FillBits(headerLen))
	}
	return append([]byte(nil), units...), nil
}

// checkUnits rejects input that is not whole units of c.
func checkUnits(encoded []byte, c coding.Coding) error {
	switch c {
	case coding.GSM7:
		for i, s := range encoded {
			if s > 0x7F {
				return fmt.Errorf("concat: octet 0x%02x at %d is not a septet: %w", s, i, coding.ErrMalformed)
			}
		}
	case coding.UCS2:
		if len(encoded)%2 != 0 {
			return fmt.Errorf("concat: ucs2 text of odd length %d: %w", len(encoded), coding.ErrMalformed)
		}
	}
	return nil
}

// cutPoints returns the segment boundaries 0 = c[0] < c[1] < ... = len:
// each segment as full as capacity allows without splitting a grapheme
// cluster (starts marks the units where one begins), so that a flag, an
// emoji ZWJ sequence or a letter with its combining marks shows whole on
// a handset that shows segments as they come. A cluster longer than a
// whole segment is cut inside, but never through a GSM 03.38 escape pair
// (TS 23.038 6.2.1.1) or a UTF-16 surrogate pair.
func cutPoints(encoded []byte, c coding.Coding, capacity int, starts []bool) []int {
	cuts := make([]int, 1, len(encoded)/capacity+2)
	for start := 0; start < len(encoded); {
		end, cluster := start, start
		for end < len(encoded) {
			step := unitLen(encoded, end, c)
			if end+step-start > capacity {
				break
			}
			end += step
			if end == len(encoded) || starts[end] {
				cluster = end
			}
		}
		if end < len(encoded) && cluster > start {
			end = cluster
		}
		cuts = append(cuts, end)
		start = end
	}
	return cuts
}

// unitLen is the length of the indivisible unit at i: an escape pair, a
// surrogate pair, a UCS-2 code unit or one octet.
func unitLen(b []byte, i int, c coding.Coding) int {
	switch c {
	case coding.GSM7:
		if b[i] == 0x1B && i+1 < len(b) {
			return 2
		}
	case coding.UCS2:
		if i+3 < len(b) && b[i]&0xFC == 0xD8 && b[i+2]&0xFC == 0xDC {
			return 4
		}
		return 2
	}
	return 1
}

// clusterStarts marks the offsets of encoded where a grapheme cluster
// (UAX #29, by uniseg) begins; the slice has len(encoded)+1 entries. Each
// indivisible unit is decoded on its own, so units that do not decode
// (binary data, a lone surrogate) start a cluster of their own.
func clusterStarts(encoded []byte, c coding.Coding, t coding.Tables) []bool {
	starts := make([]bool, len(encoded)+1)
	starts[len(encoded)] = true
	if c == coding.Binary {
		for i := range starts {
			starts[i] = true
		}
		return starts
	}
	var text strings.Builder
	// offsets[k] is the unit offset of the byte k of text where a unit's
	// decoding starts; -1 inside one.
	offsets := make([]int, 0, len(encoded)+8)
	for i := 0; i < len(encoded); {
		step := unitLen(encoded, i, c)
		s, err := decode(c, t, encoded[i:i+step])
		if err != nil || s == "" {
			s = "\uFFFD"
		}
		offsets = append(offsets, i)
		for range len(s) - 1 {
			offsets = append(offsets, -1)
		}
		text.WriteString(s)
		i += step
	}
	rest, state, pos := text.String(), -1, 0
	for len(rest) > 0 {
		var cluster string
		cluster, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		if off := offsets[pos]; off >= 0 {
			starts[off] = true
		}
		pos += len(cluster)
	}
	return starts
}
