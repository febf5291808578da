// Package rp is the short message relay layer of 3GPP TS 24.011 as SMS over
// IP carries it (TS 24.341: the body of a SIP MESSAGE of type
// application/vnd.3gpp.sms is one RP message): RP-DATA in both directions,
// RP-ACK, RP-ERROR with its RP-Cause and RP-SMMA. It owns the message
// layouts of section 7.3, the message type indicator (8.2.2), the
// originator and destination address elements (8.2.5.1-2), RP-User-Data
// (8.2.5.3) and the RP-Cause values of table 8.4 (8.2.5.4), each with
// whether a later retry may succeed.
//
// The TPDU inside RP-User-Data is opaque here; package iwf/sms/tpdu reads
// it. The package is pure: bytes in, typed values out and back, no I/O.
// Decoders check every length against the octets that remain and return a
// *FieldError naming the element, which also tells the RP-Cause to answer
// with (RPCause).
package rp
