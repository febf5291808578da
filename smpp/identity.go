package smpp

// SMPP 3.4 section 5.2.5 and 5.2.6: the type of number and numbering
// plan indicator values the IWF writes.
const (
	TONInternational = 1
	TONAlphanumeric  = 5
	NPIISDN          = 1
)

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
