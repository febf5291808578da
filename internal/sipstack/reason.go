package sipstack

// ReasonPhrase is the reason phrase RFC 3261 section 21 (and RFC 3428,
// RFC 4028, RFC 6086 for the codes they add) gives status code. Reason
// phrases are for people (RFC 3261 section 7.2): a code without its own
// phrase gets its class's.
func ReasonPhrase(code int) string {
	if p, ok := reasonPhrases[code]; ok {
		return p
	}
	switch {
	case code >= 600:
		return "Global Failure"
	case code >= 500:
		return "Server Internal Error"
	case code >= 400:
		return "Request Failure"
	case code >= 300:
		return "Redirection"
	case code >= 200:
		return "OK"
	}
	return "Provisional"
}

var reasonPhrases = map[int]string{
	100: "Trying", 180: "Ringing", 183: "Session Progress",
	200: "OK", 202: "Accepted",
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
	408: "Request Timeout", 413: "Request Entity Too Large", 414: "Request-URI Too Long",
	415: "Unsupported Media Type", 416: "Unsupported URI Scheme", 420: "Bad Extension",
	421: "Extension Required", 422: "Session Interval Too Small", 480: "Temporarily Unavailable",
	481: "Call/Transaction Does Not Exist", 482: "Loop Detected", 483: "Too Many Hops",
	484: "Address Incomplete", 486: "Busy Here", 487: "Request Terminated",
	488: "Not Acceptable Here", 491: "Request Pending",
	500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway",
	503: "Service Unavailable", 504: "Server Time-out", 513: "Message Too Large",
	600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere", 606: "Not Acceptable",
}
