package status

import "time"

// ConfigInfo is the configuration the node runs on, for /status.
type ConfigInfo struct {
	// Path is the file it was read from.
	Path string `json:"path"`
	// Version names the file's content: the first 12 hex digits of its
	// SHA-256, so that two nodes, or a node and a file, can be compared.
	Version string `json:"version"`
	// Loaded is when that content was applied (at start, or by the last
	// reload that applied something).
	Loaded time.Time `json:"loaded"`
	// LastReload is the result of the last reload ("applied", "partial",
	// "refused", "invalid"), empty before the first; LastReloadAt when it
	// ran and LastReloadError why it did not apply everything.
	LastReload      string    `json:"last_reload,omitempty"`
	LastReloadAt    time.Time `json:"last_reload_at,omitzero"`
	LastReloadError string    `json:"last_reload_error,omitempty"`
}
