package cfgerr

import (
	"errors"
	"testing"
)

func TestPrefix(t *testing.T) {
	kind := errors.New("x: invalid configuration")
	other := errors.New("other")
	err := errors.Join(&FieldError{Pkg: "x", Path: "a", Reason: "bad", Kind: kind}, other)
	got := Prefix("partners[1].sip", err)
	var fe *FieldError
	if !errors.As(got, &fe) || fe.Path != "partners[1].sip.a" || !errors.Is(got, kind) || !errors.Is(got, other) {
		t.Fatalf("%v", got)
	}
	if got.Error() != "x: partners[1].sip.a: bad\nother" {
		t.Fatalf("%q", got.Error())
	}
	if Prefix("p", nil) != nil || Prefix("p", other) != other {
		t.Fatal("nil or foreign errors changed")
	}
}
