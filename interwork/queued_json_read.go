package interwork

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// queuedJSON is queued without its methods: what encoding/json reads
// when the fast reader gives up.
type queuedJSON queued

// UnmarshalJSON reads q as json.Unmarshal reads a queued without this
// method. A queued read into anything but a zero value, and any input
// but the plain shape appendQueuedJSON writes, goes to encoding/json.
func (q *queued) UnmarshalJSON(data []byte) error {
	if q.isZero() {
		r := jsonReader{b: data}
		if r.queued(q) && r.end() {
			return nil
		}
		*q = queued{} // as it was, for encoding/json
	}
	return json.Unmarshal(data, (*queuedJSON)(q))
}

// isZero reports a queued as new(queued) makes it: decoding into it is
// decoding into a fresh value.
func (q *queued) isZero() bool {
	return q.ID == "" && q.Dir == "" && q.Ingress == "" && q.Text == "" && q.At == 0 && q.Expires == 0 &&
		!q.Promote && q.Receipt == nil && q.Notify == nil && q.CPIM == nil && q.Notice == nil &&
		q.SMSIP == nil && q.TPDU == nil && q.Reported == nil && !q.imdnPending
}

// readOwedReceipt reads an owed receipt as json.Unmarshal does.
func readOwedReceipt(data []byte) (owedReceipt, error) {
	r := jsonReader{b: data}
	var o owedReceipt
	if r.owedReceipt(&o) && r.end() {
		return o, nil
	}
	// Another variable: o, on the heap for encoding/json, would be
	// allocated for every read.
	var f owedReceipt
	err := json.Unmarshal(data, &f)
	return f, err
}

// jsonReader reads the shapes the writers above write. Every method
// reports false when the input is anything else; the caller then hands
// the whole input to encoding/json. The string fields it reads are set
// by end, all cut from one allocation.
type jsonReader struct {
	b   []byte
	off int
	// sets are the string fields read, in input order (a repeated key's
	// last value wins, as in encoding/json); nsets of them.
	sets  [12]stringSet
	nsets int
}

// stringSet is a string field to set: to the input's bytes from start
// to end, or to s when the input's bytes needed unquoting.
type stringSet struct {
	dst        *string
	start, end int
	s          string
	unquoted   bool
}

func (r *jsonReader) ws() {
	for r.off < len(r.b) {
		switch r.b[r.off] {
		case ' ', '\t', '\n', '\r':
			r.off++
		default:
			return
		}
	}
}

