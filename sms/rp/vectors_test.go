package rp

import (
	"bytes"
	"reflect"
	"testing"

	"iwf/sms/internal/vectors"
)

const vectorsPath = "../testdata/vectors.txt"

func loadVectors(tb testing.TB) map[string]vectors.Vector {
	tb.Helper()
	vs, err := vectors.Load(vectorsPath)
	if err != nil {
		tb.Fatal(err)
	}
	m := make(map[string]vectors.Vector, len(vs))
	for _, v := range vs {
		m[v.Name] = v
	}
	return m
}

var sc = Address{TON: TONInternational, NPI: NPIISDN, Digits: "447785016005"}

// TestVectors decodes every hand-written RP message into the value its
// comments describe and encodes that value back to the same octets.
func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	tests := []struct {
		vector string
		want   func(tpdu []byte) Message
	}{
		{vector: "rp-data-mo-submit", want: func(tp []byte) Message {
			return &Data{Direction: MO, Ref: 42, Destination: sc, UserData: tp}
		}},
		{vector: "rp-data-mo-submit-ucs2", want: func(tp []byte) Message {
			return &Data{Direction: MO, Ref: 43, Destination: sc, UserData: tp}
		}},
		{vector: "rp-data-mt-deliver", want: func(tp []byte) Message {
			return &Data{Direction: MT, Ref: 5, Originator: sc, UserData: tp}
		}},
		{vector: "rp-data-mt-status-report", want: func(tp []byte) Message {
			return &Data{Direction: MT, Ref: 6, Originator: sc, UserData: tp}
		}},
		{vector: "rp-ack-mt-submit-report", want: func(tp []byte) Message {
			return &Ack{Direction: MT, Ref: 42, UserData: tp}
		}},
		{vector: "rp-error-mo-deliver-report", want: func(tp []byte) Message {
			return &ErrorMsg{Direction: MO, Ref: 5, Cause: CauseMemoryCapacityExceeded, UserData: tp}
		}},
		{vector: "rp-smma", want: func([]byte) Message { return &SMMA{Ref: 11} }},
	}
	if len(tests) != len(vs) {
		t.Errorf("%d vectors in %s, %d tested", len(vs), vectorsPath, len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.vector, func(t *testing.T) {
			v, ok := vs[tc.vector]
			if !ok {
				t.Fatalf("no vector %q", tc.vector)
			}
			want := tc.want(v.TPDU)
			got, err := Decode(v.RP)
			if err != nil {
				t.Fatalf("Decode(% X): %v", v.RP, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Decode = %#v\nwant %#v", got, want)
			}
			enc, err := Encode(want)
			if err != nil || !bytes.Equal(enc, v.RP) {
				t.Fatalf("Encode = % X, %v\nwant % X", enc, err, v.RP)
			}
		})
	}
}
