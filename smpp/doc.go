// Package smpp is the SMPP 3.4 transport of the IWF: a Server that partner
// ESMEs bind to, and a Client that binds to partner SMSCs as an ESME.
//
// Server (the SMSC end, SMPP 3.4 section 2.2): NewServer takes a listener
// (tls.NewListener for TLS) and a SubmitHandler. It answers
// bind_transmitter / bind_receiver / bind_transceiver against per-partner
// credentials (password compared in constant time) and a per-partner bind
// cap, enquire_link and unbind, data_sm like submit_sm, query_sm /
// cancel_sm / replace_sm with their own responses, and generic_nack for
// unknown commands and bad command_length (which also closes the
// connection: the stream cannot be resynchronised). It probes quiet binds
// with enquire_link, and sends no TLV to an ESME that bound as SMPP 3.3. A submit_sm is answered only after
// SubmitHandler.HandleSubmit returns, so an acknowledged message is a stored
// one. Server.Deliver sends deliver_sm (mobile terminated messages,
// ReceiptMessage receipts) round robin over a partner's receiving binds,
// within a per-bind window, and waits for the deliver_sm_resp.
//
// Client (the ESME end): NewClient holds transceivers or transmitter +
// receiver pairs, rebinds with exponential back-off and jitter (the first
// bind too), probes with enquire_link, and sends Client.Submit calls through
// a per-bind window and token bucket. ESME_RTHROTTLED pauses the bind with
// back-off and sends the message again; ESME_RMSGQFUL is retried a bounded
// number of times; other statuses are final. deliver_sm (MO and receipts)
// goes to a DeliverHandler and is answered after it returns.
//
// Messages are carried raw (Message): short_message octets with their
// data_coding, esm_class and TLVs, exactly as on the wire. Packages coding,
// concat and receipt turn them into text, segments and receipts. The
// submit_sm / deliver_sm body codec (DecodeMessage, AppendMessage) is this
// package's own; every other PDU goes through github.com/linxGnu/gosmpp's
// codec (see pdu.go for why).
//
// Both ends log through the *slog.Logger they are given, with
// component=smpp and the partner, system_id and smpp_seq attributes, and
// report per-bind state, counters and last error through Status.
package smpp
