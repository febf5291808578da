// Package concat cuts an encoded SMS into the segments an SMPP 3.4 partner
// expects and puts incoming segments back together.
//
// Outgoing: Split takes text already encoded by package coding and a
// per-partner Style: an 8-bit concatenation UDH (IEI 0x00, TS 23.040
// 9.2.3.24.1), a 16-bit one (IEI 0x08, 9.2.3.24.8), the SAR TLVs of SMPP 3.4
// 5.3.2.22-24, or a single PDU with message_payload (5.3.2.32). A cut never
// falls inside a GSM 03.38 escape pair or a UTF-16 surrogate pair, so every
// segment decodes on its own. Reference numbers come from a RefAllocator
// that rotates them per destination.
//
// Incoming: Inspect reads the UDH and SAR TLVs of a PDU into an Info (ref,
// total, seq); a Reassembler keeps parts in a PartStore until the message is
// complete, in any order and ignoring duplicates, and applies a timeout
// policy when the caller asks it to with the current time.
//
// The package holds no timers and no goroutines and does no I/O itself; the
// PartStore and RefAllocator interfaces take a context because their
// production implementations, SharedStore and SharedRefs, keep their state
// in a Backend shared by every node (Redis, through package store, which
// satisfies the interface declared here). How keys and parts are encoded
// there is this package's business; the Backend holds opaque bytes.
package concat
