package interwork

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"iwf/internal/cpim"
	"iwf/smpp"
	"iwf/sms/tpdu"
	"iwf/store"
)

// owedReceiptRef is owedReceipt read by encoding/json alone: its
// message has no UnmarshalJSON.
type owedReceiptRef struct {
	Message *queuedJSON `json:"message"`
	Outcome Outcome     `json:"outcome"`
	Done    int64       `json:"done"`
	Until   int64       `json:"until,omitempty"`
}

func (r owedReceiptRef) owed() owedReceipt {
	return owedReceipt{Message: (*queued)(r.Message), Outcome: r.Outcome, Done: r.Done, Until: r.Until}
}

// queuedCases are values the writers must write as json.Marshal does,
// every string escape encoding/json makes included.
func queuedCases() map[string]*queued {
	rt := &receiptTo{ID: "Ab3-x", SrcTON: 1, SrcNPI: 1, SrcAddr: "46700000001", DstTON: 5, DstNPI: 0, DstAddr: "Brand<&>", RD: 17}
	return map[string]*queued{
		"zero":        {},
		"plain":       {ID: "m1", Dir: toRCS, Ingress: ingressSMPP, Text: "hello", At: 1700000000123456789, Expires: 1700000300123456789, Promote: true, Receipt: rt},
		"no rd":       {ID: "m2", Dir: toSMS, Ingress: ingressSIP, Text: "x", At: -5, Receipt: &receiptTo{ID: "r", SrcTON: 255, DstNPI: 255}},
		"also":        {ID: "m3", Text: "seg", Receipt: &receiptTo{ID: "a", Also: []string{"b", "c\"d", ""}}},
		"escapes":     {ID: "<script>&\"\\/", Text: "tab\tnl\ncr\rbs\bff\fnul\x00\x01\x1f\x7f é € 𝄞 \u2028\u2029 \xff\xfe bad \xe2\x82"},
		"html":        {Text: "a<b>c&d</b>"},
		"bytes":       {ID: "b", Notify: []byte{0, 1, 2}, CPIM: []byte("From: <sip:a@b>\r\n\r\n"), Notice: []byte{0xff}, TPDU: []byte{1}},
		"empty bytes": {ID: "e", Notify: []byte{}, CPIM: []byte{}, Receipt: &receiptTo{Also: []string{}}},
		"smsip": {ID: "s", Ingress: ingressSMSIP, SMSIP: &smsipReport{MR: []uint8{7, 8}, DA: tpdu.Address{TON: 1, NPI: 1, Digits: "4670<>"}},
			TPDU: []byte{9, 9}},
		"reported":    {ID: "f", Dir: toSMS, Reported: &forwardedIMDN{MessageID: "x&y", Status: cpim.StatusDelivered}},
		"imdnPending": {ID: "p", imdnPending: true},
	}
}

// TestQueuedJSONMatchesEncodingJSON holds the writers to json.Marshal's
// bytes and the readers to json.Unmarshal's values, for what the writers
// write: the stored formats stay what they were.
func TestQueuedJSONMatchesEncodingJSON(t *testing.T) {
	for name, q := range queuedCases() {
		t.Run(name, func(t *testing.T) {
			want, err := json.Marshal((*queuedJSON)(q))
			if err != nil {
				t.Fatal(err)
			}
			got, err := appendQueuedJSON(nil, q)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("appendQueuedJSON = %s, %v\njson.Marshal   = %s", got, err, want)
			}
			if name != "escapes" && len(got) > queuedSize(q) {
				t.Errorf("%d bytes written, %d expected: enqueue allocates twice", len(got), queuedSize(q))
			}
			checkQueuedRead(t, want)
			if q.SMSIP == nil && q.Reported == nil {
				// What the writer writes is read without encoding/json.
				var v queued
				if r := (jsonReader{b: got}); !r.queued(&v) || !r.end() {
					t.Errorf("the fast reader gave up on %s", got)
				}
			}

			o := &owedReceipt{Message: q, Outcome: Unconfirmed, Done: 1, Until: 1 << 62}
			want, err = json.Marshal(owedReceiptRef{Message: (*queuedJSON)(q), Outcome: o.Outcome, Done: o.Done, Until: o.Until})
			if err != nil {
				t.Fatal(err)
			}
			got, err = appendOwedReceiptJSON(nil, o)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("appendOwedReceiptJSON = %s, %v\njson.Marshal        = %s", got, err, want)
			}
			checkOwedRead(t, want)
		})
	}
	got, err := appendOwedReceiptJSON(nil, &owedReceipt{Outcome: Delivered})
	if want, _ := json.Marshal(owedReceiptRef{Outcome: Delivered}); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("no message: %s, %v; json.Marshal writes %s", got, err, want)
	}
}

