package msrp

import (
	"strconv"
	"strings"
)

// Unknown marks an unknown range end or total ('*' on the wire).
const Unknown int64 = -1

// ByteRange is the Byte-Range header (RFC 4975 section 7.1.1):
// "1-25/100", "1-*/*", "1-0/0". Start is 1-based; End and Total are
// Unknown for '*'. A zero Start means the header is absent.
type ByteRange struct {
	Start int64
	End   int64
	Total int64
}

// IsSet reports whether the header was present.
func (r ByteRange) IsSet() bool { return r.Start != 0 }

// maxRangeDigits keeps numbers far from int64 overflow.
const maxRangeDigits = 18

// ParseByteRange parses a Byte-Range header value.
func ParseByteRange(s string) (ByteRange, error) {
	startStr, rest, ok := strings.Cut(s, "-")
	if !ok {
		return ByteRange{}, errString("missing '-'")
	}
	endStr, totalStr, ok := strings.Cut(rest, "/")
	if !ok {
		return ByteRange{}, errString("missing '/'")
	}
	var r ByteRange
	var err error
	if r.Start, err = parseRangeNumber(startStr, false); err != nil {
		return ByteRange{}, err
	}
	if r.Start < 1 {
		return ByteRange{}, errString("range start below 1")
	}
	if r.End, err = parseRangeNumber(endStr, true); err != nil {
		return ByteRange{}, err
	}
	if r.Total, err = parseRangeNumber(totalStr, true); err != nil {
		return ByteRange{}, err
	}
	// "1-0/0" is the range of an empty message; otherwise end >= start.
	if r.End != Unknown && r.End < r.Start-1 {
		return ByteRange{}, errString("range end before start")
	}
	if r.Total != Unknown && r.End != Unknown && r.End > r.Total {
		return ByteRange{}, errString("range end beyond total")
	}
	return r, nil
}

func parseRangeNumber(s string, starOK bool) (int64, error) {
	if s == "*" && starOK {
		return Unknown, nil
	}
	if s == "" || len(s) > maxRangeDigits {
		return 0, errString("invalid number")
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errString("invalid number")
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// String formats the range as on the wire.
func (r ByteRange) String() string {
	return string(r.appendTo(nil))
}

func (r ByteRange) appendTo(b []byte) []byte {
	b = strconv.AppendInt(b, r.Start, 10)
	b = append(b, '-')
	b = appendRangeNumber(b, r.End)
	b = append(b, '/')
	return appendRangeNumber(b, r.Total)
}

func appendRangeNumber(b []byte, n int64) []byte {
	if n == Unknown {
		return append(b, '*')
	}
	return strconv.AppendInt(b, n, 10)
}
