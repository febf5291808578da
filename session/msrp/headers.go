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

// setHeader stores one header. Names are matched case-insensitively:
// RFC 4975 does not say they are case-sensitive and peers differ.
func setHeader(f *Frame, name, value string) *ParseError {
	bad := func(reason string) *ParseError { return &ParseError{Header: name, Reason: reason} }
	dupe := func(set bool) *ParseError {
		if set {
			return bad("duplicate header")
		}
		return nil
	}
	switch {
	case equalFold(name, "To-Path"):
		if err := dupe(f.ToPath != ""); err != nil {
			return err
		}
		if value == "" {
			return bad("empty")
		}
		f.ToPath = value
	case equalFold(name, "From-Path"):
		if err := dupe(f.FromPath != ""); err != nil {
			return err
		}
		if value == "" {
			return bad("empty")
		}
		f.FromPath = value
	case equalFold(name, "Message-ID"):
		if err := dupe(f.MessageID != ""); err != nil {
			return err
		}
		if !validTID(value) {
			return bad("invalid ident")
		}
		f.MessageID = value
	case equalFold(name, "Byte-Range"):
		if err := dupe(f.ByteRange.IsSet()); err != nil {
			return err
		}
		r, err := ParseByteRange(value)
		if err != nil {
			return bad(err.Error())
		}
		f.ByteRange = r
	case equalFold(name, "Success-Report"):
		if err := dupe(f.SuccessReport != ReportUnset); err != nil {
			return err
		}
		switch value {
		case "yes":
			f.SuccessReport = ReportYes
		case "no":
			f.SuccessReport = ReportNo
		default:
			return bad("not yes or no")
		}
	case equalFold(name, "Failure-Report"):
		if err := dupe(f.FailureReport != ReportUnset); err != nil {
			return err
		}
		switch value {
		case "yes":
			f.FailureReport = ReportYes
		case "no":
			f.FailureReport = ReportNo
		case "partial":
			f.FailureReport = ReportPartial
		default:
			return bad("not yes, no or partial")
		}
	case equalFold(name, "Status"):
		if err := dupe(f.Status.Code != 0); err != nil {
			return err
		}
		st, ok := parseStatus(value)
		if !ok {
			return bad("not \"NNN NNN [comment]\"")
		}
		f.Status = st
	case equalFold(name, "Content-Type"):
		if err := dupe(f.ContentType != ""); err != nil {
			return err
		}
		if !strings.Contains(value, "/") {
			return bad("not type/subtype")
		}
		f.ContentType = value
	case equalFold(name, "Use-Path"):
		if err := dupe(f.UsePath != ""); err != nil {
			return err
		}
		f.UsePath = value
	case equalFold(name, "Expires"):
		return setSeconds(&f.Expires, name, value)
	case equalFold(name, "Min-Expires"):
		return setSeconds(&f.MinExpires, name, value)
	case equalFold(name, "Max-Expires"):
		return setSeconds(&f.MaxExpires, name, value)
	case equalFold(name, "WWW-Authenticate"):
		if err := dupe(f.WWWAuthenticate != ""); err != nil {
			return err
		}
		f.WWWAuthenticate = value
	case equalFold(name, "Authorization"):
		if err := dupe(f.Authorization != ""); err != nil {
			return err
		}
		f.Authorization = value
	case equalFold(name, "Authentication-Info"):
		if err := dupe(f.AuthenticationInfo != ""); err != nil {
			return err
		}
		f.AuthenticationInfo = value
	default:
		f.Headers = append(f.Headers, Header{Name: name, Value: value})
	}
	return nil
}

func setSeconds(dst *Seconds, name, value string) *ParseError {
	if dst.Set {
		return &ParseError{Header: name, Reason: "duplicate header"}
	}
	n, err := strconv.ParseUint(value, 10, 32)
	if err != nil || value[0] == '+' {
		return &ParseError{Header: name, Reason: "not a number of seconds"}
	}
	*dst = Seconds{Value: uint32(n), Set: true}
	return nil
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
