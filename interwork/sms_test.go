package interwork

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"iwf/internal/cfgerr"
	"iwf/pager/split"
	"iwf/smpp/coding"
	"iwf/smpp/concat"
)

func TestSMSConfigValidate(t *testing.T) {
	if err := DefaultSMSConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	want := DefaultSMSConfig()
	// Marker and Receipts have no "unset": the loader starts from the
	// defaults.
	want.Marker, want.Receipts, want.FoldTypography = "", false, false
	if got := (SMSConfig{}).WithDefaults(); got != want {
		t.Fatalf("an empty section with defaults is %+v", got)
	}
	tests := []struct {
		name   string
		mod    func(*SMSConfig)
		fields []string // "" alone: still valid
		want   string
	}{
		{"gsm7 packed", func(s *SMSConfig) { s.Coding, s.Packed = CodingGSM7, true }, nil, ""},
		{"no marker", func(s *SMSConfig) { s.Marker = "" }, nil, ""},
		{"coding", func(s *SMSConfig) { s.Coding = "latin9" }, []string{"coding"}, "auto, gsm7 or ucs2"},
		{"packed ucs2", func(s *SMSConfig) { s.Coding, s.Packed = CodingUCS2, true }, []string{"packed"}, "GSM-7"},
		{"style", func(s *SMSConfig) { s.Style = "udh9" }, []string{"style"}, "udh8, udh16, sar or payload"},
		{"max segments", func(s *SMSConfig) { s.MaxSegments = 256 }, []string{"max_segments"}, "1..255"},
		{"no segments", func(s *SMSConfig) { s.MaxSegments = 0 }, []string{"max_segments"}, "1..255"},
		{"overflow", func(s *SMSConfig) { s.Overflow = "drop" }, []string{"overflow"}, "split, truncate or reject"},
		{"marker", func(s *SMSConfig) { s.Marker = "\x00" }, []string{"marker"}, "printable"},
		{"long marker", func(s *SMSConfig) { s.Marker = strings.Repeat("x", 33) }, []string{"marker"}, "32 bytes"},
		{"reassembly", func(s *SMSConfig) { s.ReassemblyTimeout = 0 }, []string{"reassembly_timeout"}, "positive"},
		{"incomplete", func(s *SMSConfig) { s.Incomplete = "drop" }, []string{"incomplete"}, "deliver or fail"},
		{"max reassemblies", func(s *SMSConfig) { s.MaxReassemblies = -1 }, []string{"max_reassemblies"}, "positive"},
		{"every fault", func(s *SMSConfig) { s.Style, s.Overflow = "", "" }, []string{"style", "overflow"}, ""},
		{"latin1 alphabet", func(s *SMSConfig) { s.DefaultAlphabet = AlphabetLatin1 }, nil, ""},
		{"alphabet", func(s *SMSConfig) { s.DefaultAlphabet = "latin9" }, []string{"default_alphabet"}, "gsm7, latin1 or ascii"},
		{"gsm7 under an ascii alphabet", func(s *SMSConfig) { s.DefaultAlphabet, s.Coding = AlphabetASCII, CodingGSM7 }, []string{"coding"}, "data_coding 0"},
		{"packed latin1", func(s *SMSConfig) { s.DefaultAlphabet, s.Packed = AlphabetLatin1, true }, []string{"packed"}, "GSM-7"},
		{"drop binary", func(s *SMSConfig) { s.NonText.Binary = NonTextDrop }, nil, ""},
		{"non-text policies", func(s *SMSConfig) { s.NonText.Ports, s.NonText.SMEAck = "ignore", "" },
			[]string{"non_text.ports", "non_text.sme_ack"}, "reject or drop"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultSMSConfig()
			tc.mod(&s)
			err := s.Validate()
			if len(tc.fields) == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *cfgerr.FieldError
				if errors.As(e, &fe) {
					got = append(got, fe.Path)
				}
			}
			if !slices.Equal(got, tc.fields) || !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v (fields %q), want faults at %q saying %q", err, got, tc.fields, tc.want)
			}
		})
	}
}

