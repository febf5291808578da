package receipt

import (
	"bufio"
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// loadReceipts reads testdata/receipts.txt.
func loadReceipts(tb testing.TB) []string {
	tb.Helper()
	f, err := os.Open("testdata/receipts.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := strconv.Unquote(line)
		if err != nil {
			tb.Fatalf("receipts.txt: %v", err)
		}
		out = append(out, s)
	}
	return out
}

func utc(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

func TestParseText(t *testing.T) {
	lines := loadReceipts(t)
	want := []Receipt{
		{ID: "0123456789", TextID: "0123456789", State: Delivered, Submitted: 1, Delivered: 1,
			SubmitDate: utc(2026, 1, 2, 15, 4, 0), DoneDate: utc(2026, 1, 2, 15, 5, 0), Text: "Hello there"},
		{ID: "7F3A2B", TextID: "7F3A2B", State: Undeliverable, ErrorCode: 34, Submitted: 1,
			SubmitDate: utc(2025, 12, 31, 11, 59, 0), DoneDate: utc(2026, 1, 1, 0, 1, 0), Text: "Where are you?"},
		{ID: "42", TextID: "42", State: Delivered, Submitted: 1, Delivered: 1,
			SubmitDate: utc(2026, 1, 2, 15, 4, 30), DoneDate: utc(2026, 1, 2, 15, 5, 12), Text: "caps"},
		{ID: "abc", TextID: "abc", State: Expired},
		{ID: "991", TextID: "991", State: Rejected, ErrorCode: 10, Submitted: 1,
			SubmitDate: utc(2026, 3, 10, 12, 0, 0), DoneDate: utc(2026, 3, 11, 12, 0, 0), Text: "spaced"},
		{ID: "5", TextID: "5", State: Accepted, Submitted: 1, Delivered: 1,
			SubmitDate: utc(2026, 2, 28, 12, 0, 0), DoneDate: utc(2026, 2, 28, 12, 1, 0)},
		{State: Enroute},
		{ID: "8", TextID: "8", State: Deleted, ErrorCode: 1, Text: "bad dates: stat:DELIVRD id:9"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, %d expectations", len(lines), len(want))
	}
	for i, line := range lines {
		t.Run(strconv.Itoa(i+1), func(t *testing.T) {
			got, err := Parse([]byte(line), Params{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want[i]) {
				t.Fatalf("Parse(%q)\n got %+v\nwant %+v", line, got, want[i])
			}
		})
	}
}

func TestParseTLVsWin(t *testing.T) {
	text := []byte("id:12345 sub:001 dlvrd:001 submit date:2601021504 done date:2601021505 stat:DELIVRD err:000 text:x")
	tests := []struct {
		name  string
		p     Params
		id    string
		state State
		net   *NetworkError
	}{
		{name: "no tlvs", id: "12345", state: Delivered},
		{name: "receipted id in hex", p: Params{ReceiptedMessageID: []byte("3039\x00")}, id: "3039", state: Delivered},
		{name: "id without nul", p: Params{ReceiptedMessageID: []byte("3039")}, id: "3039", state: Delivered},
		{name: "message state", p: Params{MessageState: []byte{5}}, id: "12345", state: Undeliverable},
		{name: "bad message state ignored", p: Params{MessageState: []byte{9}}, id: "12345", state: Delivered},
		{name: "long message state ignored", p: Params{MessageState: []byte{2, 2}}, id: "12345", state: Delivered},
		{name: "network error", p: Params{NetworkErrorCode: []byte{3, 0x00, 0x22}}, id: "12345", state: Delivered, net: &NetworkError{Type: 3, Code: 0x22}},
		{name: "short network error ignored", p: Params{NetworkErrorCode: []byte{3, 0}}, id: "12345", state: Delivered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(text, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if r.ID != tc.id || r.TextID != "12345" || r.State != tc.state || !reflect.DeepEqual(r.Network, tc.net) {
				t.Fatalf("got id %q text id %q state %v net %v", r.ID, r.TextID, r.State, r.Network)
			}
		})
	}
}

func TestParseTLVOnly(t *testing.T) {
	r, err := Parse(nil, Params{ReceiptedMessageID: []byte("m-1\x00"), MessageState: []byte{2}})
	if err != nil || r.ID != "m-1" || r.TextID != "m-1" || r.State != Delivered {
		t.Fatalf("Parse = %+v, %v", r, err)
	}
}

func TestParseNotReceipt(t *testing.T) {
	for _, text := range []string{"", "hello there", "identity: none", "xid:5"} {
		if _, err := Parse([]byte(text), Params{}); !errors.Is(err, ErrNotReceipt) {
			t.Errorf("Parse(%q) error = %v, want ErrNotReceipt", text, err)
		}
	}
}

func TestBuild(t *testing.T) {
	r := Receipt{ID: "a1b2", State: Undeliverable, ErrorCode: 34, Submitted: 1,
		SubmitDate: utc(2026, 1, 2, 15, 4, 59), DoneDate: time.Date(2026, 1, 2, 16, 5, 0, 0, time.FixedZone("CET", 3600)),
		Text: "Ünïcode text longer than twenty runes", Network: &NetworkError{Type: 3, Code: 513}}
	text, p := Build(r)
	const want = "id:a1b2 sub:001 dlvrd:000 submit date:2601021504 done date:2601021505 stat:UNDELIV err:034 text:Unicode text longer "
	if string(text) != want {
		t.Fatalf("Build text\n got %q\nwant %q", text, want)
	}
	wantP := Params{ReceiptedMessageID: []byte("a1b2\x00"), MessageState: []byte{5}, NetworkErrorCode: []byte{3, 2, 1}}
	if !reflect.DeepEqual(p, wantP) {
		t.Fatalf("Build params %+v, want %+v", p, wantP)
	}
	back, err := Parse(text, p)
	if err != nil || back.ID != r.ID || back.State != r.State || back.ErrorCode != 34 || !back.DoneDate.Equal(utc(2026, 1, 2, 15, 5, 0)) {
		t.Fatalf("Parse(Build) = %+v, %v", back, err)
	}
}

func TestBuildEdges(t *testing.T) {
	tests := []struct {
		name string
		r    Receipt
		text string
		id   []byte
	}{
		{name: "zero receipt", r: Receipt{}, text: "id: sub:000 dlvrd:000 submit date:0000000000 done date:0000000000 stat:UNKNOWN err:000 text:"},
		{name: "text id kept", r: Receipt{ID: "12", TextID: "0C", State: Delivered}, id: []byte("12\x00"),
			text: "id:0C sub:000 dlvrd:000 submit date:0000000000 done date:0000000000 stat:DELIVRD err:000 text:"},
		{name: "id too long for the tlv", r: Receipt{ID: strings.Repeat("9", 65), State: Enroute},
			text: "id:" + strings.Repeat("9", 65) + " sub:000 dlvrd:000 submit date:0000000000 done date:0000000000 stat:ENROUTE err:000 text:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text, p := Build(tc.r)
			if string(text) != tc.text || string(p.ReceiptedMessageID) != string(tc.id) {
				t.Fatalf("Build = %q, id tlv %q", text, p.ReceiptedMessageID)
			}
		})
	}
}

func TestStates(t *testing.T) {
	for s := Enroute; s <= Rejected; s++ {
		got, ok := ParseStat(strings.ToLower(s.Stat()))
		if !ok || got != s {
			t.Errorf("ParseStat(%q) = %v, %v", s.Stat(), got, ok)
		}
		if s.Final() == (s == Enroute) {
			t.Errorf("%v.Final() = %v", s, s.Final())
		}
	}
	if _, ok := ParseStat("LOST"); ok {
		t.Error("ParseStat(LOST) succeeded")
	}
	if State(0).String() != "state(0)" || State(9).Stat() != "UNKNOWN" {
		t.Error("out-of-range states")
	}
}

func TestIsReceipt(t *testing.T) {
	for esm, want := range map[byte]bool{0x04: true, 0x44: true, 0x20: true, 0x00: false, 0x08: false, 0x40: false, 0x10: false} {
		if IsReceipt(esm) != want {
			t.Errorf("IsReceipt(0x%02x) = %v", esm, !want)
		}
	}
}

func TestIDForms(t *testing.T) {
	tests := []struct {
		id   string
		want []string
	}{
		{"12345", []string{"12345", "3039", "74565"}},
		{"75BCD15", []string{"75BCD15", "123456789"}},
		{"ff", []string{"ff", "255"}},
		{"msg-1", []string{"msg-1"}},
		{"", []string{""}},
		{"10", []string{"10", "a", "A", "16"}},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			if got := IDForms(tc.id); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("IDForms(%q) = %q, want %q", tc.id, got, tc.want)
			}
		})
	}
}

