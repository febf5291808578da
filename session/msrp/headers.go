package msrp

import (
	"strconv"
	"strings"
)

// parseHeaders fills f from the header lines of block; lines[0] is the end
// of the start line and lines[i] the start of header i. Values are
// substrings of block.
func parseHeaders(block string, lines []int, f *Frame) error {
	for i := 1; i < len(lines); i++ {
		end := len(block)
		if i+1 < len(lines) {
			end = lines[i+1]
		}
		off := lines[i]
		line := block[off : end-2] // without CRLF
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			return &ParseError{Offset: off, Reason: "header line without name and ':'"}
		}
		name := line[:colon]
		if !validHeaderName(name) {
			return &ParseError{Offset: off, Reason: "invalid header name"}
		}
		value := trimBlanks(line[colon+1:])
		if err := setHeader(f, name, value); err != nil {
			err.Offset = off
			return err
		}
	}
	return nil
}

// validHeaderName: hname = ALPHA *token (RFC 4975 section 9).
func validHeaderName(s string) bool {
	c := s[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// isTokenChar: token characters of RFC 4975 section 9 (those of RFC 3261).
func isTokenChar(c byte) bool {
	if isAlnum(c) {
		return true
	}
	switch c {
	case '-', '.', '!', '%', '*', '_', '+', '`', '\'', '~':
		return true
	}
	return false
}

// setHeader stores one header; a name it does not know goes to f.Headers.
// Names are matched case-insensitively: RFC 4975 does not say they are
// case-sensitive and peers differ. Matching with equalFold, which fails
// at once on a length that differs, is cheaper than lowering the name.
func setHeader(f *Frame, name, value string) *ParseError {
	var reason string
	switch {
	case equalFold(name, "To-Path"):
		reason = setText(&f.ToPath, value, value != "", "empty")
	case equalFold(name, "From-Path"):
		reason = setText(&f.FromPath, value, value != "", "empty")
	case equalFold(name, "Message-ID"):
		reason = setText(&f.MessageID, value, validTID(value), "invalid ident")
	case equalFold(name, "Byte-Range"):
		reason = setByteRange(&f.ByteRange, value)
	case equalFold(name, "Success-Report"):
		reason = setReport(&f.SuccessReport, value, false)
	case equalFold(name, "Failure-Report"):
		reason = setReport(&f.FailureReport, value, true)
	case equalFold(name, "Status"):
		reason = setStatus(&f.Status, value)
	case equalFold(name, "Content-Type"):
		reason = setText(&f.ContentType, value, strings.Contains(value, "/"), "not type/subtype")
	case equalFold(name, "Use-Path"):
		reason = setText(&f.UsePath, value, true, "")
	case equalFold(name, "Expires"):
		reason = setSeconds(&f.Expires, value)
	case equalFold(name, "Min-Expires"):
		reason = setSeconds(&f.MinExpires, value)
	case equalFold(name, "Max-Expires"):
		reason = setSeconds(&f.MaxExpires, value)
	case equalFold(name, "WWW-Authenticate"):
		reason = setText(&f.WWWAuthenticate, value, true, "")
	case equalFold(name, "Authorization"):
		reason = setText(&f.Authorization, value, true, "")
	case equalFold(name, "Authentication-Info"):
		reason = setText(&f.AuthenticationInfo, value, true, "")
	default:
		f.Headers = append(f.Headers, Header{Name: name, Value: value})
	}
	if reason != "" {
		return &ParseError{Header: name, Reason: reason}
	}
	return nil
}

// The setters of setHeader return why a value is refused, or "" once it
// is stored; each refuses a second occurrence of its header.
const reasonDuplicate = "duplicate header"

// setText stores a text header that may appear once; ok says whether the
// value is valid, reason why not.
func setText(dst *string, value string, ok bool, reason string) string {
	switch {
	case *dst != "":
		return reasonDuplicate
	case !ok:
		return reason
	}
	*dst = value
	return ""
}

func setByteRange(dst *ByteRange, value string) string {
	if dst.IsSet() {
		return reasonDuplicate
	}
	r, err := ParseByteRange(value)
	if err != nil {
		return err.Error()
	}
	*dst = r
	return ""
}

func setStatus(dst *Status, value string) string {
	if dst.Code != 0 {
		return reasonDuplicate
	}
	st, ok := parseStatus(value)
	if !ok {
		return "not \"NNN NNN [comment]\""
	}
	*dst = st
	return ""
}

// setReport stores a Success-Report or Failure-Report value; only the
// latter may be "partial" (RFC 4975 section 9). The values are quoted
// strings of the ABNF, which RFC 5234 section 2.3 makes case-insensitive:
// "Yes" is yes.
func setReport(dst *Report, value string, partialOK bool) string {
	if *dst != ReportUnset {
		return reasonDuplicate
	}
	switch {
	case equalFold(value, "yes"):
		*dst = ReportYes
	case equalFold(value, "no"):
		*dst = ReportNo
	case equalFold(value, "partial") && partialOK:
		*dst = ReportPartial
	case partialOK:
		return "not yes, no or partial"
	default:
		return "not yes or no"
	}
	return ""
}

func setSeconds(dst *Seconds, value string) string {
	if dst.Set {
		return reasonDuplicate
	}
	n, err := strconv.ParseUint(value, 10, 32)
	if err != nil || value[0] == '+' {
		return "not a number of seconds"
	}
	*dst = Seconds{Value: uint32(n), Set: true}
	return ""
}

// parseStatus parses "000 200 OK" (RFC 4975 section 9: namespace SP
// status-code [SP comment]).
func parseStatus(s string) (Status, bool) {
	if len(s) < 7 || s[3] != ' ' || (len(s) > 7 && s[7] != ' ') {
		return Status{}, false
	}
	for _, i := range []int{0, 1, 2, 4, 5, 6} {
		if !isDigit(s[i]) {
			return Status{}, false
		}
	}
	st := Status{
		Namespace: int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0'),
		Code:      int(s[4]-'0')*100 + int(s[5]-'0')*10 + int(s[6]-'0'),
	}
	if st.Code < 100 {
		return Status{}, false
	}
	if len(s) > 8 {
		st.Comment = s[8:]
	}
	return st, true
}

// trimBlanks strips spaces and tabs around a header value.
func trimBlanks(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	return s[i:j]
}
