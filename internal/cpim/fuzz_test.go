package cpim

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

var cpimVectors = []string{"rfc3862-example.cpim", "rfc5438-im.cpim", "rfc5438-delivery-notification.cpim"}

// roomy re-reads what Marshal wrote: quoting and escaping may make the
// header part a little longer than the input's, which the default bound
// could refuse.
var roomy = ParseOptions{MaxHeaderBytes: 1 << 20, MaxHeaders: 1 << 20}

// requireTyped fails unless err is one of the package's error types, each
// of which tells the caller what to answer.
func requireTyped(t *testing.T, err error) {
	t.Helper()
	var s interface {
		MSRPStatus() int
		SIPStatus() int
	}
	if !errors.As(err, &s) || !strings.HasPrefix(err.Error(), "cpim: ") {
		t.Fatalf("untyped error %T: %v", err, err)
	}
}

// FuzzParse checks that nothing panics on any input, that errors are typed,
// and that whatever parses writes out and parses back the same, stably; in
// both the strict and the tolerant mode, the tolerant one accepting all
// that the strict one does.
func FuzzParse(f *testing.F) {
	for _, name := range cpimVectors {
		b := vector(f, name)
		f.Add(b)
		f.Add(lf(b))
	}
	for _, s := range []string{
		minimal,
		crlfText(`From: "A \"q\" \\ \u00e9" <sip:a@b.c>`, `Subject:;lang=en \u0020x\tz\u0020`, `X.Y:;a="b c";d=e ;v`, "NS: X <urn:x>", "Require: X.Y, Z") + "\r\nContent-Type: text/plain;\r\n charset=x\r\n\r\n",
		"\r\nContent-Type: a/b",
		"To: sip:x@y\nDateTime: 2024-01-01t00:00:00.5+14:00\n\ncontent-type: x/y\n\n",
		crlfText("From: <a>", "From: <sip:a@b>", "DateTime: today", "Subject: caf\xe9", "imdn.Message-ID: a b", "imdn.Message-ID: m") + "\r\nContent-Type: text/plain\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		strict, err := ParseStrict(in)
		if err != nil {
			requireTyped(t, err)
		} else {
			checkRoundTrip(t, strict, roomy)
		}
		tolerant, err := ParseOptions{Tolerant: true}.Parse(in)
		if err != nil {
			requireTyped(t, err)
			if strict != nil {
				t.Fatalf("the tolerant parser refuses what the strict one reads: %v", err)
			}
			return
		}
		checkRoundTrip(t, tolerant, ParseOptions{MaxHeaderBytes: roomy.MaxHeaderBytes, MaxHeaders: roomy.MaxHeaders, Tolerant: true})
		if _, err := tolerant.IMDN(); err != nil {
			t.Fatalf("IMDN of a tolerant parse: %v", err)
		}
	})
}

// checkRoundTrip writes m1, reads it back with o and checks that nothing
// changed and that the output is stable.
func checkRoundTrip(t *testing.T, m1 *Message, o ParseOptions) {
	t.Helper()
	b1, err := m1.Marshal()
	if err != nil {
		t.Fatalf("a parsed message does not marshal: %v", err)
	}
	m2, err := o.Parse(b1)
	if err != nil {
		t.Fatalf("output does not parse: %v\n%q", err, b1)
	}
	if d := diffMessage(m1, m2); d != "" {
		t.Fatalf("round trip changed the message: %s\n%q", d, b1)
	}
	if b2, _ := m2.Marshal(); !bytes.Equal(b1, b2) {
		t.Fatalf("output not stable:\n%q\n%q", b1, b2)
	}
	// The IMDN view must survive being written back.
	if i, err := m1.IMDN(); err == nil && i.MessageID != "" {
		m3 := *m2
		if err := m3.SetIMDN(i); err == nil {
			if j, err := m3.IMDN(); err != nil || j.MessageID != i.MessageID || j.Disposition != i.Disposition {
				t.Fatalf("SetIMDN(IMDN()) = %+v, %v; want %+v", j, err, i)
			}
		}
	}
	if m1.IsNotification() {
		_, _ = m1.Notification()
	}
}

// FuzzParseNotification does the same for message/imdn+xml bodies.
func FuzzParseNotification(f *testing.F) {
	for _, name := range []string{"rfc5438-delivered.xml", "rfc5438-displayed.xml", "rfc5438-processed.xml", "rfc5438-failed.xml"} {
		f.Add(vector(f, name))
	}
	f.Add([]byte(imdnOpen + `<subject>a&#xD;b</subject><processing-notification><status><stored/></status></processing-notification></imdn>`))
	f.Add([]byte(`<i:imdn xmlns:i="urn:ietf:params:xml:ns:imdn" xmlns:x="urn:x"><i:message-id>m</i:message-id><i:datetime>2024-03-01T10:00:00Z</i:datetime><x:y/><i:display-notification><i:status><i:error/></i:status></i:display-notification></i:imdn>`))
	f.Fuzz(func(t *testing.T, in []byte) {
		n1, err := ParseNotification(in)
		if err != nil {
			requireTyped(t, err)
			return
		}
		b, err := n1.Marshal()
		if err != nil {
			t.Fatalf("a parsed notification does not marshal: %v", err)
		}
		n2, err := parseNotification(b, 1<<20)
		if err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, b)
		}
		if d := diffNotification(n1, n2); d != "" {
			t.Fatalf("round trip changed the notification: %s\n%s", d, b)
		}
	})
}
