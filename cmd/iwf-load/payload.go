package main

import (
	"crypto/rand"
	"encoding/hex"
	"mime"
	"strconv"
	"strings"

	"iwf/internal/cpim"
)

// The text of every message is "load <run-id> <seq>": the run id keeps a
// message left over from an earlier run (still queued in Redis) from
// counting in this one, the seq finds the submit it came from.

const (
	textPrefix = "load"
	maxRunID   = 32
	// maxSeq keeps a seq in an int on every platform.
	maxSeq = 1<<31 - 1
)

// payload is what a message text says.
type payload struct {
	RunID string
	Seq   int
}

// text is the message text of p.
func (p payload) text() string {
	return textPrefix + " " + p.RunID + " " + strconv.Itoa(p.Seq)
}

// parseText reads a text made by payload.text. It is strict: the texts
// are ours, anything else is a foreign message.
func parseText(s string) (payload, error) {
	parts := strings.Split(s, " ")
	if len(parts) != 3 || parts[0] != textPrefix {
		return payload{}, &payloadError{Reason: "not \"load <run-id> <seq>\""}
	}
	if !isRunID(parts[1]) {
		return payload{}, &payloadError{Reason: "bad run id " + strconv.Quote(parts[1])}
	}
	seq, ok := parseSeq(parts[2])
	if !ok {
		return payload{}, &payloadError{Reason: "bad seq " + strconv.Quote(parts[2])}
	}
	return payload{RunID: parts[1], Seq: seq}, nil
}

// parseSeq reads a decimal 0..maxSeq in its shortest form, so that
// parse and text are inverse.
func parseSeq(s string) (int, bool) {
	if s == "" || len(s) > 10 || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n <= maxSeq
}

// isRunID: 1 to maxRunID ASCII letters and digits.
func isRunID(s string) bool {
	if s == "" || len(s) > maxRunID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// newRunID draws 32 random bits, hex: enough to tell runs apart.
func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b[:])
}

// unwrap returns the text an MSRP message carries: the text/plain
// content of message/cpim (RFC 3862 section 2), as the IWF sends it
// (DESIGN flow 1 step 5). A bare text/plain body is taken too, so that a
// daemon sending no CPIM still shows as delivering.
func unwrap(contentType string, body []byte) (string, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", &payloadError{Reason: "content type " + strconv.Quote(contentType)}
	}
	switch mt {
	case "text/plain":
		return string(body), nil
	case "message/cpim":
		m, err := cpim.Parse(body)
		if err != nil {
			return "", &payloadError{Reason: "cpim: " + err.Error()}
		}
		if got := m.MediaType(); got != "text/plain" {
			return "", &payloadError{Reason: "cpim wraps " + strconv.Quote(got) + ", not text/plain"}
		}
		return string(m.Body), nil
	}
	return "", &payloadError{Reason: "content type " + mt + ", not message/cpim"}
}

// destination is the called number of conversation i.
func destination(i int) string {
	s := strconv.Itoa(i)
	return destPrefix + strings.Repeat("0", max(destDigits-len(s), 0)) + s
}

// uriDigits returns the digits of the number in a sip:, sips: or tel:
// URI's user part ("sip:+4671000001@host;user=phone" and
// "tel:+46-71-000001" both give "4671000001"), "" when it has none.
func uriDigits(uri string) string {
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "sip", "sips":
		// RFC 3261 section 19.1.1: the user part ends at "@"; without one
		// there is no user, only a host.
		user, _, found := strings.Cut(rest, "@")
		if !found {
			return ""
		}
		rest = user
	case "tel":
	default:
		return ""
	}
	// RFC 3966 section 3: parameters follow ";".
	rest, _, _ = strings.Cut(rest, ";")
	return digits(rest)
}

func digits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
