package sipstack

import (
	"fmt"
	"net"
	"strconv"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// BenchmarkUDPMessage is one MESSAGE over UDP and its 202, the handler
// answering at once, through sipgo's server transaction (stateful) and
// through the stateless path: the difference is what the transaction
// layer costs per MESSAGE. Each MESSAGE is a new transaction. ns/op
// includes both sides' loopback syscalls; allocs/op are the server's (the
// client reuses its buffers).
func BenchmarkUDPMessage(b *testing.B) {
	for _, stateless := range []bool{false, true} {
		name := map[bool]string{false: "stateful", true: "stateless"}[stateless]
		b.Run(name, func(b *testing.B) {
			server := []sip.Header{sip.NewHeader("Server", "iwf")}
			// As pager answers: from the status when r can.
			answer := func(req *sip.Request, r Responder) {
				if sr, ok := r.(StatusResponder); ok {
					_ = sr.RespondStatus(202, "Accepted", server...)
					return
				}
				res := sip.NewResponseFromRequest(req, 202, "Accepted", nil)
				res.AppendHeader(server[0])
				_ = r.Respond(res)
			}
			s := startStack(b, loopback(""), func(s *Stack) {
				s.Server().OnMessage(func(req *sip.Request, tx sip.ServerTransaction) { answer(req, tx) })
				if stateless {
					s.HandleStatelessUDP(sip.MESSAGE, StatelessHandler{Handle: answer})
				}
			})
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			dst := s.Addr(UDP).(*net.UDPAddr)
			const digits = "000000000000"
			// The counter is written over the zeros of the branch and
			// Call-ID, so every MESSAGE is new without allocating.
			msg := []byte(rawRequest("MESSAGE",
				fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s", c.LocalAddr().(*net.UDPAddr).Port, digits),
				digits+"@bench"))
			at := []int{indexAfter(msg, "z9hG4bK"), indexAfter(msg, "Call-ID: ")}
			buf := make([]byte, 4096)
			var num []byte
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				num = strconv.AppendInt(num[:0], int64(i), 10)
				for _, a := range at {
					copy(msg[a+len(digits)-len(num):], num)
				}
				if _, err := c.WriteToUDP(msg, dst); err != nil {
					b.Fatal(err)
				}
				if _, _, err := c.ReadFromUDP(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func indexAfter(b []byte, s string) int {
	for i := range len(b) - len(s) {
		if string(b[i:i+len(s)]) == s {
			return i + len(s)
		}
	}
	panic("no " + s)
}
