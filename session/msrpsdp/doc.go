// Package msrpsdp builds and reads the SDP of MSRP sessions: the offers the
// IWF sends in INVITEs, the answers it gives to INVITEs from RCS networks,
// and the checks on a peer's description. It is a pure codec over
// github.com/pion/sdp/v3 and iwf/session/msrp: no network, no logging.
//
// The rules come from RFC 4975 section 8 (m=message, a=path,
// a=accept-types, a=accept-wrapped-types, a=max-size), RFC 6135 (a=setup
// for MSRP), RFC 6714 (a=msrp-cema), RFC 4572 (a=fingerprint) and RFC 3264
// (offer/answer). Each rule is cited where it is implemented.
//
// A typical answerer:
//
//	offer, err := msrpsdp.Parse(body)       // 488 on error: see SIPStatusOf, Error.Warning
//	sdp, neg, err := msrpsdp.BuildAnswer(origin, offer, local)
//	if neg.Active { dial(neg.ConnectAddr()) } else { await the peer on local.Path }
//
// and an offerer:
//
//	sdp, err := msrpsdp.BuildOffer(origin, local)
//	answer, err := msrpsdp.Parse(answerBody)
//	neg, err := msrpsdp.Negotiate(msrpsdp.Offerer, local, answer.Media)
package msrpsdp