// checkQueuedRead compares queued's reading of data (through
// json.Unmarshal, as the workers read entries) with encoding/json's
// own: the same value, or an error from both. The value beside an error
// is not compared: every caller drops it, and encoding/json itself
// leaves a different one once a type has UnmarshalJSON (it stops at the
// first error inside the method's value where it reads on past a type
// error elsewhere).
func checkQueuedRead(t *testing.T, data []byte) {
	t.Helper()
	var want, got queued
	wantErr := json.Unmarshal(data, (*queuedJSON)(&want))
	gotErr := json.Unmarshal(data, &got)
	if (wantErr == nil) != (gotErr == nil) || (wantErr == nil && !reflect.DeepEqual(got, want)) {
		t.Fatalf("%q: read %+v, %v; encoding/json reads %+v, %v", data, got, gotErr, want, wantErr)
	}
	if wantErr == nil && want.Receipt != nil && !reflect.DeepEqual(got.Receipt, want.Receipt) {
		t.Fatalf("%q: receipt %+v; encoding/json reads %+v", data, got.Receipt, want.Receipt)
	}
}

func checkOwedRead(t *testing.T, data []byte) {
	t.Helper()
	var ref owedReceiptRef
	wantErr := json.Unmarshal(data, &ref)
	want := ref.owed()
	got, gotErr := readOwedReceipt(data)
	if (wantErr == nil) != (gotErr == nil) || (wantErr == nil && !reflect.DeepEqual(got, want)) {
		t.Fatalf("%q: read %+v, %v; encoding/json reads %+v, %v", data, got, gotErr, want, wantErr)
	}
}

// readCases are inputs the writers do not write, which the readers must
// read as encoding/json does, falling back to it or not.
var readCases = []string{
	`{"id":"a","text":"b"}`,
	` { "id" : "a" , "at" : -0 , "exp":0, "promote":false } `,
	`{"id":"a","id":"b"}`,
	`{"ID":"a","Text":"b"}`,
	`{"id":"a","unknown":{"x":[1,2]}}`,
	`{"id":null,"receipt":null,"also":null}`,
	`{"at":1.5}`, `{"at":1e3}`, `{"at":01}`, `{"at":9223372036854775808}`, `{"at":-9223372036854775808}`, `{"at":"1"}`,
	`{"receipt":{"id":"a","rd":1},"receipt":{"id":"b"}}`,
	`{"receipt":{"src_ton":256}}`, `{"receipt":{"src_ton":-1}}`, `{"receipt":{"src_ton":-0}}`, `{"receipt":{"rd":1.0}}`,
	`{"receipt":{"also":[]}}`, `{"receipt":{"also":["a","b"],"also":["c"]}}`, `{"receipt":{"also":[1]}}`,
	`{"text":"\u00e9\ud834\udd1e\ud800 \"\\\/\b\f\n\r\t"}`, `{"text":"\x"}`, "{\"text\":\"\xff\"}", "{\"text\":\"a\x01\"}",
	`{"notify":"AAEC"}`, `{"notify":"AAE"}`, `{"notify":"AA\r\nEC"}`, `{"notify":"AA\u0045C"}`, `{"notify":""}`, `{"notify":"!"}`,
	`{"promote":true}`, `{"promote":1}`, `{"promote":tru}`,
	`{"smsip":{"mr":"Bwg=","da":{"TON":1,"NPI":1,"Digits":"1"}}}`, `{"reported":{"id":"x","status":1}}`,
	`{}`, `{"id":"a",}`, `{"id":"a"} x`, `{"id":"a"`, `[]`, `null`, ``, `"a"`, `{"id":"a"}{}`,
}

var owedReadCases = []string{
	`{"message":{"id":"a","receipt":{"id":"r"}},"outcome":1,"done":2,"until":3}`,
	`{"message":null,"outcome":1}`,
	`{"message":{"id":"a"},"message":{"text":"b"}}`,
	`{"outcome":256}`, `{"outcome":-1}`, `{"done":1.0}`, `{"Message":{"id":"a"}}`, `{"x":1}`,
	`{"message":{"id":"a","receipt":{"id":"r"}},"outcome":1,"done":2,"until":3} `, `{"message":{"ID":"a"}}`,
	`{"message":[]}`, `null`, `{`,
}

// TestQueuedJSONReadsAsEncodingJSON feeds the readers what other
// writers (older versions, hands) could have stored.
func TestQueuedJSONReadsAsEncodingJSON(t *testing.T) {
	for _, in := range readCases {
		t.Run(in, func(t *testing.T) {
			checkQueuedRead(t, []byte(in))
			checkOwedRead(t, []byte(`{"message":`+in+`,"outcome":2}`))
		})
	}
	for _, in := range owedReadCases {
		t.Run(in, func(t *testing.T) { checkOwedRead(t, []byte(in)) })
	}
}