// TestParseDatesAndNUL reads the date lengths SMSCs write and a short
// message ending in the NUL of a C string.
func TestParseDatesAndNUL(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		sub, done time.Time
		stat      State
		excerpt   string
	}{
		{name: "10 digits", text: "id:1 submit date:2601021504 done date:2601021505 stat:DELIVRD text:hi",
			sub: utc(2026, 1, 2, 15, 4, 0), done: utc(2026, 1, 2, 15, 5, 0), stat: Delivered, excerpt: "hi"},
		{name: "12 digits", text: "id:1 submit date:260102150407 done date:260102150509 stat:DELIVRD text:hi",
			sub: utc(2026, 1, 2, 15, 4, 7), done: utc(2026, 1, 2, 15, 5, 9), stat: Delivered, excerpt: "hi"},
		{name: "14 digits", text: "id:1 submit date:20260102150407 done date:20260102150509 stat:UNDELIV text:hi",
			sub: utc(2026, 1, 2, 15, 4, 7), done: utc(2026, 1, 2, 15, 5, 9), stat: Undeliverable, excerpt: "hi"},
		{name: "14 digits bad month", text: "id:1 submit date:20261302150407 stat:UNDELIV",
			stat: Undeliverable},
		{name: "trailing NUL after text", text: "id:1 submit date:2601021504 stat:DELIVRD text:hi\x00",
			sub: utc(2026, 1, 2, 15, 4, 0), stat: Delivered, excerpt: "hi"},
		{name: "trailing NUL after stat", text: "id:1 done date:2601021505 stat:EXPIRED\x00\x00",
			done: utc(2026, 1, 2, 15, 5, 0), stat: Expired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(tc.text), Params{})
			if err != nil {
				t.Fatal(err)
			}
			if !r.SubmitDate.Equal(tc.sub) || !r.DoneDate.Equal(tc.done) || r.State != tc.stat || r.Text != tc.excerpt {
				t.Fatalf("Parse(%q) = sub %v done %v stat %v text %q; want %v %v %v %q", tc.text, r.SubmitDate, r.DoneDate, r.State, r.Text, tc.sub, tc.done, tc.stat, tc.excerpt)
			}
		})
	}
}

