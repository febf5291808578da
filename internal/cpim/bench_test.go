package cpim

import (
	"testing"
	"time"
)

func BenchmarkParse(b *testing.B) {
	in := vector(b, "rfc5438-im.cpim")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseIMDN(b *testing.B) {
	in := vector(b, "rfc5438-im.cpim")
	b.ReportAllocs()
	for b.Loop() {
		m, err := Parse(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.IMDN(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWrapMarshal(b *testing.B) {
	body := []byte("Hello from SMS, a text of ordinary length for a pager message.")
	at := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		m, err := Wrap("tel:+15551234567", "sip:bob@rcs.example.com", "text/plain;charset=UTF-8", body,
			IMDN{MessageID: "Gz0cXvK1hN", DateTime: at, Disposition: PositiveDelivery | NegativeDelivery})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseNotification(b *testing.B) {
	in := vector(b, "rfc5438-delivered.xml")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseNotification(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNotificationMessage(b *testing.B) {
	orig, err := Parse(vector(b, "rfc5438-im.cpim"))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		n, err := NewNotification(orig, DeliveryNotification, StatusDelivered)
		if err != nil {
			b.Fatal(err)
		}
		m, err := NotificationMessage(orig, n, "d834jied93rf", now)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}
