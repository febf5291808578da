// Package interwork is the core of the IWF: it groups pager messages
// (SMPP and SIP MESSAGE) into conversations kept in the store, promotes
// them into MSRP sessions toward the RCS side, delivers messages of
// RCS-opened sessions to the SMS and SIP pager side, and maps the
// outcomes back as delivery receipts, MSRP reports and IMDNs.
//
// Every message crosses the store before it is acknowledged: ingress
// appends it to its conversation's queue (a stream consumed with
// explicit acknowledgement) and only then answers 202 / submit_sm_resp /
// MSRP 200. One node at a time owns a conversation under a lease and
// runs its worker, which reads the queue (unacknowledged entries first,
// so a crash between read and send resends), sends, and acknowledges.
//
// interwork is the top layer. It uses the sides' message types (an
// smpp.Message, a session.Message, a pager.Outgoing) and reaches their
// running parts only through the small interfaces of sides.go, which
// *sipsession.Manager (through ManagerSessions), *smpp.Gateway,
// *pager.Sender and *store.Store implement and tests fake. The sides take
// the Engine as their handler (sipsession.Handler, smpp.SubmitHandler,
// smpp.DeliverHandler, pager.Store) after it was built.
package interwork
