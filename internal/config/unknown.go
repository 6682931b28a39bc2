package config

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// remainTag is the struct tag of the Unknown field every configuration struct has:
// mapstructure (Traefik's decoder) puts there the keys that match no other field.
const remainTag = ",remain"

// UnknownOptions returns one Problem per option name in cfg that matches no option,
// at any depth, sorted by path, with its full dotted path as the operator wrote it and, when one is
// close enough, the option they probably meant:
//
//	authorisation: unknown option; did you mean authorization?
//	authorization.allowedGroup: unknown option; did you mean authorization.allowedGroups?
//	allowedGroups: unknown option; did you mean authorization.allowedGroups?
//
// Names compare case-insensitively (as Traefik matches them). Maps that take names of
// their own (provider.authParams, headers.templates) have no unknown keys.
func UnknownOptions(cfg *Config) []Problem {
	if cfg == nil {
		return nil
	}
	var known []string
	collectOptions(reflect.TypeOf(cfg).Elem(), "", &known)
	var out []Problem
	unknownIn(reflect.ValueOf(cfg).Elem(), "", known, &out)
	sort.Slice(out, func(i, j int) bool { return out[i].Option < out[j].Option })
	return out
}

// IsRemainField reports whether f is the field that collects unknown options.
func IsRemainField(f reflect.StructField) bool {
	return f.Tag.Get("mapstructure") == remainTag
}

// collectOptions appends the dotted path of every option and group under t.
func collectOptions(t reflect.Type, prefix string, out *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if IsRemainField(f) {
			continue
		}
		name := prefix + OptionName(f.Name)
		*out = append(*out, name)
		if f.Type.Kind() == reflect.Struct {
			collectOptions(f.Type, name+".", out)
		}
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
			collectOptions(f.Type.Elem(), name+"[].", out)
		}
	}
}

// unknownIn reports the unknown keys of the struct v (at path prefix) and of the
// structs it holds.
func unknownIn(v reflect.Value, prefix string, known []string, out *[]Problem) {
	t := v.Type()
	var siblings []string
	for i := 0; i < t.NumField(); i++ {
		if !IsRemainField(t.Field(i)) {
			siblings = append(siblings, prefix+OptionName(t.Field(i).Name))
		}
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		fv := v.Field(i)
		switch {
		case IsRemainField(f):
			var keys []string
			for _, k := range fv.MapKeys() {
				keys = append(keys, k.String())
			}
			sort.Strings(keys)
			for _, k := range keys {
				*out = append(*out, Problem{Option: prefix + k, Message: unknownMessage(k, siblings, known)})
			}
		case f.Type.Kind() == reflect.Struct:
			unknownIn(fv, prefix+OptionName(f.Name)+".", known, out)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			// A list of option groups (rules, conditions): each element by its index.
			for j := 0; j < fv.Len(); j++ {
				unknownIn(fv.Index(j), prefix+OptionName(f.Name)+"["+strconv.Itoa(j)+"].", known, out)
			}
		}
	}
}

// unknownMessage says that key is unknown and names the closest option: among its
// siblings first, else anywhere (an option given at the wrong level).
func unknownMessage(key string, siblings, known []string) string {
	for _, s := range siblings {
		if strings.EqualFold(key, s[strings.LastIndexByte(s, '.')+1:]) {
			// Option names are case-insensitive: the same option twice, and Traefik
			// would have used only one of the two.
			return "repeats " + s + " in another case; give it once"
		}
	}
	if nested := nestedOption(key, siblings, known); nested != "" {
		return "unknown option; did you mean " + nested + "?"
	}
	if best := closestOption(key, siblings); best != "" {
		return "unknown option; did you mean " + best + "?"
	}
	if best := closestOption(key, known); best != "" {
		return "unknown option; did you mean " + best + "?"
	}
	var names []string
	for _, s := range siblings {
		names = append(names, s[strings.LastIndexByte(s, '.')+1:])
	}
	return "unknown option (Traefik would ignore it; Gatehouse refuses it); the options here are " + strings.Join(names, ", ")
}

// nestedOption returns the option in a group below key's level whose path, from that
// level and without its dots, is key (case-insensitive): logFormat for log.format,
// metricsPath for metrics.path. "" when there is none.
func nestedOption(key string, siblings, known []string) string {
	if len(siblings) == 0 {
		return ""
	}
	prefix := siblings[0][:strings.LastIndexByte(siblings[0], '.')+1]
	for _, k := range known {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		rest := k[len(prefix):]
		if !strings.Contains(rest, ".") {
			continue
		}
		if strings.EqualFold(strings.ReplaceAll(rest, ".", ""), key) {
			return k
		}
	}
	return ""
}

// closestOption returns the path among candidates whose last segment is closest to
// key (case-insensitive edit distance, adjacent transpositions counting one), if
// close enough to be a misspelling: at most 1 + len(key)/5 edits. Ties go to the
// shorter path, then the first in order.
func closestOption(key string, candidates []string) string {
	k := strings.ToLower(key)
	limit := 1 + len([]rune(k))/5
	best, bestD := "", limit+1
	for _, c := range candidates {
		d := editDistance(k, strings.ToLower(c[strings.LastIndexByte(c, '.')+1:]))
		if d < bestD || (d == bestD && best != "" && len(c) < len(best)) {
			best = c
			bestD = d
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b: the fewest
// insertions, deletions, substitutions and swaps of two adjacent characters.
func editDistance(a, b string) int {
	ra := []rune(a)
	rb := []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d := prev[j] + 1
			if ins := cur[j-1] + 1; ins < d {
				d = ins
			}
			if sub := prev[j-1] + cost; sub < d {
				d = sub
			}
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				if swap := prev2[j-2] + 1; swap < d {
					d = swap
				}
			}
			cur[j] = d
		}
		rotated := prev2
		prev2 = prev
		prev = cur
		cur = rotated
	}
	return prev[len(rb)]
}

// OptionName turns a Go field name into the camelCase name operators write:
// ClientID → clientID, HTTPTimeout → httpTimeout, TLS → tls, L1MaxBytes → l1MaxBytes.
func OptionName(field string) string {
	r := []rune(field)
	n := 0
	for n < len(r) && !unicode.IsLower(r[n]) {
		n++
	}
	if n == len(r) {
		return strings.ToLower(field)
	}
	if n <= 1 {
		return string(unicode.ToLower(r[0])) + string(r[1:])
	}
	return strings.ToLower(string(r[:n-1])) + string(r[n-1:])
}
