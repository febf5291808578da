package coding

import "fmt"

// Class is the message class of TS 23.038 section 4 (0 flash, 1 ME
// specific, 2 SIM specific, 3 TE specific), or NoClass.
type Class int8

// NoClass is a scheme that names no message class.
const NoClass Class = -1

// Indication is the kind of a message waiting indication (TS 23.038
// section 4, bits 1-0 of the message waiting groups).
type Indication uint8

// The indication kinds.
const (
	Voicemail Indication = iota
	Fax
	Email
	OtherWaiting
)

// Scheme is a data_coding octet taken apart: SMPP 3.4 5.2.19 for
// 0x00-0x0F, TS 23.038 section 4 for the rest.
type Scheme struct {
	// Coding is the alphabet of the text.
	Coding Coding
	// Class is the message class, NoClass when the scheme has none.
	Class Class
	// AutoDelete is the "marked for automatic deletion" group 0x40-0x7F.
	AutoDelete bool
	// Waiting is set by the message waiting groups 0xC0-0xEF; Active,
	// Kind and Store then describe the indication. Store is false for
	// the "discard message" group 0xC0-0xCF, whose text the handset may
	// drop and only show the indication.
	Waiting, Active, Store bool
	Kind                   Indication
}

// ParseScheme reads a data_coding octet. def is what the alphabet that
// SMPP calls "SMSC default" and TS 23.038 "GSM 7 bit default alphabet"
// means on this link: GSM7 by the standards, IA5 or Latin1 for SMSCs that
// put those octets under data_coding 0 (as Kannel's alt-charset does, for
// every 7-bit scheme whatever its class). Compressed text (TS 23.042) is
// ErrCompressed; JIS, Cyrillic, Hebrew, pictogram, Korean and reserved
// values are ErrUnsupported.
func ParseScheme(dc byte, def Coding) (Scheme, error) {
	s := Scheme{Class: NoClass}
	switch {
	case dc <= 0x0F:
		// SMPP 3.4 5.2.19 gives the first 16 values its own meanings.
		switch dc {
		case 0x00:
			s.Coding = def
		case 0x01:
			s.Coding = IA5
		case 0x03:
			s.Coding = Latin1
		case 0x02, 0x04:
			s.Coding = Binary
		case 0x08:
			s.Coding = UCS2
		default:
			return s, fmt.Errorf("coding: data_coding 0x%02x: %w", dc, ErrUnsupported)
		}
		return s, nil
	case dc < 0x80:
		// TS 23.038 section 4, general data coding (00xx xxxx) and
		// automatic deletion (01xx xxxx): bit 5 compressed, bit 4 says
		// bits 1-0 are a class, bits 3-2 the alphabet.
		s.AutoDelete = dc&0x40 != 0
		if dc&0x20 != 0 {
			return s, fmt.Errorf("coding: data_coding 0x%02x: %w", dc, ErrCompressed)
		}
		if dc&0x10 != 0 {
			s.Class = Class(dc & 0x03)
		}
		switch dc >> 2 & 0x03 {
		case 0:
			s.Coding = def
		case 1:
			s.Coding = Binary
		case 2:
			s.Coding = UCS2
		default:
			return s, fmt.Errorf("coding: data_coding 0x%02x (reserved alphabet): %w", dc, ErrUnsupported)
		}
		return s, nil
	case dc < 0xC0:
		return s, fmt.Errorf("coding: data_coding 0x%02x (reserved coding group): %w", dc, ErrUnsupported)
	case dc < 0xF0:
		// TS 23.038 section 4, message waiting indication groups: 1100
		// discard (default alphabet), 1101 store (default alphabet),
		// 1110 store (UCS2); bit 3 sets or clears the indication, bit 2
		// is reserved.
		s.Waiting, s.Active, s.Kind = true, dc&0x08 != 0, Indication(dc&0x03)
		s.Store = dc >= 0xD0
		s.Coding = def
		if dc >= 0xE0 {
			s.Coding = UCS2
		}
		return s, nil
	}
	// 1111 xxxx: data coding / message class; bit 3 is reserved, bit 2
	// chooses default alphabet or 8-bit data.
	s.Class = Class(dc & 0x03)
	s.Coding = def
	if dc&0x04 != 0 {
		s.Coding = Binary
	}
	return s, nil
}

// DataCoding writes the scheme back as the one octet that means it, with
// def the link's meaning of the default alphabet as for ParseScheme: the
// SMPP values 0x00-0x08 for a scheme without class, the general group
// with a class, the message waiting groups. A combination no octet
// expresses (IA5 with a class) is ErrUnsupported.
func (s Scheme) DataCoding(def Coding) (byte, error) {
	alphabet := byte(0xFF)
	switch s.Coding {
	case def:
		alphabet = 0
	case Binary:
		alphabet = 1
	case UCS2:
		alphabet = 2
	}
	if s.Waiting {
		b := byte(s.Kind & 0x03)
		if s.Active {
			b |= 0x08
		}
		switch {
		case alphabet == 2 && s.Store:
			return 0xE0 | b, nil
		case alphabet == 0 && s.Store:
			return 0xD0 | b, nil
		case alphabet == 0:
			return 0xC0 | b, nil
		}
		return 0, fmt.Errorf("coding: message waiting with %v: %w", s.Coding, ErrUnsupported)
	}
	if s.Class == NoClass && !s.AutoDelete {
		switch s.Coding {
		case def:
			return 0x00, nil
		case IA5, Latin1, Binary, UCS2:
			return byte(s.Coding), nil
		}
	}
	if alphabet == 0xFF || s.Class < NoClass || s.Class > 3 {
		return 0, fmt.Errorf("coding: %v with class %d: %w", s.Coding, s.Class, ErrUnsupported)
	}
	b := alphabet << 2
	if s.Class != NoClass {
		b |= 0x10 | byte(s.Class)
	}
	if s.AutoDelete {
		b |= 0x40
	}
	return b, nil
}