// TestBuildExcerpt checks that the text: excerpt is GSM-7-safe ASCII: one
// septet a character, the same code in ASCII and GSM-7, at most 20.
func TestBuildExcerpt(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{name: "plain", text: "See you at 5?", want: "See you at 5?"},
		{name: "typographic", text: "It’s “fine” – ok", want: `It's "fine" - ok`},
		{name: "accents", text: "Café über Ærø", want: "Cafe uber Aro"},
		{name: "emoji and CJK", text: "hi 👍 你好", want: "hi ? ??"},
		{name: "line breaks", text: "a\r\nb\tc", want: "a  b c"},
		{name: "not the same code in GSM-7", text: "@h $5 a_b [x]{}~|^\\`", want: "?h ?5 a?b ?x????????"},
		{name: "cut at 20", text: "abcdefghijklmnopqrstuvwxyz", want: "abcdefghijklmnopqrst"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text, _ := Build(Receipt{ID: "1", State: Delivered, Text: tc.text})
			_, got, ok := strings.Cut(string(text), " text:")
			if !ok || got != tc.want {
				t.Fatalf("Build text: %q, want %q", got, tc.want)
			}
			for i := 0; i < len(text); i++ {
				if c := text[i]; c < 0x20 || c > 0x7E || strings.IndexByte("@$_[]{}~|^\\`", c) >= 0 {
					t.Fatalf("receipt %q holds %q at %d", text, c, i)
				}
			}
		})
	}
}
