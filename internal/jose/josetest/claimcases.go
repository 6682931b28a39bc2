package josetest

import (
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
)

// ClaimsNow is the fixed "now" of the time cases: 2023-11-14T22:13:20Z.
const ClaimsNow = 1700000000

// ClaimsCase is one claims check. Op is:
//
//	decode                  DecodeClaims
//	times0, times60         CheckTimes at ClaimsNow with 0 s / 60 s leeway
//	times0iat               CheckTimes, iat required
//	aud                     AudienceClaim
//	date:<name>             NumericDateClaim
//	string:<name>, bool:<name>, list:<name>, object:<name>
//	rawdate                 ParseNumericDate on Payload itself
type ClaimsCase struct {
	Name    string
	Payload string
	Op      string
	Want    error
}

// CheckClaims runs c and returns the outcome text.
func CheckClaims(c ClaimsCase) (string, error) {
	if c.Op == "rawdate" {
		t, err := jose.ParseNumericDate([]byte(c.Payload))
		if err != nil {
			return err.Error(), err
		}
		return "ok " + t.Format(time.RFC3339Nano), nil
	}
	cl, err := jose.DecodeClaims([]byte(c.Payload))
	if err != nil {
		return err.Error(), err
	}
	op, name := c.Op, ""
	if i := strings.IndexByte(op, ':'); i >= 0 {
		op, name = op[:i], op[i+1:]
	}
	now := time.Unix(ClaimsNow, 0)
	switch op {
	case "decode":
		return "ok " + strconv.Itoa(len(cl)) + " claims", nil
	case "times0", "times60", "times0iat":
		leeway := time.Duration(0)
		if op == "times60" {
			leeway = time.Minute
		}
		if err := jose.CheckTimes(cl, now, leeway, op == "times0iat"); err != nil {
			return err.Error(), err
		}
		return "ok", nil
	case "aud":
		aud, err := cl.Audience()
		if err != nil {
			return err.Error(), err
		}
		return "ok [" + strings.Join(aud, " ") + "]", nil
	case "date":
		t, ok, err := jose.NumericDateClaim(cl, name)
		if err != nil {
			return err.Error(), err
		}
		return "ok " + present(ok) + " " + t.Format(time.RFC3339Nano), nil
	case "string":
		s, ok, err := cl.String(name)
		if err != nil {
			return err.Error(), err
		}
		return "ok " + present(ok) + " " + s, nil
	case "bool":
		b, ok, err := jose.BoolClaim(cl, name)
		if err != nil {
			return err.Error(), err
		}
		if b {
			return "ok " + present(ok) + " true", nil
		}
		return "ok " + present(ok) + " false", nil
	case "list":
		l, ok, err := cl.StringList(name)
		if err != nil {
			return err.Error(), err
		}
		return "ok " + present(ok) + " [" + strings.Join(l, " ") + "]", nil
	case "object":
		o, ok, err := cl.Object(name)
		if err != nil {
			return err.Error(), err
		}
		return "ok " + present(ok) + " " + strconv.Itoa(len(o)) + " members", nil
	}
	panic("josetest: unknown claims op " + c.Op)
}

func present(ok bool) string {
	if ok {
		return "present"
	}
	return "absent"
}

// ClaimsCases is every claims case, in the order of the groups below.
func ClaimsCases() []ClaimsCase {
	var out []ClaimsCase
	out = append(out, StrictClaimsCases()...)
	out = append(out, NumericDateCases()...)
	out = append(out, TimeCases()...)
	out = append(out, AudienceCases()...)
	return append(out, AccessorCases()...)
}

const now = "1700000000"

