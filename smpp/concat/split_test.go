package concat

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"iwf/smpp/coding"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// fixedRef is a reference source that counts its calls.
func fixedRef(ref uint16, calls *int) func() (uint16, error) {
	return func() (uint16, error) {
		*calls++
		return ref, nil
	}
}

func mustEncode(t testing.TB, c coding.Coding, text string) []byte {
	t.Helper()
	return encodeTables(t, c, coding.Tables{}, text)
}

// encodeTables encodes text in c, GSM7 with national tables tb.
func encodeTables(t testing.TB, c coding.Coding, tb coding.Tables, text string) []byte {
	t.Helper()
	var b []byte
	var err error
	if c == coding.GSM7 && !tb.IsDefault() {
		var a *coding.Alphabet
		if a, err = coding.NewAlphabet(tb); err == nil {
			b, err = a.AppendEncode(nil, text)
		}
	} else {
		b, err = coding.Encode(c, text)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// splitCase is one segment layout checked byte for byte.
type splitCase struct {
	name   string
	c      coding.Coding
	text   string
	opts   Options
	ref    uint16
	sizes  []int    // len(ShortMessage) per segment
	heads  []string // leading octets per segment, hex
	esm    byte
	sarTLV bool
}

// splitCases are the layouts checked byte for byte, here for their
// headers and sizes and in testdata/split.golden in full.
func splitCases() []splitCase {
	return []splitCase{
		{name: "gsm7 160 fits one", c: coding.GSM7, text: strings.Repeat("a", 160), sizes: []int{160}, heads: []string{"6161"}},
		{name: "gsm7 161 udh8 153+8", c: coding.GSM7, text: strings.Repeat("a", 161), ref: 0x42,
			sizes: []int{6 + 153, 6 + 8}, heads: []string{"050003420201 61", "050003420202 61"}, esm: ESMClassUDHI},
		{name: "gsm7 euro at 153 stays whole", c: coding.GSM7, text: strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10), ref: 7,
			sizes: []int{6 + 152, 6 + 12}, heads: []string{"050003070201 61", "050003070202 1b65 62"}, esm: ESMClassUDHI},
		{name: "gsm7 euro at 152 fits", c: coding.GSM7, text: strings.Repeat("a", 151) + "€" + strings.Repeat("b", 10), ref: 7,
			sizes: []int{6 + 153, 6 + 10}, heads: []string{"050003070201 61", "050003070202 62"}, esm: ESMClassUDHI},
		{name: "gsm7 161 udh16 152+9", c: coding.GSM7, text: strings.Repeat("a", 161), ref: 0x1234,
			sizes: []int{7 + 152, 7 + 9}, heads: []string{"0608041234 0201 61", "0608041234 0202 61"}, esm: ESMClassUDHI, opts: Options{Style: UDH16}},
		{name: "gsm7 161 sar 153+8", c: coding.GSM7, text: strings.Repeat("a", 161), ref: 0x1234,
			sizes: []int{153, 8}, heads: []string{"61", "61"}, opts: Options{Style: SAR}, sarTLV: true},
		{name: "gsm7 161 payload", c: coding.GSM7, text: strings.Repeat("a", 161), sizes: []int{0}, heads: []string{""}, opts: Options{Style: Payload}},
		{name: "gsm7 packed 161 udh8 fills 140", c: coding.GSM7, text: strings.Repeat("a", 161), ref: 0x42, opts: Options{Packed: true},
			sizes: []int{140, 6 + 8}, heads: []string{"050003420201 c2", "050003420202 c2"}, esm: ESMClassUDHI},
		{name: "gsm7 packed 161 udh16", c: coding.GSM7, text: strings.Repeat("a", 161), ref: 0x42, opts: Options{Packed: true, Style: UDH16},
			sizes: []int{140, 7 + 8}, heads: []string{"0608040042 0201 e170", "0608040042 0202 e170"}, esm: ESMClassUDHI},
		{name: "gsm7 packed 160 fits one", c: coding.GSM7, text: strings.Repeat("a", 160), opts: Options{Packed: true},
			sizes: []int{140}, heads: []string{"e170"}},
		{name: "ucs2 70 fits one", c: coding.UCS2, text: strings.Repeat("ж", 70), sizes: []int{140}, heads: []string{"0436"}},
		{name: "ucs2 71 udh8 67+4", c: coding.UCS2, text: strings.Repeat("ж", 71), ref: 1,
			sizes: []int{6 + 134, 6 + 8}, heads: []string{"050003010201 0436", "050003010202 0436"}, esm: ESMClassUDHI},
		{name: "ucs2 emoji at unit 67 stays whole", c: coding.UCS2, text: strings.Repeat("a", 66) + "😀" + strings.Repeat("b", 10), ref: 1,
			sizes: []int{6 + 132, 6 + 24}, heads: []string{"050003010201 0061", "050003010202 d83dde00 0062"}, esm: ESMClassUDHI},
		{name: "ucs2 71 udh16 66+5", c: coding.UCS2, text: strings.Repeat("ж", 71), ref: 1, opts: Options{Style: UDH16},
			sizes: []int{7 + 132, 7 + 10}, heads: []string{"0608040001 0201", "0608040001 0202"}, esm: ESMClassUDHI},
		{name: "latin1 141 udh8 134+7", c: coding.Latin1, text: strings.Repeat("é", 141), ref: 9,
			sizes: []int{140, 6 + 7}, heads: []string{"050003090201 e9", "050003090202 e9"}, esm: ESMClassUDHI},
		{name: "binary 141 udh16 133+8", c: coding.Binary, text: strings.Repeat("\xff", 141), ref: 9, opts: Options{Style: UDH16},
			sizes: []int{140, 7 + 8}, heads: []string{"0608040009 0201 ff", "0608040009 0202 ff"}, esm: ESMClassUDHI},
		{name: "gsm7 turkish single shift lone sms", c: coding.GSM7, text: "Şişli " + strings.Repeat("a", 147), opts: Options{Tables: coding.Tables{Single: coding.Turkish}},
			sizes: []int{4 + 155}, heads: []string{"03240101 1b53 69 1b73"}, esm: ESMClassUDHI},
		{name: "gsm7 turkish locking 2 segments", c: coding.GSM7, text: "Şişli " + strings.Repeat("a", 150), ref: 5,
			opts:  Options{Tables: coding.Tables{Locking: coding.Turkish, Single: coding.Turkish}},
			sizes: []int{12 + 146, 12 + 10}, heads: []string{"0b0003050201 250101 240101 1c69", "0b0003050202 250101 240101 61"}, esm: ESMClassUDHI},
		{name: "gsm7 spanish packed udh16", c: coding.GSM7, text: strings.Repeat("ó", 80), ref: 5,
			opts:  Options{Style: UDH16, Packed: true, Tables: coding.Tables{Single: coding.Spanish}},
			sizes: []int{140, 10 + 11}, heads: []string{"09080400050201 240102", "09080400050202 240102"}, esm: ESMClassUDHI},
		{name: "gsm7 459 three full udh8", c: coding.GSM7, text: strings.Repeat("x", 459), ref: 3,
			sizes: []int{159, 159, 159}, heads: []string{"050003030301", "050003030302", "050003030303"}, esm: ESMClassUDHI},
	}
}

func TestSplitLayouts(t *testing.T) {
	var golden strings.Builder
	for _, tc := range splitCases() {
		t.Run(tc.name, func(t *testing.T) {
			enc := encodeTables(t, tc.c, tc.opts.Tables, tc.text)
			calls := 0
			segs, err := Split(enc, tc.c, tc.opts, fixedRef(tc.ref, &calls))
			if err != nil {
				t.Fatal(err)
			}
			if len(segs) != len(tc.sizes) {
				t.Fatalf("%d segments, want %d", len(segs), len(tc.sizes))
			}
			if wantCalls := min(len(segs)-1, 1); tc.opts.Style == Payload && calls != 0 || tc.opts.Style != Payload && calls != wantCalls {
				t.Fatalf("reference allocated %d times for %d segments", calls, len(segs))
			}
			fmt.Fprintf(&golden, "# %s\n", tc.name)
			for i, s := range segs {
				if len(s.ShortMessage) != tc.sizes[i] {
					t.Errorf("segment %d: %d octets, want %d", i+1, len(s.ShortMessage), tc.sizes[i])
				}
				if head := unhex(t, tc.heads[i]); !bytes.HasPrefix(s.ShortMessage, head) {
					t.Errorf("segment %d starts % x, want % x", i+1, s.ShortMessage[:min(len(s.ShortMessage), len(head))], head)
				}
				if s.ESMClass != tc.esm {
					t.Errorf("segment %d esm_class bits 0x%02x, want 0x%02x", i+1, s.ESMClass, tc.esm)
				}
				if tc.sarTLV {
					want := []TLV{{TagSARMsgRefNum, []byte{byte(tc.ref >> 8), byte(tc.ref)}}, {TagSARTotalSegments, []byte{byte(len(segs))}}, {TagSARSegmentSeqnum, []byte{byte(i + 1)}}}
					if fmt.Sprint(s.TLVs) != fmt.Sprint(want) {
						t.Errorf("segment %d TLVs %v, want %v", i+1, s.TLVs, want)
					}
				}
				fmt.Fprintf(&golden, "esm=%02x sm=%x", s.ESMClass, s.ShortMessage)
				for _, tlv := range s.TLVs {
					fmt.Fprintf(&golden, " tlv=%04x:%x", tlv.Tag, tlv.Value)
				}
				golden.WriteByte('\n')
			}
		})
	}
	checkGolden(t, "testdata/split.golden", golden.String())
}

// checkGolden compares got with the golden file, or rewrites it under
// -update.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Fatalf("output differs from %s (run with -update after checking):\n%s", path, got)
	}
}

