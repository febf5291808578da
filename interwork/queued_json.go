package interwork

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// The queued entries and the owed receipts are written and read once or
// more per message: through encoding/json's reflection they cost a
// dozen allocations each way. appendQueuedJSON and appendOwedReceiptJSON
// write the bytes json.Marshal writes for the same value, and the readers
// below read what json.Unmarshal reads, falling back to it for anything
// but the plain shapes these writers produce (a key they do not know, a
// null, a number that is no integer, a field read by another type).
// queued_json_test.go holds them to encoding/json: a table and a fuzz
// target compare bytes and values.

// appendQueuedJSON appends q as json.Marshal writes it.
func appendQueuedJSON(b []byte, q *queued) ([]byte, error) {
	return appendQueuedWith(b, q, q.Receipt)
}

// appendQueuedWith appends q with rt for its receipt. rt is a parameter
// of its own so that a receipt made for the call stays on the caller's
// stack: q's pointers leak to json.Marshal (appendJSONValue).
func appendQueuedWith(b []byte, q *queued, rt *receiptTo) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, q.ID)
	b = append(b, `,"dir":`...)
	b = appendJSONString(b, string(q.Dir))
	b = append(b, `,"in":`...)
	b = appendJSONString(b, string(q.Ingress))
	b = append(b, `,"text":`...)
	b = appendJSONString(b, q.Text)
	b = append(b, `,"at":`...)
	b = strconv.AppendInt(b, q.At, 10)
	if q.Expires != 0 {
		b = strconv.AppendInt(append(b, `,"exp":`...), q.Expires, 10)
	}
	if q.Promote {
		b = append(b, `,"promote":true`...)
	}
	if rt != nil {
		b = appendReceiptToJSON(append(b, `,"receipt":`...), rt)
	}
	b = appendJSONBytes(b, `,"notify":`, q.Notify)
	b = appendJSONBytes(b, `,"cpim":`, q.CPIM)
	b = appendJSONBytes(b, `,"notice":`, q.Notice)
	var err error
	if q.SMSIP != nil {
		if b, err = appendJSONValue(append(b, `,"smsip":`...), q.SMSIP); err != nil {
			return nil, err
		}
	}
	b = appendJSONBytes(b, `,"tpdu":`, q.TPDU)
	if q.Reported != nil {
		if b, err = appendJSONValue(append(b, `,"reported":`...), q.Reported); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// queuedSize is about the length appendQueuedJSON writes for q, so that
// it allocates once: the keys and quotes, the strings, 20 digits a
// number, a little for escapes.
func queuedSize(q *queued) int {
	n := 64 + 8 + len(q.ID) + len(q.Dir) + len(q.Ingress) + len(q.Text)
	if q.Expires != 0 {
		n += 28
	}
	if q.Promote {
		n += 15
	}
	if rt := q.Receipt; rt != nil {
		n += 96 + 10 + len(rt.ID) + len(rt.SrcAddr) + len(rt.DstAddr)
		if len(rt.Also) > 0 {
			n += 10
		}
		for _, id := range rt.Also {
			n += 3 + len(id)
		}
	}
	for _, b := range [...][]byte{q.Notify, q.CPIM, q.Notice, q.TPDU} {
		if len(b) > 0 {
			n += 14 + base64.StdEncoding.EncodedLen(len(b))
		}
	}
	if q.SMSIP != nil || q.Reported != nil {
		n += 128
	}
	return n
}

// owedReceiptSize is about the length appendOwedReceiptJSON writes for
// a receipt about m.
func owedReceiptSize(m *queued) int { return 80 + queuedSize(m) }

func appendReceiptToJSON(b []byte, r *receiptTo) []byte {
	b = appendJSONString(append(b, `{"id":`...), r.ID)
	b = strconv.AppendUint(append(b, `,"src_ton":`...), uint64(r.SrcTON), 10)
	b = strconv.AppendUint(append(b, `,"src_npi":`...), uint64(r.SrcNPI), 10)
	b = appendJSONString(append(b, `,"src":`...), r.SrcAddr)
	b = strconv.AppendUint(append(b, `,"dst_ton":`...), uint64(r.DstTON), 10)
	b = strconv.AppendUint(append(b, `,"dst_npi":`...), uint64(r.DstNPI), 10)
	b = appendJSONString(append(b, `,"dst":`...), r.DstAddr)
	if r.RD != 0 {
		b = strconv.AppendUint(append(b, `,"rd":`...), uint64(r.RD), 10)
	}
	if len(r.Also) > 0 {
		b = append(b, `,"also":[`...)
		for i, id := range r.Also {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, id)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendOwedReceiptJSON appends r as json.Marshal writes it.
func appendOwedReceiptJSON(b []byte, r *owedReceipt) ([]byte, error) {
	var rt *receiptTo
	if r.Message != nil {
		rt = r.Message.Receipt
	}
	return appendOwedWith(b, r, rt)
}

// appendOwedWith is appendOwedReceiptJSON with rt for the receipt of
// its message (appendQueuedWith).
func appendOwedWith(b []byte, r *owedReceipt, rt *receiptTo) ([]byte, error) {
	b = append(b, `{"message":`...)
	if r.Message == nil {
		b = append(b, "null"...)
	} else {
		var err error
		if b, err = appendQueuedWith(b, r.Message, rt); err != nil {
			return nil, err
		}
	}
	b = strconv.AppendUint(append(b, `,"outcome":`...), uint64(r.Outcome), 10)
	b = strconv.AppendInt(append(b, `,"done":`...), r.Done, 10)
	if r.Until != 0 {
		b = strconv.AppendInt(append(b, `,"until":`...), r.Until, 10)
	}
	return append(b, '}'), nil
}

// appendJSONBytes appends an omitempty []byte field: base64 in a string.
func appendJSONBytes(b []byte, key string, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = append(append(b, key...), '"')
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, '"')
}

// appendJSONValue appends what json.Marshal writes for v: the fields
// rare enough to leave to it.
func appendJSONValue(b []byte, v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}

const jsonHex = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json quotes it, HTML
// escaping included: <, > and & as \u003c, \u003e, \u0026, other
// controls as \u00XX but for \b \f \n \r \t, invalid UTF-8 as \ufffd,
// U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