// StrictClaimsCases: duplicate and case-variant names (also escaped, also the
// encoding/json fold equivalents "ſ" and the Kelvin sign), non-objects, bad UTF-8.
func StrictClaimsCases() []ClaimsCase {
	return []ClaimsCase{
		{"decode-ok", `{"iss":"https://idp.example.com","sub":"alice","aud":["api"],"exp":1700000060,"address":{"country":"NZ"}}`, "decode", nil},
		{"decode-escaped-names-ok", `{"\u0073ub":"alice","na\u006de":"Alice"}`, "decode", nil},
		{"decode-whitespace-ok", " {\r\n \"sub\" : \"alice\" ,\t\"exp\":1 } \n", "decode", nil},
		{"decode-empty-object", `{}`, "decode", nil},
		{"dup-sub", `{"sub":"alice","sub":"admin"}`, "decode", jose.ErrDuplicateName},
		{"dup-sub-SUB", `{"sub":"alice","SUB":"admin"}`, "decode", jose.ErrDuplicateName},
		{"dup-sub-Sub", `{"Sub":"admin","sub":"alice"}`, "decode", jose.ErrDuplicateName},
		{"dup-sub-escaped", `{"sub":"alice","\u0073ub":"admin"}`, "decode", jose.ErrDuplicateName},
		{"dup-sub-escaped-upper", `{"sub":"alice","\u0053UB":"admin"}`, "decode", jose.ErrDuplicateName},
		{"dup-sub-long-s", `{"sub":"alice","ſub":"admin"}`, "decode", jose.ErrDuplicateName},
		{"dup-kid-kelvin-sign", `{"kid":"a","\u212aid":"b"}`, "decode", jose.ErrDuplicateName},
		{"dup-aud", `{"aud":"api","Aud":"admin-api"}`, "decode", jose.ErrDuplicateName},
		{"dup-exp", `{"exp":1,"exp":4102444800}`, "decode", jose.ErrDuplicateName},
		{"dup-groups", `{"groups":["staff"],"Groups":["admin"]}`, "decode", jose.ErrDuplicateName},
		{"dup-private-claim", `{"tenant":"a","TENANT":"b"}`, "decode", jose.ErrDuplicateName},
		{"dup-after-nested", `{"a":{"sub":"x"},"sub":"alice","b":[1,{"c":2}],"SUB":"admin"}`, "decode", jose.ErrDuplicateName},
		{"nested-names-are-not-top-level-dups", `{"sub":"alice","address":{"sub":"x","SUB":"y"}}`, "decode", nil},
		{"nested-dup-found-when-read", `{"sub":"alice","address":{"country":"NZ","Country":"AU"}}`, "object:address", jose.ErrDuplicateName},
		{"nested-object-ok", `{"address":{"country":"NZ","locality":"Wellington"}}`, "object:address", nil},
		{"object-claim-not-object", `{"address":"NZ"}`, "object:address", jose.ErrClaimType},
		{"not-an-object", `["sub","alice"]`, "decode", jose.ErrJSON},
		{"null", `null`, "decode", jose.ErrJSON},
		{"string", `"sub"`, "decode", jose.ErrJSON},
		{"trailing-data", `{"sub":"alice"}{"sub":"admin"}`, "decode", jose.ErrJSON},
		{"trailing-garbage", `{"sub":"alice"}x`, "decode", jose.ErrJSON},
		{"invalid-utf8", "{\"sub\":\"al\xffice\"}", "decode", jose.ErrJSON},
		{"invalid-utf8-name", "{\"s\xffb\":\"a\",\"s\xfeb\":\"b\"}", "decode", jose.ErrJSON},
		{"empty", ``, "decode", jose.ErrJSON},
		{"deep-nesting", strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000), "decode", jose.ErrJSON},
		{"lone-surrogates-collide", `{"\ud800":1,"\udc00":2}`, "decode", jose.ErrDuplicateName},
	}
}

