package msrp

import (
	"bytes"
	"math/rand/v2"
	"strconv"
)

// idAlphabet is ALPHANUM: every id drawn from it is a valid ident.
const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewID returns a 16-character alphanumeric identifier with about 95 bits
// of randomness, for transaction ids and Message-IDs (RFC 4975 section
// 7.1 asks for enough randomness that an end-line cannot be guessed).
// math/rand/v2's global source is a ChaCha8 generator seeded from the
// operating system.
func NewID() string {
	var b [16]byte
	x, y := rand.Uint64(), rand.Uint64()
	for i := 0; i < 8; i++ {
		b[i] = idAlphabet[x%62]
		x /= 62
		b[8+i] = idAlphabet[y%62]
		y /= 62
	}
	return string(b[:])
}

// HasBody reports whether f is serialized with a body section.
func (f *Frame) HasBody() bool { return f.ContentType != "" || len(f.Body) > 0 }

// AppendFrame appends the wire form of the whole frame f, body and
// end-line included. A request without a transaction id gets a fresh one.
// It refuses a body that contains the frame's own end-line with
// ErrEndLineInBody; SealTransactionID avoids that for requests.
func AppendFrame(dst []byte, f *Frame) ([]byte, error) {
	if f.TransactionID == "" {
		f.TransactionID = NewID()
	}
	if len(f.Body) > 0 && BodyContainsEndLine(f.Body, f.TransactionID) {
		return dst, ErrEndLineInBody
	}
	flag := f.Flag
	if flag == flagUndefined {
		flag = FlagEnd
	}
	dst = AppendHead(dst, f, f.HasBody())
	if f.HasBody() {
		dst = append(dst, f.Body...)
		dst = append(dst, '\r', '\n')
	}
	return AppendEndLine(dst, f.TransactionID, flag), nil
}

// SealTransactionID gives the request f a fresh transaction id whose
// end-line does not occur in body (RFC 4975 section 7.1: the sender
// must make sure the end-line is not in the content).
func SealTransactionID(f *Frame, body []byte) {
	for {
		f.TransactionID = NewID()
		if !BodyContainsEndLine(body, f.TransactionID) {
			return
		}
	}
}

// BodyContainsEndLine reports whether body holds the end-line prefix
// "-------<tid>", the only sequence a receiver could mistake for the end.
func BodyContainsEndLine(body []byte, tid string) bool {
	var pat [len(endLineDashes) + maxTIDLen]byte
	n := copy(pat[:], endLineDashes)
	n += copy(pat[n:], tid)
	return bytes.Contains(body, pat[:n])
}

// AppendHead appends the start line and headers of f and, when hasBody,
// the empty line that opens the body. The body, CRLF and end-line are the
// caller's (see AppendEndLine); this lets a sender stream a chunk.
func AppendHead(dst []byte, f *Frame, hasBody bool) []byte {
	dst = append(dst, "MSRP "...)
	dst = append(dst, f.TransactionID...)
	dst = append(dst, ' ')
	if f.Method != "" {
		dst = append(dst, f.Method...)
	} else {
		dst = strconv.AppendInt(dst, int64(f.StatusCode), 10)
		if f.Comment != "" {
			dst = append(dst, ' ')
			dst = append(dst, f.Comment...)
		}
	}
	dst = append(dst, "\r\n"...)
	dst = appendHeader(dst, "To-Path", f.ToPath)
	dst = appendHeader(dst, "From-Path", f.FromPath)
	dst = appendHeader(dst, "Message-ID", f.MessageID)
	dst = appendHeader(dst, "Success-Report", f.SuccessReport.String())
	dst = appendHeader(dst, "Failure-Report", f.FailureReport.String())
	if f.ByteRange.IsSet() {
		dst = append(dst, "Byte-Range: "...)
		dst = f.ByteRange.appendTo(dst)
		dst = append(dst, "\r\n"...)
	}
	if f.Status.Code != 0 {
		dst = append(dst, "Status: "...)
		dst = appendPadded3(dst, f.Status.Namespace)
		dst = append(dst, ' ')
		dst = appendPadded3(dst, f.Status.Code)
		if f.Status.Comment != "" {
			dst = append(dst, ' ')
			dst = append(dst, f.Status.Comment...)
		}
		dst = append(dst, "\r\n"...)
	}
	dst = appendHeader(dst, "Use-Path", f.UsePath)
	dst = appendSeconds(dst, "Expires", f.Expires)
	dst = appendSeconds(dst, "Min-Expires", f.MinExpires)
	dst = appendSeconds(dst, "Max-Expires", f.MaxExpires)
	dst = appendHeader(dst, "WWW-Authenticate", f.WWWAuthenticate)
	dst = appendHeader(dst, "Authorization", f.Authorization)
	dst = appendHeader(dst, "Authentication-Info", f.AuthenticationInfo)
	for _, h := range f.Headers {
		dst = append(dst, h.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, h.Value...)
		dst = append(dst, "\r\n"...)
	}
	if hasBody {
		ct := f.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		dst = appendHeader(dst, "Content-Type", ct)
		dst = append(dst, "\r\n"...)
	}
	return dst
}

// AppendEndLine appends "-------<tid><flag>\r\n".
func AppendEndLine(dst []byte, tid string, flag byte) []byte {
	dst = append(dst, endLineDashes...)
	dst = append(dst, tid...)
	return append(dst, flag, '\r', '\n')
}

func appendHeader(dst []byte, name, value string) []byte {
	if value == "" {
		return dst
	}
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

func appendSeconds(dst []byte, name string, s Seconds) []byte {
	if !s.Set {
		return dst
	}
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = strconv.AppendUint(dst, uint64(s.Value), 10)
	return append(dst, "\r\n"...)
}

func appendPadded3(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}
