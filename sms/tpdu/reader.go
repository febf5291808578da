package tpdu

import "fmt"

// reader walks a TPDU and turns every short read into a *FieldError.
type reader struct {
	b   []byte
	off int
	pdu Type
}

func (r *reader) truncated(field string, format string, args ...any) error {
	return &FieldError{PDU: r.pdu, Field: field, Offset: r.off, Err: fmt.Errorf(format+": %w", append(args, ErrTruncated)...)}
}

func (r *reader) malformed(field string, off int, format string, args ...any) error {
	return &FieldError{PDU: r.pdu, Field: field, Offset: off, Err: fmt.Errorf(format+": %w", append(args, ErrMalformed)...)}
}

func (r *reader) left() int { return len(r.b) - r.off }

// octet reads one octet of field.
func (r *reader) octet(field string) (byte, error) {
	if r.off >= len(r.b) {
		return 0, r.truncated(field, "missing")
	}
	v := r.b[r.off]
	r.off++
	return v, nil
}

// take reads n octets of field without copying them.
func (r *reader) take(field string, n int) ([]byte, error) {
	if n > r.left() {
		return nil, r.truncated(field, "%d octets needed, %d left", n, r.left())
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v, nil
}

// end checks that nothing follows the last field.
func (r *reader) end() error {
	if r.off < len(r.b) {
		return r.malformed("TP-UD", r.off, "%d octets after the last field", r.left())
	}
	return nil
}