// NumericDateCases: integer and fractional dates; strings, null, negative numbers,
// non-JSON number forms and overflow refused (RFC 7519 2).
func NumericDateCases() []ClaimsCase {
	return []ClaimsCase{
		{"exp-integer", `{"exp":` + now + `}`, "date:exp", nil},
		{"exp-fraction", `{"exp":1700000000.25}`, "date:exp", nil},
		{"exp-exponent", `{"exp":1.7e9}`, "date:exp", nil},
		{"exp-zero", `{"exp":0}`, "date:exp", nil},
		{"exp-max", `{"exp":253402300799}`, "date:exp", nil},
		{"exp-max-plus-1", `{"exp":253402300800}`, "date:exp", jose.ErrNumericDate},
		{"exp-int64-overflow", `{"exp":9223372036854775808}`, "date:exp", jose.ErrNumericDate},
		{"exp-huge-float", `{"exp":1e400}`, "date:exp", jose.ErrNumericDate},
		{"exp-1e300", `{"exp":1e300}`, "date:exp", jose.ErrNumericDate},
		{"exp-negative", `{"exp":-1}`, "date:exp", jose.ErrNumericDate},
		{"exp-negative-zero", `{"exp":-0}`, "date:exp", jose.ErrNumericDate},
		{"exp-negative-fraction", `{"exp":-0.5}`, "date:exp", jose.ErrNumericDate},
		{"exp-string", `{"exp":"` + now + `"}`, "date:exp", jose.ErrNumericDate},
		{"exp-null", `{"exp":null}`, "date:exp", jose.ErrNumericDate},
		{"exp-bool", `{"exp":true}`, "date:exp", jose.ErrNumericDate},
		{"exp-array", `{"exp":[` + now + `]}`, "date:exp", jose.ErrNumericDate},
		{"exp-object", `{"exp":{"t":` + now + `}}`, "date:exp", jose.ErrNumericDate},
		{"exp-absent", `{"sub":"alice"}`, "date:exp", nil},
		{"raw-hex", `0x6553f100`, "rawdate", jose.ErrNumericDate},
		{"raw-NaN", `NaN`, "rawdate", jose.ErrNumericDate},
		{"raw-Inf", `Infinity`, "rawdate", jose.ErrNumericDate},
		{"raw-underscores", `1_700_000_000`, "rawdate", jose.ErrNumericDate},
		{"raw-leading-zero", `01700000000`, "rawdate", jose.ErrNumericDate},
		{"raw-plus", `+1700000000`, "rawdate", jose.ErrNumericDate},
		{"raw-two-numbers", `1 2`, "rawdate", jose.ErrNumericDate},
		{"raw-fraction-rounds", `1700000000.9999999999`, "rawdate", nil},
	}
}

// TimeCases: exp required and exclusive, nbf and iat not in the future, each with
// and without leeway (RFC 7519 4.1.4-4.1.6).
func TimeCases() []ClaimsCase {
	return []ClaimsCase{
		{"exp-missing", `{"iat":` + now + `}`, "times0", jose.ErrClaimMissing},
		{"exp-equals-now", `{"exp":` + now + `}`, "times0", jose.ErrExpired},
		{"exp-one-second-ahead", `{"exp":1700000001}`, "times0", nil},
		{"exp-fraction-ahead", `{"exp":1700000000.5}`, "times0", nil},
		{"exp-fraction-behind", `{"exp":1699999999.5}`, "times0", jose.ErrExpired},
		{"exp-59s-ago-within-leeway", `{"exp":1699999941}`, "times60", nil},
		{"exp-60s-ago-beyond-leeway", `{"exp":1699999940}`, "times60", jose.ErrExpired},
		{"exp-malformed", `{"exp":"soon"}`, "times0", jose.ErrNumericDate},
		{"nbf-now", `{"exp":1700000100,"nbf":` + now + `}`, "times0", nil},
		{"nbf-future", `{"exp":1700000100,"nbf":1700000001}`, "times0", jose.ErrNotYetValid},
		{"nbf-60s-within-leeway", `{"exp":1700000100,"nbf":1700000060}`, "times60", nil},
		{"nbf-61s-beyond-leeway", `{"exp":1700000100,"nbf":1700000061}`, "times60", jose.ErrNotYetValid},
		{"nbf-malformed", `{"exp":1700000100,"nbf":null}`, "times0", jose.ErrNumericDate},
		{"iat-now", `{"exp":1700000100,"iat":` + now + `}`, "times0", nil},
		{"iat-future", `{"exp":1700000100,"iat":1700000001}`, "times0", jose.ErrIssuedInFuture},
		{"iat-61s-beyond-leeway", `{"exp":1700000100,"iat":1700000061}`, "times60", jose.ErrIssuedInFuture},
		{"iat-optional", `{"exp":1700000100}`, "times0", nil},
		{"iat-required-missing", `{"exp":1700000100}`, "times0iat", jose.ErrClaimMissing},
		{"iat-required-present", `{"exp":1700000100,"iat":1699999000}`, "times0iat", nil},
	}
}

