package sipsession

import (
	"context"
	"testing"
)

// BenchmarkOpenClose measures a whole outgoing session on loopback UDP:
// INVITE with an offer, 200 with an answer from a sipgo UAS, ACK, the
// MSRP connection (reused between sessions, as toward one SBC) and a
// bodiless SEND binding it, then BYE and 200.
func BenchmarkOpenClose(b *testing.B) {
	w := newIWF(b, nil)
	p := newUASPeer(b, answerMSRP)
	go func() {
		for range p.invites {
		}
	}()
	go func() {
		for range p.acks {
		}
	}()
	go func() {
		for range p.byes {
		}
	}()
	go func() {
		for range p.sess {
		}
	}()
	tr := trunkTo(p.st, "udp")
	ctx := context.Background()
	for b.Loop() {
		c, err := w.m.Open(ctx, OpenRequest{From: "sip:a@iwf.example", To: "sip:b@rcs.example", Trunk: tr})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
}
