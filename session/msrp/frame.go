// Package msrp is the MSRP wire codec (RFC 4975, with the relay headers of
// RFC 4976): frames, byte ranges, URIs and the streaming parser and
// serializer. It is pure: no sockets, goroutines or logging.
package msrp

// Methods defined by RFC 4975 and RFC 4976.
const (
	MethodSEND   = "SEND"
	MethodREPORT = "REPORT"
	MethodAUTH   = "AUTH"
)

// Continuation flags of the end-line (RFC 4975 section 7.1).
const (
	FlagEnd       byte = '$' // last chunk of the message
	FlagMore      byte = '+' // more chunks follow
	FlagAbort     byte = '#' // the sender abandoned the message
	flagUndefined byte = 0
)

// Report is the value of a Success-Report or Failure-Report header.
type Report uint8

// Report values; ReportUnset means the header is absent and the RFC 4975
// default applies (Success-Report no, Failure-Report yes).
const (
	ReportUnset Report = iota
	ReportYes
	ReportNo
	ReportPartial // Failure-Report only
)

func (r Report) String() string {
	switch r {
	case ReportYes:
		return "yes"
	case ReportNo:
		return "no"
	case ReportPartial:
		return "partial"
	}
	return ""
}

// Header is an extension header (one the codec has no field for), kept in
// the order it arrived so it can be passed on unchanged.
type Header struct {
	Name  string
	Value string
}

// Status is the value of the Status header (RFC 4975 section 9):
// "000 200 OK". A zero Code means the header is absent.
type Status struct {
	Namespace int
	Code      int
	Comment   string
}

// Seconds is an optional non-negative number of seconds (Expires,
// Min-Expires, Max-Expires of RFC 4976).
type Seconds struct {
	Value uint32
	Set   bool
}

// Frame is one MSRP request or response, a chunk when it is a SEND.
//
// Path headers are kept as raw strings (parse them with ParsePath when
// needed) so that the hot path does not allocate per URI.
type Frame struct {
	TransactionID string
	// Method is set for requests, empty for responses.
	Method string
	// StatusCode and Comment are set for responses.
	StatusCode int
	Comment    string

	ToPath        string
	FromPath      string
	MessageID     string
	ByteRange     ByteRange
	SuccessReport Report
	FailureReport Report
	Status        Status
	ContentType   string

	// RFC 4976 relay headers.
	UsePath            string
	Expires            Seconds
	MinExpires         Seconds
	MaxExpires         Seconds
	WWWAuthenticate    string
	Authorization      string
	AuthenticationInfo string

	// Headers holds every other header, in order, including the MIME
	// headers (Content-ID, Content-Disposition...) before Content-Type.
	Headers []Header

	// Body is the content of this chunk; nil when bodiless.
	Body []byte
	// Flag is the continuation flag of the end-line.
	Flag byte
}

// IsRequest reports whether f is a request.
func (f *Frame) IsRequest() bool { return f.Method != "" }

// Header returns the value of the first extension header named name
// (case-insensitive), and whether it exists.
func (f *Frame) Header(name string) (string, bool) {
	for _, h := range f.Headers {
		if equalFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

// Reset clears f for reuse while keeping its allocated slices.
func (f *Frame) Reset() {
	h, b := f.Headers[:0], f.Body[:0]
	*f = Frame{Headers: h, Body: b}
	if cap(b) == 0 {
		f.Body = nil
	}
}

// equalFold is ASCII-only case folding, enough for header names.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca|0x20 != cb|0x20 || ca|0x20 < 'a' || ca|0x20 > 'z' {
			return false
		}
	}
	return true
}