// AudienceCases: a string or a non-empty array of non-empty strings (RFC 7519 4.1.3).
func AudienceCases() []ClaimsCase {
	return []ClaimsCase{
		{"aud-string", `{"aud":"api"}`, "aud", nil},
		{"aud-array", `{"aud":["api","other"]}`, "aud", nil},
		{"aud-missing", `{"sub":"alice"}`, "aud", jose.ErrClaimMissing},
		{"aud-empty-array", `{"aud":[]}`, "aud", jose.ErrAudience},
		{"aud-null", `{"aud":null}`, "aud", jose.ErrAudience},
		{"aud-nested-array", `{"aud":[["api"]]}`, "aud", jose.ErrAudience},
		{"aud-number", `{"aud":1}`, "aud", jose.ErrAudience},
		{"aud-number-element", `{"aud":["api",1]}`, "aud", jose.ErrAudience},
		{"aud-null-element", `{"aud":["api",null]}`, "aud", jose.ErrAudience},
		{"aud-object", `{"aud":{"api":true}}`, "aud", jose.ErrAudience},
		{"aud-empty-string", `{"aud":""}`, "aud", jose.ErrAudience},
		{"aud-empty-string-element", `{"aud":["api",""]}`, "aud", jose.ErrAudience},
		{"aud-string-containing-null", `{"aud":["nullable-api"]}`, "aud", nil},
	}
}

// AccessorCases: the typed getters read exact names and refuse wrong types.
func AccessorCases() []ClaimsCase {
	return []ClaimsCase{
		{"string-ok", `{"sub":"alice"}`, "string:sub", nil},
		{"string-absent", `{"iss":"x"}`, "string:sub", nil},
		{"string-is-number", `{"sub":123}`, "string:sub", jose.ErrClaimType},
		{"string-is-null", `{"sub":null}`, "string:sub", jose.ErrClaimType},
		{"string-exact-name-only", `{"SUB":"alice"}`, "string:sub", nil},
		{"string-escapes", `{"name":"caf\u00e9 \"x\""}`, "string:name", nil},
		{"bool-true", `{"email_verified":true}`, "bool:email_verified", nil},
		{"bool-string", `{"email_verified":"true"}`, "bool:email_verified", jose.ErrClaimType},
		{"list-array", `{"groups":["staff","ops"]}`, "list:groups", nil},
		{"list-single-string", `{"groups":"staff"}`, "list:groups", nil},
		{"list-empty", `{"groups":[]}`, "list:groups", nil},
		{"list-null", `{"groups":null}`, "list:groups", jose.ErrClaimType},
		{"list-null-element", `{"groups":["staff",null]}`, "list:groups", jose.ErrClaimType},
		{"list-nested", `{"groups":[["staff"]]}`, "list:groups", jose.ErrClaimType},
		{"list-number-element", `{"groups":["staff",7]}`, "list:groups", jose.ErrClaimType},
		{"list-object", `{"groups":{"staff":true}}`, "list:groups", jose.ErrClaimType},
	}
}
