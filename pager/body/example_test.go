package body_test

import (
	"fmt"

	"iwf/pager/body"
)

// A MESSAGE from an RCS-capable client wraps its text in message/cpim and
// asks for a delivery notification; Decode unwraps it and keeps what the
// notification must quote.
func ExampleDecode() {
	b := "From: <sip:+15551230000@ims.example.net>\r\n" +
		"To: <tel:+442079460958>\r\n" +
		"NS: imdn <urn:ietf:params:imdn>\r\n" +
		"imdn.Message-ID: Kq3wz9\r\n" +
		"DateTime: 2024-05-01T10:00:00Z\r\n" +
		"imdn.Disposition-Notification: positive-delivery\r\n" +
		"\r\n" +
		"Content-Type: text/plain; charset=ISO-8859-1\r\n" +
		"\r\n" +
		"caf\xe9"
	c, err := body.Decode("message/cpim", []byte(b))
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Text, c.IMDN.MessageID, c.IMDN.Disposition)
	// Output: café Kq3wz9 positive-delivery
}
