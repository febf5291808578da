// Package tpdu is the transfer layer of SMS, 3GPP TS 23.040 section 9.2:
// SMS-SUBMIT, SMS-DELIVER and SMS-STATUS-REPORT (the TPDUs of RP-DATA),
// and SMS-SUBMIT-REPORT and SMS-DELIVER-REPORT (those of RP-ACK and
// RP-ERROR), decoded into typed values and encoded back octet for octet.
//
// It owns the fields of 9.2.3: TP-MTI with the flag bits of the first
// octet (TP-RD, TP-VPF, TP-RP, TP-UDHI, TP-SRR, TP-SRI, TP-SRQ, TP-MMS,
// TP-LP), TP-MR, addresses in semi-octets (9.1.2.5: numbers as swapped BCD
// with an F filler, alphanumeric type of number as packed GSM 7-bit),
// TP-PID, TP-DCS read as TS 23.038 section 4 codes it, TP-SCTS and TP-DT
// (9.2.3.11, 9.2.3.13), TP-VP in its relative, absolute and enhanced
// formats (9.2.3.12), TP-ST (9.2.3.15), TP-FCS (9.2.3.22), TP-PI (9.2.3.27)
// and TP-UDL/TP-UD with the user data header (9.2.3.16, 9.2.3.24).
//
// User data is kept as SMPP carries it: the header's octets apart and the
// text as units (GSM 7-bit septets one per octet, unpacked, or octets), so
// packages iwf/smpp/coding and iwf/smpp/concat, which the SMPP side uses,
// decode, split and reassemble it unchanged. Packing into septets, with the
// fill bits after a header, is coding.Pack and coding.Unpack.
//
// The package is pure: no I/O, no goroutines, no logging. Decoders check
// every length against the octets that remain before they use it and
// return a *FieldError that names the TPDU, the field and its offset.
package tpdu
