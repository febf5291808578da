package tpdu

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"iwf/sms/internal/vectors"
)

const vectorsPath = "../testdata/vectors.txt"

func loadVectors(tb testing.TB) []vectors.Vector {
	tb.Helper()
	vs, err := vectors.Load(vectorsPath)
	if err != nil {
		tb.Fatal(err)
	}
	return vs
}

// decodeKind decodes a TPDU of the vector kind.
func decodeKind(b []byte, kind string) (PDU, error) {
	switch kind {
	case "submit":
		return Decode(b, MO)
	case "deliver", "status-report":
		return Decode(b, MT)
	case "submit-report":
		return DecodeReport(b, MT, false)
	case "deliver-report":
		return DecodeReport(b, MO, true)
	}
	return nil, nil
}

func zone(hours float64) *time.Location {
	q := int(hours * 4)
	return time.FixedZone(zoneName(q), q*15*60)
}

// TestVectors decodes the TPDU of every hand-written vector into the value
// its comments describe and encodes that value back octet for octet.
func TestVectors(t *testing.T) {
	plus1, minus5 := zone(1), zone(-5)
	recipient := Address{TON: TONInternational, NPI: NPIISDN, Digits: "46708251358"}
	tests := []struct {
		vector string
		want   PDU
		text   string
	}{
		{vector: "rp-data-mo-submit", text: "hello", want: &Submit{
			StatusReportRequest: true,
			MessageRef:          7,
			Destination:         recipient,
			Validity:            Validity{Format: VPRelative, Relative: 167},
			UserData:            UserData{Units: []byte("hello")},
		}},
		{vector: "rp-data-mo-submit-ucs2", text: "Hé€", want: &Submit{
			RejectDuplicates: true,
			MessageRef:       8,
			Destination:      Address{TON: TONNational, NPI: NPIISDN, Digits: "0170123456"},
			DCS:              0x08,
			Validity:         Validity{Format: VPAbsolute, Absolute: time.Date(2024, 3, 10, 14, 30, 0, 0, plus1)},
			UserData:         UserData{Units: []byte{0x00, 0x48, 0x00, 0xE9, 0x20, 0xAC}},
		}},
		{vector: "rp-data-mt-deliver", text: "Hi", want: &Deliver{
			Originator:  Address{TON: TONAlphanumeric, Digits: "IWF"},
			SCTimestamp: time.Date(2024, 3, 9, 14, 30, 5, 0, plus1),
			UserData:    UserData{Header: []byte{0x00, 0x03, 0x7A, 0x02, 0x01}, Units: []byte("Hi")},
		}},
		{vector: "rp-data-mt-status-report", want: &StatusReport{
			MessageRef:    7,
			Recipient:     recipient,
			SCTimestamp:   time.Date(2024, 3, 9, 14, 30, 7, 0, minus5),
			DischargeTime: time.Date(2024, 3, 9, 14, 31, 12, 0, minus5),
			Status:        StatusReceived,
		}},
		{vector: "rp-ack-mt-submit-report", want: &Report{
			Direction:   MT,
			SCTimestamp: time.Date(2024, 3, 9, 14, 30, 7, 0, minus5),
		}},
		{vector: "rp-error-mo-deliver-report", want: &Report{
			Direction:    MO,
			Error:        true,
			FailureCause: FCSMemoryCapacityExceeded,
		}},
	}
	tested := map[string]bool{}
	for _, tc := range tests {
		tested[tc.vector] = true
	}
	vs := loadVectors(t)
	for _, v := range vs {
		if v.TPDU != nil && !tested[v.Name] {
			t.Errorf("vector %s not tested", v.Name)
		}
	}
	for _, tc := range tests {
		t.Run(tc.vector, func(t *testing.T) {
			var b []byte
			var kind string
			for _, v := range vs {
				if v.Name == tc.vector {
					b, kind = v.TPDU, v.Kind
				}
			}
			got, err := decodeKind(b, kind)
			if err != nil {
				t.Fatalf("decode % X: %v", b, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("decode = %#v\nwant %#v", got, tc.want)
			}
			enc, err := Encode(tc.want)
			if err != nil || !bytes.Equal(enc, b) {
				t.Fatalf("Encode = % X, %v\nwant % X", enc, err, b)
			}
			if tc.text == "" {
				return
			}
			var ud UserData
			var dcs DCS
			switch p := got.(type) {
			case *Submit:
				ud, dcs = p.UserData, p.DCS
			case *Deliver:
				ud, dcs = p.UserData, p.DCS
			}
			if text, err := ud.Text(dcs); err != nil || text != tc.text {
				t.Errorf("Text = %q, %v; want %q", text, err, tc.text)
			}
		})
	}
}
