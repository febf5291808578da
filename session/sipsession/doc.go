// Package sipsession opens and answers the SIP INVITE dialogs that carry
// MSRP sessions (RFC 4975 section 4, RFC 3261, RFC 3264 offer/answer): the
// IWF's side of RCS chat sessions. It owns no socket: the process's one
// sipgo server and its clients (internal/sipstack) are passed in, and
// [Manager.Register] adds the INVITE, ACK, BYE, CANCEL and UPDATE handlers
// to that server before it serves.
//
// Outgoing ([Manager.Open]): an MSRP session is created on the
// session.Endpoint, its path goes into an SDP offer (msrpsdp.BuildOffer),
// and the INVITE leaves toward the partner trunk's next hop with the
// headers RCS networks expect. A 2xx is acknowledged and its answer
// negotiated; a 3xx is followed once; a final error, a timeout or a
// cancelled context (CANCEL, RFC 3261 section 9) end in a typed *Error.
//
// Incoming: an INVITE is first checked against Config.Allow (403, before
// its body is read or an MSRP session exists) and Config.Limits (503 with
// Retry-After over the cap in all, 486 over the cap of its source), then
// its offer is validated (msrpsdp.Parse), answered with
// our path (msrpsdp.BuildAnswer), and the resulting [Call] handed to
// Config.OnIncoming before the 200 is sent; its error chooses the final
// status instead.
//
// In a dialog (dialog.go, timer.go): a Require we lack gets 420 with
// Unsupported; a re-INVITE or UPDATE (RFC 3311) with an offer moves the
// MSRP path, an offerless re-INVITE gets our media as the offer in its 2xx
// and its answer from the ACK; every 2xx to an INVITE carries Allow and
// Supported and is sent again over UDP until its ACK. RFC 4028 session
// timers run on both sides: 422 below Config.SessionTimer.MinSE, a refresh
// at half the interval when we refresh, BYE when the peer's never came.
// Contact, Accept-Contact and P-Preferred-Service name one service, the
// CPM session ICSI (GSMA RCC.07).
//
// A [Call] is what the interworking core sees: Send and Close, and an
// Events channel that carries the messages and reports received and ends
// when the call does, whatever ended it (BYE from either side, the MSRP
// connection lost, no ACK, CANCEL).
package sipsession