// TestQueuedUnmarshalIntoValue reads into a queued that holds values:
// encoding/json keeps the fields the input does not name, merges into
// the receipt, and so must UnmarshalJSON.
func TestQueuedUnmarshalIntoValue(t *testing.T) {
	in := []byte(`{"text":"b","receipt":{"id":"n"}}`)
	start := func() queued {
		return queued{ID: "keep", Receipt: &receiptTo{ID: "old", RD: 3}, imdnPending: true}
	}
	want, got := start(), start()
	if err := json.Unmarshal(in, (*queuedJSON)(&want)); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(in, &got); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("read %+v %+v, %v; encoding/json reads %+v %+v", got, got.Receipt, err, want, want.Receipt)
	}
}

// FuzzQueuedJSON checks the readers against encoding/json on any input,
// and the writers on whatever it reads.
func FuzzQueuedJSON(f *testing.F) {
	for _, q := range queuedCases() {
		b, _ := json.Marshal((*queuedJSON)(q))
		f.Add(b)
		b, _ = json.Marshal(owedReceiptRef{Message: (*queuedJSON)(q), Outcome: Delivered, Done: 1})
		f.Add(b)
	}
	for _, in := range append(readCases, owedReadCases...) {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkQueuedRead(t, data)
		checkOwedRead(t, data)
		var q queued
		if json.Unmarshal(data, (*queuedJSON)(&q)) == nil {
			want, err := json.Marshal((*queuedJSON)(&q))
			if err != nil {
				return
			}
			got, err := appendQueuedJSON(nil, &q)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("appendQueuedJSON = %s, %v\njson.Marshal   = %s", got, err, want)
			}
		}
		var ref owedReceiptRef
		if json.Unmarshal(data, &ref) == nil {
			o := ref.owed()
			want, err := json.Marshal(ref)
			if err != nil {
				return
			}
			got, err := appendOwedReceiptJSON(nil, &o)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("appendOwedReceiptJSON = %s, %v\njson.Marshal        = %s", got, err, want)
			}
		}
	})
}

// FuzzQueuedJSONWrite writes values made of fuzzed strings and numbers.
func FuzzQueuedJSONWrite(f *testing.F) {
	f.Add("m1", "hello <&> \u2028 \xff", "+4670", int64(1700000000123456789), uint8(17), []byte{1, 2}, true)
	f.Fuzz(func(t *testing.T, id, text, addr string, at int64, rd uint8, raw []byte, promote bool) {
		q := &queued{ID: id, Dir: toRCS, Ingress: ingressSMPP, Text: text, At: at, Expires: -at, Promote: promote,
			Receipt: &receiptTo{ID: id, SrcAddr: addr, DstAddr: text, DstTON: rd, RD: rd, Also: []string{text, addr}},
			CPIM:    raw, Notice: raw}
		want, err := json.Marshal((*queuedJSON)(q))
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendQueuedJSON(nil, q)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("appendQueuedJSON = %s, %v\njson.Marshal   = %s", got, err, want)
		}
		checkQueuedRead(t, got)
	})
}

// nopRecords takes every Schedule and allocates nothing: what the
// benchmarks measure is the engine's share.
type nopRecords struct{ Records }

func (nopRecords) Schedule(context.Context, string, string, []byte, time.Time, int, time.Duration) error {
	return nil
}

func benchOwedMessage() *queued {
	return &queued{ID: "Gz0cXvK1hNq2", Dir: toRCS, Ingress: ingressSMPP,
		Text: "Benchmark message of a typical SMS length, about one hundred bytes long.",
		At:   1700000000123456789, Expires: 1700086400123456789, Promote: true,
		Receipt: &receiptTo{ID: "Gz0cXvK1hNq2", SrcTON: 1, SrcNPI: 1, SrcAddr: "447700900456", DstTON: 1, DstNPI: 1, DstAddr: "447700900123", RD: 1}}
}

