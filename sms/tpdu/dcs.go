package tpdu

import (
	"fmt"

	"iwf/smpp/coding"
)

// DCS is TP-DCS (9.2.3.10), coded as TS 23.038 section 4 says.
type DCS uint8

// DCSFor is the TP-DCS of plain text in coding c, no message class: 0x00
// for the GSM 7-bit default alphabet, 0x04 for 8-bit data, 0x08 for UCS2.
// The SMPP-only codings (IA5, Latin-1) have no TP-DCS.
func DCSFor(c coding.Coding) (DCS, error) {
	switch c {
	case coding.GSM7:
		return 0x00, nil
	case coding.Binary:
		return 0x04, nil
	case coding.UCS2:
		return 0x08, nil
	}
	return 0, fmt.Errorf("tpdu: %v has no tp-dcs: %w", c, ErrInvalid)
}

// group is the coding group, bits 7-4.
func (d DCS) group() uint8 { return uint8(d) >> 4 }

// general reports the general data coding groups 00xx and the automatic
// deletion groups 01xx, which share their layout.
func (d DCS) general() bool { return d.group() <= 0x7 }

// Alphabet is the character set of the user data: coding.GSM7,
// coding.Binary (8-bit data) or coding.UCS2. TS 23.038 section 4 has a
// receiver take every reserved value (the alphabet 11 of the general
// groups, the groups 1000-1011) as the GSM 7-bit default alphabet.
func (d DCS) Alphabet() coding.Coding {
	switch {
	case d.general():
		switch d >> 2 & 0x03 {
		case 1:
			return coding.Binary
		case 2:
			return coding.UCS2
		}
		return coding.GSM7
	case d.group() == 0xE:
		return coding.UCS2 // message waiting, store, UCS2
	case d.group() == 0xF && d&0x04 != 0:
		return coding.Binary // data coding/message class, 8-bit
	}
	return coding.GSM7
}

// Compressed reports bit 5 of the general groups: the text is compressed
// (TS 23.042), which this package does not undo.
func (d DCS) Compressed() bool { return d.general() && d&0x20 != 0 }

// Class is the message class (0 flash, 1 ME, 2 SIM, 3 TE), and false when
// the value names none (bit 4 clear in the general groups; the message
// waiting groups).
func (d DCS) Class() (uint8, bool) {
	switch {
	case d.general() && d&0x10 != 0, d.group() == 0xF:
		return uint8(d) & 0x03, true
	}
	return 0, false
}

// septets reports whether TP-UDL counts septets: GSM 7-bit user data not
// compressed (9.2.3.16); otherwise it counts octets.
func (d DCS) septets() bool {
	return d.Alphabet() == coding.GSM7 && !d.Compressed()
}

// String shows the value and its alphabet for logs.
func (d DCS) String() string {
	return fmt.Sprintf("0x%02x(%v)", uint8(d), d.Alphabet())
}