func TestSplitPayload(t *testing.T) {
	enc := mustEncode(t, coding.GSM7, strings.Repeat("a", 161))
	segs, err := Split(enc, coding.GSM7, Options{Style: Payload}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 1 || len(segs[0].ShortMessage) != 0 || len(segs[0].TLVs) != 1 ||
		segs[0].TLVs[0].Tag != TagMessagePayload || !bytes.Equal(segs[0].TLVs[0].Value, enc) {
		t.Fatalf("payload segments = %+v", segs)
	}
}

func TestSplitErrors(t *testing.T) {
	long := mustEncode(t, coding.GSM7, strings.Repeat("a", 154*3))
	errRefs := errors.New("refs down")
	tests := []struct {
		name string
		enc  []byte
		c    coding.Coding
		opts Options
		next func() (uint16, error)
		want error
	}{
		{name: "over the partner cap", enc: long, c: coding.GSM7, opts: Options{MaxSegments: 3}, next: func() (uint16, error) { return 1, nil }, want: ErrTooManySegments},
		{name: "allocator failure", enc: long, c: coding.GSM7, next: func() (uint16, error) { return 0, errRefs }, want: errRefs},
		{name: "no allocator", enc: long, c: coding.GSM7, want: nil},
		{name: "not septets", enc: []byte{'a', 0x80}, c: coding.GSM7, want: coding.ErrMalformed},
		{name: "odd ucs2", enc: []byte{0, 'a', 0}, c: coding.UCS2, want: coding.ErrMalformed},
		{name: "cap over 255", enc: long, c: coding.GSM7, opts: Options{MaxSegments: 256}, want: nil},
		{name: "payload too big", enc: make([]byte, MaxPayload+1), c: coding.Binary, opts: Options{Style: Payload}, want: ErrTooManySegments},
		{name: "unknown style", enc: long, c: coding.GSM7, opts: Options{Style: Payload + 1}, want: nil},
		{name: "national tables with sar", enc: long, c: coding.GSM7, opts: Options{Style: SAR, Tables: coding.Tables{Single: coding.Turkish}}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Split(tc.enc, tc.c, tc.opts, tc.next)
			if err == nil {
				t.Fatal("Split succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "concat: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
	var se *SegmentsError
	_, err := Split(long, coding.GSM7, Options{MaxSegments: 2}, func() (uint16, error) { return 1, nil })
	if !errors.As(err, &se) || se.Need != 4 || se.Max != 2 || se.SMPPStatus() != 1 {
		t.Fatalf("error %#v, want SegmentsError{Need: 4, Max: 2}", err)
	}
}

func TestCapacity(t *testing.T) {
	tr := coding.Tables{Single: coding.Turkish}
	trLock := coding.Tables{Locking: coding.Turkish, Single: coding.Turkish}
	tests := []struct {
		c      coding.Coding
		o      Options
		concat bool
		want   int
	}{
		{coding.GSM7, Options{Style: UDH8}, true, 153}, {coding.GSM7, Options{Style: UDH16}, true, 152},
		{coding.GSM7, Options{Style: SAR}, true, 153}, {coding.GSM7, Options{Style: Payload}, true, 153}, {coding.GSM7, Options{}, false, 160},
		{coding.UCS2, Options{Style: UDH8}, true, 67}, {coding.UCS2, Options{Style: UDH16}, true, 66},
		{coding.UCS2, Options{Style: SAR}, true, 67}, {coding.UCS2, Options{Style: Payload}, true, 67}, {coding.UCS2, Options{Style: UDH16}, false, 70},
		{coding.Latin1, Options{Style: UDH8}, true, 134}, {coding.Binary, Options{Style: UDH16}, true, 133},
		{coding.IA5, Options{Style: SAR}, true, 134}, {coding.Binary, Options{Style: Payload}, true, 134},
		// National language elements: 3 more UDH octets each, and the fill
		// bits move (TS 23.040 9.2.3.24.15-16).
		{coding.GSM7, Options{Tables: tr}, true, 149}, {coding.GSM7, Options{Tables: trLock}, true, 146},
		{coding.GSM7, Options{Tables: tr}, false, 155}, {coding.GSM7, Options{Tables: trLock, Style: UDH16}, true, 145},
		{coding.UCS2, Options{Tables: trLock}, true, 67},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%v-%+v-%t", tc.c, tc.o, tc.concat), func(t *testing.T) {
			if got := Capacity(tc.c, tc.o, tc.concat); got != tc.want {
				t.Fatalf("Capacity = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestParseStyle(t *testing.T) {
	for st := UDH8; st <= Payload; st++ {
		got, err := ParseStyle(strings.ToUpper(st.String()))
		if err != nil || got != st {
			t.Errorf("ParseStyle(%q) = %v, %v", st, got, err)
		}
	}
	if _, err := ParseStyle("udh7"); err == nil {
		t.Error("ParseStyle(udh7) succeeded")
	}
}

// TestSplitKeepsClusters checks that cuts between segments fall between
// grapheme clusters (UAX #29) wherever the segment has room for the
// whole cluster, and inside a cluster only when it is longer than a
// segment.
func TestSplitKeepsClusters(t *testing.T) {
	a := strings.Repeat
	family := "\U0001F468\u200D\U0001F469\u200D\U0001F467" // 8 UTF-16 units
	tests := []struct {
		name string
		c    coding.Coding
		text string
		want []string
	}{
		{name: "flag not split", c: coding.UCS2, text: a("a", 65) + "🇫🇷" + a("b", 9),
			want: []string{a("a", 65), "🇫🇷" + a("b", 9)}},
		{name: "zwj sequence not split", c: coding.UCS2, text: a("a", 63) + family + a("b", 9),
			want: []string{a("a", 63), family + a("b", 9)}},
		{name: "combining mark stays with its letter", c: coding.UCS2, text: a("a", 66) + "e\u0301" + a("b", 9),
			want: []string{a("a", 66), "e\u0301" + a("b", 9)}},
		{name: "skin tone stays with its emoji", c: coding.UCS2, text: a("a", 65) + "👍🏽" + a("b", 9),
			want: []string{a("a", 65), "👍🏽" + a("b", 9)}},
		{name: "gsm7 CR LF not split", c: coding.GSM7, text: a("a", 152) + "\r\n" + a("b", 9),
			want: []string{a("a", 152), "\r\n" + a("b", 9)}},
		{name: "cluster longer than a segment is cut", c: coding.UCS2, text: "a" + a("\u0301", 80),
			want: []string{"a" + a("\u0301", 66), a("\u0301", 14)}},
		{name: "surrogate pair inside a long cluster stays whole", c: coding.UCS2, text: a("\U0001F3F4", 1) + a("\U000E0067", 40),
			want: []string{"\U0001F3F4" + a("\U000E0067", 32), a("\U000E0067", 8)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			segs, err := Split(mustEncode(t, tc.c, tc.text), tc.c, Options{}, func() (uint16, error) { return 1, nil })
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range segs {
				in, err := Inspect(s.ESMClass, s.ShortMessage, s.TLVs)
				if err != nil {
					t.Fatal(err)
				}
				text, err := coding.Decode(tc.c, in.Text)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, text)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("segments %q, want %q", got, tc.want)
			}
			n, err := Count(mustEncode(t, tc.c, tc.text), tc.c, Options{})
			if err != nil || n != len(tc.want) {
				t.Fatalf("Count = %d, %v; want %d", n, err, len(tc.want))
			}
		})
	}
}

// TestPayloadSegmentBudget checks that a message_payload holds what
// MaxSegments segments of 153 septets hold, counted with the real cuts.
func TestPayloadSegmentBudget(t *testing.T) {
	o := Options{Style: Payload, MaxSegments: 2}
	fits := strings.Repeat("a", 306)
	if segs, err := Split(mustEncode(t, coding.GSM7, fits), coding.GSM7, o, nil); err != nil || len(segs) != 1 || len(segs[0].TLVs) != 1 {
		t.Fatalf("306 septets in 2 segments: %v, %v", segs, err)
	}
	// 152 + € ends the first segment one septet early: 3 segments.
	over := strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152)
	_, err := Split(mustEncode(t, coding.GSM7, over), coding.GSM7, o, nil)
	var se *SegmentsError
	if !errors.As(err, &se) || se.Need != 3 || se.Max != 2 {
		t.Fatalf("error %v, want SegmentsError{Need: 3, Max: 2}", err)
	}
	if n, err := Count(mustEncode(t, coding.GSM7, fits), coding.GSM7, o); n != 2 || err != nil {
		t.Fatalf("Count = %d, %v; want 2", n, err)
	}
}
