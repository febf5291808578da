package status

import "strings"

// prefersHTML reports whether the Accept header field values rank text/html
// above application/json (RFC 9110 section 12.5.1). Each media type takes
// the weight of the most specific range that matches it; with no Accept,
// with "*/*" (curl), or with a tie, the answer is JSON, the format for
// tools. A browser's "text/html,...,*/*;q=0.8" gets HTML.
func prefersHTML(accept []string) bool {
	htmlQ, jsonQ := -1.0, -1.0
	htmlSpec, jsonSpec := 0, 0
	for _, field := range accept {
		for elem := range strings.SplitSeq(field, ",") {
			typ, sub, q, ok := parseMediaRange(elem)
			if !ok {
				continue
			}
			if s := rangeSpecificity(typ, sub, "text", "html"); s > htmlSpec {
				htmlSpec, htmlQ = s, q
			}
			if s := rangeSpecificity(typ, sub, "application", "json"); s > jsonSpec {
				jsonSpec, jsonQ = s, q
			}
		}
	}
	return htmlQ > 0 && htmlQ > jsonQ
}

// rangeSpecificity is how specifically the range typ/sub names want/wantSub:
// 3 exactly, 2 as want/*, 1 as */*, 0 not at all.
func rangeSpecificity(typ, sub, want, wantSub string) int {
	switch {
	case strings.EqualFold(typ, want) && strings.EqualFold(sub, wantSub):
		return 3
	case strings.EqualFold(typ, want) && sub == "*":
		return 2
	case typ == "*" && sub == "*":
		return 1
	}
	return 0
}

// parseMediaRange splits one Accept element, `type/subtype *( ; param )`,
// into its range and weight (1 without a q parameter). Elements that do not
// parse, or whose q is not a qvalue (RFC 9110 section 12.4.2: 0 to 1, at
// most three decimals), are reported as not ok and then ignored.
func parseMediaRange(elem string) (typ, sub string, q float64, ok bool) {
	rng, params, _ := strings.Cut(elem, ";")
	typ, sub, ok = strings.Cut(strings.TrimSpace(rng), "/")
	if !ok || typ == "" || sub == "" || (typ == "*" && sub != "*") {
		return "", "", 0, false
	}
	q = 1
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, value, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		v, valid := parseQValue(strings.TrimSpace(value))
		if !valid {
			return "", "", 0, false
		}
		q = v
	}
	return typ, sub, q, true
}

// parseQValue parses a qvalue exactly as RFC 9110 section 12.4.2 writes it:
// ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ). A general float
// parser would also take "1e-1" or "0x1p-1".
func parseQValue(s string) (float64, bool) {
	if s == "" || len(s) > 5 || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	if len(s) == 1 {
		return float64(s[0] - '0'), true
	}
	if s[1] != '.' {
		return 0, false
	}
	thousandths := 0
	for i, scale := 2, 100; i < 5; i, scale = i+1, scale/10 {
		if i >= len(s) {
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || (s[0] == '1' && c != '0') {
			return 0, false
		}
		thousandths += int(c-'0') * scale
	}
	return float64(s[0]-'0') + float64(thousandths)/1000, true
}