// end reports that only white space is left and sets the string fields
// read.
func (r *jsonReader) end() bool {
	r.ws()
	if r.off != len(r.b) {
		return false
	}
	n := 0
	for _, set := range r.sets[:r.nsets] {
		if !set.unquoted {
			n += set.end - set.start
		}
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, set := range r.sets[:r.nsets] {
		if !set.unquoted {
			sb.Write(r.b[set.start:set.end])
		}
	}
	all := sb.String()
	at := 0
	for _, set := range r.sets[:r.nsets] {
		if set.unquoted {
			*set.dst = set.s
			continue
		}
		n := set.end - set.start
		*set.dst = all[at : at+n]
		at += n
	}
	return true
}

// byte1 consumes c after white space.
func (r *jsonReader) byte1(c byte) bool {
	r.ws()
	if r.off < len(r.b) && r.b[r.off] == c {
		r.off++
		return true
	}
	return false
}

// object reads an object, calling field for each key with the reader
// at its value.
func (r *jsonReader) object(field func(key []byte) bool) bool {
	if !r.byte1('{') {
		return false
	}
	if r.byte1('}') {
		return true
	}
	for {
		r.ws()
		start, end, plain := r.token()
		if !plain || !r.byte1(':') {
			return false
		}
		r.ws()
		if !field(r.b[start:end]) {
			return false
		}
		if r.byte1('}') {
			return true
		}
		if !r.byte1(',') {
			return false
		}
	}
}

// token reads a string, returning where its content is and whether it
// is plain: no escapes, valid UTF-8, so that its bytes are its value.
// A string it cannot read is not plain, its bounds zero.
func (r *jsonReader) token() (start, end int, plain bool) {
	if r.off >= len(r.b) || r.b[r.off] != '"' {
		return 0, 0, false
	}
	plain = true
	for i := r.off + 1; i < len(r.b); i++ {
		switch c := r.b[i]; {
		case c == '"':
			start, end = r.off+1, i
			r.off = i + 1
			return start, end, plain && utf8.Valid(r.b[start:end])
		case c == '\\':
			plain = false
			i++ // the escaped character: no quote ends the string there
		case c < ' ':
			return 0, 0, false
		}
	}
	return 0, 0, false
}

// unquote reads a string value as encoding/json does, into a string of
// its own.
func (r *jsonReader) unquote() (string, bool) {
	at := r.off
	start, end, plain := r.token()
	switch {
	case plain:
		return string(r.b[start:end]), true
	case end == 0:
		return "", false
	}
	var s string
	return s, json.Unmarshal(r.b[at:r.off], &s) == nil
}

// str reads a string value into *dst, set by end.
func (r *jsonReader) str(dst *string) bool {
	if r.nsets == len(r.sets) {
		return false
	}
	at := r.off
	start, end, plain := r.token()
	set := stringSet{dst: dst, start: start, end: end}
	if !plain {
		s, ok := "", end > 0
		if ok {
			r.off = at
			s, ok = r.unquote()
		}
		if !ok {
			return false
		}
		set = stringSet{dst: dst, s: s, unquoted: true}
	}
	r.sets[r.nsets] = set
	r.nsets++
	return true
}

// bytes reads a []byte value as encoding/json does: base64 in a string.
func (r *jsonReader) bytes() ([]byte, bool) {
	at := r.off
	start, end, plain := r.token()
	src := r.b[start:end]
	if !plain {
		r.off = at
		s, ok := r.unquote()
		if !ok {
			return nil, false
		}
		src = []byte(s)
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
	n, err := base64.StdEncoding.Decode(b, src)
	return b[:n], err == nil
}

// number reads an integer: no fraction, no exponent (encoding/json
// refuses those for an integer field).
func (r *jsonReader) number() ([]byte, bool) {
	start := r.off
	if r.off < len(r.b) && r.b[r.off] == '-' {
		r.off++
	}
	digits := r.off
	for r.off < len(r.b) && r.b[r.off] >= '0' && r.b[r.off] <= '9' {
		r.off++
	}
	switch {
	case r.off == digits, r.b[digits] == '0' && r.off-digits > 1:
		return nil, false
	case r.off < len(r.b) && (r.b[r.off] == '.' || r.b[r.off] == 'e' || r.b[r.off] == 'E'):
		return nil, false
	}
	return r.b[start:r.off], true
}

func (r *jsonReader) int64() (int64, bool) {
	tok, ok := r.number()
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(tok), 10, 64)
	return n, err == nil
}

func (r *jsonReader) uint8() (uint8, bool) {
	tok, ok := r.number()
	if !ok || tok[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(tok), 10, 8)
	return uint8(n), err == nil
}

func (r *jsonReader) bool() (bool, bool) {
	rest := r.b[r.off:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		r.off += 4
		return true, true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		r.off += 5
		return false, true
	}
	return false, false
}

func (r *jsonReader) queued(q *queued) bool {
	return r.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "id":
			ok = r.str(&q.ID)
		case "dir":
			ok = r.str((*string)(&q.Dir))
		case "in":
			ok = r.str((*string)(&q.Ingress))
		case "text":
			ok = r.str(&q.Text)
		case "at":
			q.At, ok = r.int64()
		case "exp":
			q.Expires, ok = r.int64()
		case "promote":
			q.Promote, ok = r.bool()
		case "receipt":
			// A repeated key reads into what the first one made, as
			// encoding/json does.
			if q.Receipt == nil {
				q.Receipt = new(receiptTo)
			}
			ok = r.receiptTo(q.Receipt)
		case "notify":
			q.Notify, ok = r.bytes()
		case "cpim":
			q.CPIM, ok = r.bytes()
		case "notice":
			q.Notice, ok = r.bytes()
		case "tpdu":
			q.TPDU, ok = r.bytes()
		}
		return ok
	})
}

func (r *jsonReader) receiptTo(rt *receiptTo) bool {
	return r.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "id":
			ok = r.str(&rt.ID)
		case "src_ton":
			rt.SrcTON, ok = r.uint8()
		case "src_npi":
			rt.SrcNPI, ok = r.uint8()
		case "src":
			ok = r.str(&rt.SrcAddr)
		case "dst_ton":
			rt.DstTON, ok = r.uint8()
		case "dst_npi":
			rt.DstNPI, ok = r.uint8()
		case "dst":
			ok = r.str(&rt.DstAddr)
		case "rd":
			rt.RD, ok = r.uint8()
		case "also":
			rt.Also, ok = r.strings(rt.Also)
		}
		return ok
	})
}

// strings reads an array of strings into s as encoding/json does: its
// elements replaced, [] giving an empty slice, not nil. The elements
// are strings of their own: s may move as it grows.
func (r *jsonReader) strings(s []string) ([]string, bool) {
	if !r.byte1('[') {
		return nil, false
	}
	s = s[:0]
	if s == nil {
		s = []string{}
	}
	if r.byte1(']') {
		return s, true
	}
	for {
		r.ws()
		v, ok := r.unquote()
		if !ok {
			return nil, false
		}
		s = append(s, v)
		if r.byte1(']') {
			return s, true
		}
		if !r.byte1(',') {
			return nil, false
		}
	}
}

func (r *jsonReader) owedReceipt(o *owedReceipt) bool {
	return r.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "message":
			if o.Message != nil {
				return false // a repeated key: encoding/json merges
			}
			o.Message = new(queued)
			ok = r.queued(o.Message)
		case "outcome":
			var n uint8
			n, ok = r.uint8()
			o.Outcome = Outcome(n)
		case "done":
			o.Done, ok = r.int64()
		case "until":
			o.Until, ok = r.int64()
		}
		return ok
	})
}
