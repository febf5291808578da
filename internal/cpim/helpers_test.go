package cpim

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"iwf/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// lf turns CRLF line ends into bare LF.
func lf(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }

// crlfText joins lines with CRLF and ends the last one too.
func crlfText(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

// sameTime reports whether two times are the same instant with the same
// UTC offset: what a DateTime header carries.
func sameTime(a, b time.Time) bool {
	_, oa := a.Zone()
	_, ob := b.Zone()
	return a.Equal(b) && oa == ob && a.IsZero() == b.IsZero()
}

// diffMessage returns "" when a and b hold the same message, else what
// differs.
func diffMessage(a, b *Message) string {
	if !sameTime(a.DateTime, b.DateTime) {
		return fmt.Sprintf("DateTime %v != %v", a.DateTime, b.DateTime)
	}
	ca, cb := *a, *b
	ca.DateTime, cb.DateTime = time.Time{}, time.Time{}
	if len(ca.Body) == 0 {
		ca.Body = nil
	}
	if len(cb.Body) == 0 {
		cb.Body = nil
	}
	if !reflect.DeepEqual(ca, cb) {
		return fmt.Sprintf("\n%#v\n!=\n%#v", ca, cb)
	}
	return ""
}

// diffNotification returns "" when a and b are the same notification.
func diffNotification(a, b Notification) string {
	if !sameTime(a.DateTime, b.DateTime) {
		return fmt.Sprintf("DateTime %v != %v", a.DateTime, b.DateTime)
	}
	a.DateTime, b.DateTime = time.Time{}, time.Time{}
	if a != b {
		return fmt.Sprintf("\n%#v\n!=\n%#v", a, b)
	}
	return ""
}

// wantError checks that err is of the type of target and its message
// contains each of parts.
func wantError[T error](t *testing.T, err error, parts ...string) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error %v (%T), want a %T", err, err, target)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
	return target
}

// vector reads a file under testdata.
func vector(t testing.TB, name string) []byte {
	t.Helper()
	return testutil.ReadFile(t, filepath.Join("testdata", name))
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", "golden", name), got, *update)
}
