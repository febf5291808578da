// Package receipt parses SMSC delivery receipts and builds the receipts
// the IWF sends to partner ESMEs.
//
// A receipt is a deliver_sm (or data_sm) whose esm_class says "SMSC
// delivery receipt" (SMPP 3.4 5.2.12). Its short_message holds the text of
// SMPP 3.4 Appendix B,
//
//	id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...
//
// which is vendor specific in practice: keys come in any case, some are
// missing, dates carry seconds. The receipted_message_id (5.3.2.12),
// message_state (5.3.2.35) and network_error_code (5.3.2.31) TLVs, when
// present, win over the text. Parse reads all of that into a Receipt with
// a typed State; Build writes a Receipt back as Appendix B text and TLVs.
//
// The package is pure: no I/O, no goroutines, no logging.
package receipt
