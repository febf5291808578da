package smpp

import (
	"fmt"

	"iwf/smpp/coding"
	"iwf/smpp/concat"
)

// TextOptions are a partner's settings for the text it is sent.
type TextOptions struct {
	// Coding forces a coding; nil chooses GSM7 when every character fits,
	// else UCS2 (coding.Choose).
	Coding *coding.Coding
	// Concat is the segmentation style and limits.
	Concat concat.Options
	// RegisteredDelivery is copied into every segment (1 asks for a
	// delivery receipt).
	RegisteredDelivery byte
}

// TextMessages encodes text from src to dst as the submit_sm or
// deliver_sm bodies that carry it: one without a concatenation header
// when it fits a single SMS, else the segments in order. next gives the
// reference number of a concatenated message (concat.RefAllocator).
func TextMessages(src, dst Address, text string, o TextOptions, next func() (uint16, error)) ([]*Message, error) {
	c := coding.Choose(text)
	if o.Coding != nil {
		c = *o.Coding
	}
	encoded, err := coding.Encode(c, text)
	if err != nil {
		return nil, fmt.Errorf("smpp: text: %w", err)
	}
	segs, err := concat.Split(encoded, c, o.Concat, next)
	if err != nil {
		return nil, fmt.Errorf("smpp: text: %w", err)
	}
	out := make([]*Message, len(segs))
	for i, s := range segs {
		out[i] = &Message{
			Source:             src,
			Dest:               dst,
			ESMClass:           s.ESMClass,
			DataCoding:         byte(c),
			RegisteredDelivery: o.RegisteredDelivery,
			ShortMessage:       s.ShortMessage,
			TLVs:               s.TLVs,
		}
	}
	return out, nil
}

// Units is the length of text in the units of the coding TextMessages
// would choose with o (septets for GSM7, UTF-16 code units for UCS2),
// and the units one segment of a concatenated message holds: what a
// splitter needs to keep a text within a segment cap.
func Units(text string, o TextOptions) (n, perSegment int, err error) {
	c := coding.Choose(text)
	if o.Coding != nil {
		c = *o.Coding
	}
	n, err = coding.Length(c, text)
	if err != nil {
		return 0, 0, fmt.Errorf("smpp: text: %w", err)
	}
	return n, concat.Capacity(c, o.Concat, true), nil
}
