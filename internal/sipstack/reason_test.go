package sipstack

import "testing"

func TestReasonPhrase(t *testing.T) {
	for code, want := range map[int]string{
		202: "Accepted", 415: "Unsupported Media Type", 481: "Call/Transaction Does Not Exist",
		603: "Decline", 499: "Request Failure", 599: "Server Internal Error", 699: "Global Failure",
	} {
		if got := ReasonPhrase(code); got != want {
			t.Errorf("ReasonPhrase(%d) = %q, want %q", code, got, want)
		}
	}
}