// BenchmarkOweReceipt is one receipt owed (two or three per message
// toward a session with Success-Reports): the copy cut to what it
// quotes, its JSON and the store call's context, against a store that
// costs nothing.
func BenchmarkOweReceipt(b *testing.B) {
	e := &Engine{cfg: Config{Records: nopRecords{}, StoreWait: time.Minute, Now: time.Now}}
	p := &partner{Partner: Partner{Name: "demo"}}
	q := benchOwedMessage()
	// A worker's context.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if err := e.owe(ctx, p, q, Unconfirmed, now, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadOwedReceipt is a taken receipt read back (readJob).
func BenchmarkReadOwedReceipt(b *testing.B) {
	v, err := appendOwedReceiptJSON(nil, &owedReceipt{Message: benchOwedMessage(), Outcome: Delivered, Done: 1, Until: 2})
	if err != nil {
		b.Fatal(err)
	}
	e := &Engine{}
	p := &partner{Partner: Partner{Name: "demo"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := e.readJob(p, store.Scheduled{ID: "x", Value: v}); !ok {
			b.Fatal("unreadable")
		}
	}
}

// BenchmarkQueuedJSON is a queued entry written (enqueue) and read back
// as the worker reads it (json.Unmarshal into a new queued).
func BenchmarkQueuedJSON(b *testing.B) {
	q := benchOwedMessage()
	b.Run("write", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := appendQueuedJSON(make([]byte, 0, queuedSize(q)), q); err != nil {
				b.Fatal(err)
			}
		}
	})
	v, _ := json.Marshal(q)
	b.Run("read", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := json.Unmarshal(v, new(queued)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestOweReceiptAllocs pins what owing a receipt allocates: its JSON in
// one buffer, and the store call's bounded context (a timer context, its
// timer and, once the store waits on it, its done channel).
func TestOweReceiptAllocs(t *testing.T) {
	e := &Engine{cfg: Config{Records: nopRecords{}, StoreWait: time.Minute, Now: time.Now}}
	p := &partner{Partner: Partner{Name: "demo"}}
	q := benchOwedMessage()
	ctx, cancel := context.WithCancel(context.Background()) // a worker's
	defer cancel()
	now := time.Now()
	n := testing.AllocsPerRun(100, func() {
		if err := e.owe(ctx, p, q, Unconfirmed, now, now); err != nil {
			t.Fatal(err)
		}
	})
	// 2 measured: the buffer and the schedule's name. Before, 10 more:
	// encoding/json, the message's copies on the heap, and the store
	// call's context.WithTimeout (its context, timer, timer func and
	// cancel func; and its done channel once the store waits on it).
	if n > 2 {
		t.Errorf("%v allocations per owed receipt, want at most 2", n)
	}
}

// TestReadOwedReceiptAllocs pins a taken receipt's reading: one string
// for its text and ids, the message and its receipt.
func TestReadOwedReceiptAllocs(t *testing.T) {
	v, err := appendOwedReceiptJSON(nil, &owedReceipt{Message: benchOwedMessage(), Outcome: Delivered, Done: 1, Until: 2})
	if err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(100, func() {
		if _, err := readOwedReceipt(v); err != nil {
			t.Fatal(err)
		}
	})
	if n != 3 {
		t.Errorf("%v allocations per owed receipt read, want 3", n)
	}
}

// nopSMS takes every deliver_sm at once.
type nopSMS struct{ SMS }

func (nopSMS) Deliver(context.Context, string, *smpp.Message) error { return nil }

// nopSettle settles every receipt.
type nopSettle struct{ Records }

func (nopSettle) Unschedule(context.Context, string, string, []byte) (bool, error) { return true, nil }

// BenchmarkReceiptSend is one owed receipt sent (Engine.receipt): its
// deliver_sm message, the delivery's and the settling's bounds, against
// an ESME and a store that cost nothing.
func BenchmarkReceiptSend(b *testing.B) {
	e := &Engine{cfg: Config{Records: nopSettle{}, SMS: nopSMS{}, StoreWait: time.Minute, Now: time.Now}}
	p := &partner{Partner: Partner{Name: "demo"}, counters: new(counters)}
	q := benchOwedMessage()
	v, err := appendOwedReceiptJSON(nil, &owedReceipt{Message: q, Outcome: Delivered, Done: 1, Until: 1 << 62})
	if err != nil {
		b.Fatal(err)
	}
	j, ok := e.readJob(p, store.Scheduled{ID: "x", Value: v})
	if !ok {
		b.Fatal("unreadable")
	}
	ctx, cancel := context.WithCancel(context.Background()) // the senders'
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		e.receipt(ctx, j)
	}
}

// TestReceiptSendAllocs pins what sending an owed receipt allocates
// besides the ESME and the store: its deliver_sm message (3) and the
// schedule's name. Before, 20: ReceiptMessage's 10, a
// context.WithTimeout each for the delivery and the settling, and the
// *smpp.StatusError errors.As looked for.
func TestReceiptSendAllocs(t *testing.T) {
	e := &Engine{cfg: Config{Records: nopSettle{}, SMS: nopSMS{}, StoreWait: time.Minute, Now: time.Now}}
	p := &partner{Partner: Partner{Name: "demo"}, counters: new(counters)}
	v, err := appendOwedReceiptJSON(nil, &owedReceipt{Message: benchOwedMessage(), Outcome: Delivered, Done: 1, Until: 1 << 62})
	if err != nil {
		t.Fatal(err)
	}
	j, ok := e.readJob(p, store.Scheduled{ID: "x", Value: v})
	if !ok {
		t.Fatal("unreadable")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if n := testing.AllocsPerRun(100, func() { e.receipt(ctx, j) }); n > 4 {
		t.Errorf("%v allocations per receipt sent, want at most 4", n)
	}
}
