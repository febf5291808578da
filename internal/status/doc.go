// Package status is the operator's window on a running IWF: an HTTP handler
// that serves /status (JSON for tools, an HTML page for people), /metrics
// (Prometheus exposition), /healthz and /readyz, the server loop that runs it,
// the event counters and histograms the protocol sides update, and a
// collector that turns a Snapshot into gauges at scrape time.
//
// The package knows nothing about SIP, MSRP, SMPP or Redis: the caller hands
// it a Snapshot function and a readiness check, so the endpoint always shows
// what the node itself believes, and a slow store shows up as a slow or
// failed snapshot rather than as a stale page.
//
// Access: with Options.Token set, /status and /metrics demand
// "Authorization: Bearer <token>" (RFC 6750 section 2.1); /healthz and
// /readyz stay open because orchestrator probes carry no credentials and
// reveal nothing but a reason string.
package status