func TestSMSConfigOptions(t *testing.T) {
	s := SMSConfig{Style: "sar", Packed: true, MaxSegments: 4, Overflow: "truncate", Incomplete: "fail", ReassemblyTimeout: time.Minute, MaxReassemblies: 7}
	if o := s.ConcatOptions(); o != (concat.Options{Style: concat.SAR, Packed: true, MaxSegments: 4}) {
		t.Errorf("options %+v", o)
	}
	if r := s.Reassembly("p"); r.Partner != "p" || r.Policy != concat.FailIncomplete || r.Timeout != time.Minute || r.MaxSegments != 4 || r.MaxMessages != 7 {
		t.Errorf("reassembly %+v", r)
	}
	if s.OverflowPolicy() != split.PolicyTruncate {
		t.Errorf("overflow %v", s.OverflowPolicy())
	}
	if d := DefaultSMSConfig(); d.Reassembly("p").Policy != concat.DeliverPartial || d.ConcatOptions().Style != concat.UDH8 {
		t.Errorf("defaults %+v", d)
	}
	codings := []struct {
		coding SMSCoding
		want   *coding.Coding
	}{{CodingAuto, nil}, {"", nil}, {CodingGSM7, new(coding.GSM7)}, {CodingUCS2, new(coding.UCS2)}}
	for _, tc := range codings {
		o := (SMSConfig{Coding: tc.coding, Style: "udh16"}).TextOptions()
		if (o.Coding == nil) != (tc.want == nil) || o.Coding != nil && *o.Coding != *tc.want || o.Concat.Style != concat.UDH16 {
			t.Errorf("coding %q: text options %+v", tc.coding, o)
		}
	}
}

// TestSMSConfigTexts checks the segment budget against the real cuts,
// max_segments 1 under each overflow policy and typographic folding.
func TestSMSConfigTexts(t *testing.T) {
	a := strings.Repeat
	cfg := func(mod func(*SMSConfig)) SMSConfig {
		s := DefaultSMSConfig()
		mod(&s)
		return s
	}
	tests := []struct {
		name string
		s    SMSConfig
		text string
		want []string
		err  error
	}{
		// 152 septets then € twice: by units 2*153 = 306 fit two
		// segments, but a € never straddles a cut, so the cuts need 3.
		{name: "euro at a boundary counted as cut", s: cfg(func(s *SMSConfig) { s.MaxSegments = 2 }),
			text: a("a", 152) + "€" + a("b", 150), want: []string{a("a", 152) + "€" + a("b", 150)}},
		{name: "emoji at a boundary counted as cut", s: cfg(func(s *SMSConfig) { s.MaxSegments = 2 }),
			text: a("a", 66) + "😀" + a("b", 65), want: []string{a("a", 66) + "😀" + a("b", 65)}},
		{name: "over two segments by the cuts, truncated", s: cfg(func(s *SMSConfig) { s.MaxSegments, s.Overflow = 2, "truncate" }),
			text: a("a", 152) + "€" + a("b", 152), want: []string{a("a", 152) + "€" + a("b", 148) + "..."}},
		{name: "euro at a boundary, split", s: cfg(func(s *SMSConfig) { s.MaxSegments = 2 }),
			text: a("a", 152) + "€" + a("b", 152), want: []string{a("a", 152) + "€" + a("b", 151), "b"}},
		{name: "one segment, truncate", s: cfg(func(s *SMSConfig) { s.MaxSegments, s.Overflow, s.Marker = 1, "truncate", "..." }),
			text: a("word ", 40), want: []string{strings.TrimSpace(a("word ", 31)) + "..."}},
		{name: "one segment, split", s: cfg(func(s *SMSConfig) { s.MaxSegments = 1 }),
			text: a("a", 170), want: []string{a("a", 160), a("a", 10)}},
		{name: "one segment, reject", s: cfg(func(s *SMSConfig) { s.MaxSegments, s.Overflow = 1, "reject" }),
			text: a("a", 161), err: split.ErrOverflow},
		{name: "one segment fits", s: cfg(func(s *SMSConfig) { s.MaxSegments, s.Overflow = 1, "reject" }),
			text: a("a", 160), want: []string{a("a", 160)}},
		{name: "typography folded", s: DefaultSMSConfig(),
			text: "It’s “fine” – really…", want: []string{`It's "fine" - really...`}},
		{name: "typography kept beside an emoji", s: DefaultSMSConfig(),
			text: "It’s 😀", want: []string{"It’s 😀"}},
		{name: "folding off", s: cfg(func(s *SMSConfig) { s.FoldTypography = false }),
			text: "It’s", want: []string{"It’s"}},
		{name: "forced ucs2 not folded", s: cfg(func(s *SMSConfig) { s.Coding = CodingUCS2 }),
			text: "It’s", want: []string{"It’s"}},
		{name: "latin1 partner keeps accents", s: cfg(func(s *SMSConfig) { s.DefaultAlphabet = AlphabetLatin1 }),
			text: "Café – ½", want: []string{"Café - ½"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.s.Texts(tc.text)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Texts = %q, %v; want %v", got, err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Texts = %q, %v\nwant %q", got, err, tc.want)
			}
		})
	}
}
