package auth

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/headertpl"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe"
)

// Per-route rules (docs/POLICIES.md): config.Compile turns the rules into
// config.Rule values; here they are matched against requests and evaluated against
// principals. The runtime list m.rules holds the default rule (the instance-level
// authorization options) at index 0, rules[i] at index i+1, and last, at m.setRule,
// a placeholder for requests whose path is ambiguous: those are decided by a set of
// rules (ambiguousRules).
//
// Everything a principal needs to know about every rule is computed once, when the
// principal is built (evaluateRules): until[i] is the Unix time until which it
// satisfies rule i (0: never; forever: always; in between: its sign-in grows too old
// then), and why[i] the requirement it fails. On the hot path a request matched by
// rule i only checks until[i] == forever; anything else (a time, for a rule with
// maxAuthAge; a refusal) is decided by forwardAuthorized with the clock.

// forever is until[i] for a rule a principal satisfies whatever the time.
const forever = int64(1) << 62

// handled is what ruleAction returns when it has answered the request itself.
const handled = -1

// setRuleIndex is the Index of the placeholder rule of ambiguous paths.
const setRuleIndex = -2

// withPlaceholder returns the compiled rules with the placeholder of ambiguous
// paths appended, when there are rules.
func withPlaceholder(rules []*config.Rule) []*config.Rule {
	if len(rules) < 2 {
		return rules
	}
	out := append([]*config.Rule(nil), rules...)
	return append(out, &config.Rule{Label: "every rule an ambiguous path may fall under", Index: setRuleIndex})
}

// matchRequest returns the index in m.rules of the first rule that matches req (0
// when none does: the default rule), with one call into the compiled regexp engine
// whatever the number of rules (config.Matcher). A request whose path is not
// canonical is decided by ambiguousRules: a deny rule's index, or m.setRule.
func matchRequest(m *Middleware, req *http.Request) int {
	mt := m.matcher
	s := req.URL.Path + mt.Tail
	if mt.FirstLine {
		s = matchLine(mt, req) + s
	}
	loc := mt.Regexp.FindStringIndex(s)
	if loc == nil {
		return matchAmbiguous(m, req)
	}
	// A match that ends before the tail used a line feed of the path itself (a
	// decoded %0A, which no canonical path holds): i < 0, and the path is ambiguous.
	i := loc[1] - len(s) + mt.TailLen - 1
	if i < 0 || req.URL.RawPath != "" || mt.Recheck[i] {
		return matchUnusual(m, req, i)
	}
	return i
}

// matchUnusual finishes matchRequest for a path sent with escapes (an encoded slash
// makes it ambiguous), or matched by a pathRegexp rule, which may match paths that
// are not canonical.
func matchUnusual(m *Middleware, req *http.Request, i int) int {
	if _, ok := reqsafe.CanonicalPath(req.URL); ok && i >= 0 {
		return i
	}
	return matchAmbiguous(m, req)
}

// matchAmbiguous decides a request whose path is not canonical: a deny rule's
// index, or m.setRule (ambiguousRules).
func matchAmbiguous(m *Middleware, req *http.Request) int {
	if deny, _ := ambiguousRules(m.rules, req); deny > 0 {
		return deny
	}
	return m.setRule
}

// matchLine is the subject's first line: method (a CORS preflight's announced
// method), host, and a flag per header name the rules test.
func matchLine(mt *config.Matcher, req *http.Request) string {
	method := ruleMethod(req)
	flags := make([]byte, len(mt.Headers))
	for i, h := range mt.Headers {
		flags[i] = '0'
		if len(req.Header[h]) > 0 {
			flags[i] = '1'
		}
	}
	return method + " " + req.Host + " " + string(flags) + "\n"
}

// ruleMethod is the method rules match a request by: a CORS preflight's is the one
// it announces (Access-Control-Request-Method), when that is a token.
func ruleMethod(req *http.Request) string {
	if req.Method == http.MethodOptions && req.Header["Access-Control-Request-Method"] != nil {
		if m := req.Header.Get("Access-Control-Request-Method"); m != "" && !strings.ContainsAny(m, " \t\r\n") {
			return m
		}
	}
	return req.Method
}

// matchRule is matchRequest written as a loop, from rule index from on: it decides
// where a deny rule in report mode hands a request on, and tests check that the two
// agree. Rules that let a request through (allow, preflight) match canonical paths
// only, and req's path is canonical here.
func matchRule(rules []*config.Rule, req *http.Request, from int) int {
	path := req.URL.Path
	method := ruleMethod(req)
	for i := from; i < len(rules); i++ {
		r := rules[i]
		if r.Index < 0 || !conditionsMatch(r, method, req) {
			continue
		}
		switch r.PathKind {
		case config.PathAny:
			return i
		case config.PathPrefix:
			if reqsafe.HasPathPrefix(path, r.PathPrefix) {
				return i
			}
		case config.PathExact:
			if path == r.PathExact {
				return i
			}
		case config.PathRegexp:
			if r.PathRegexp.MatchString(path) {
				return i
			}
		}
	}
	return 0
}

// conditionsMatch reports whether r's methods, hosts and headers match.
func conditionsMatch(r *config.Rule, method string, req *http.Request) bool {
	if r.Methods != "" && !strings.Contains(r.Methods, " "+method+" ") {
		return false
	}
	if (r.Hosts != nil || r.HostSuffixes != nil) && !hostMatches(r, req.Host) {
		return false
	}
	return r.Headers == nil || headersPresent(r, req.Header)
}

// ambiguousRules decides a request whose path is not canonical: some backend may
// read it as another path than Gatehouse does ("/status/..;/admin"), so it may be
// under any rule's path. No allow rule (nor preflight allowance) applies. It
// returns the index of the first deny rule in enforce mode whose other conditions
// match, which decides; otherwise 0 and the set of rules the request must satisfy
// as bits of mask: every authenticate rule whose other conditions match — up to the
// first one without a path condition, which would match whatever the path — and the
// default rule.
func ambiguousRules(rules []*config.Rule, req *http.Request) (int, uint64) {
	mask := uint64(1)
	for i := 1; i < len(rules); i++ {
		r := rules[i]
		if r.Index < 0 || r.Action == config.ActionAllow || !conditionsMatch(r, req.Method, req) {
			continue
		}
		if r.Action == config.ActionDeny {
			if r.Report {
				continue
			}
			return i, 0
		}
		mask |= uint64(1) << uint(i)
		if r.PathKind == config.PathAny {
			break
		}
	}
	return 0, mask
}

// hostMatches reports whether host (the request's) is one of r's hosts or below one
// of its *. suffixes: a port (":" and digits) and one trailing dot are ignored, and
// ASCII case (only ASCII: strings.ToLower would turn the Kelvin sign into k); a host
// with another ":" (an IPv6 literal) matches no name. config.Matcher does the same.
func hostMatches(r *config.Rule, host string) bool {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.Trim(host[i+1:], "0123456789") == "" {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	if strings.IndexByte(host, ':') >= 0 {
		return false
	}
	for _, h := range r.Hosts {
		if len(h) == len(host) && asciiEqualFold(h, host) {
			return true
		}
	}
	for _, s := range r.HostSuffixes {
		if len(host) > len(s) && asciiEqualFold(s, host[len(host)-len(s):]) {
			return true
		}
	}
	return false
}

// asciiEqualFold compares a lower-case ASCII name with s of the same length,
// ignoring ASCII case only.
func asciiEqualFold(lower, s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// headersPresent reports whether every header r names is in h.
func headersPresent(r *config.Rule, h http.Header) bool {
	for _, name := range r.Headers {
		if len(h[name]) == 0 {
			return false
		}
	}
	return true
}

// routeByRules finds the rule of a request on an instance with rules and carries
// out its action: it returns handled when that answered the request (allow, deny,
// preflight), else the index of the rule the request is authenticated for. The
// common case — a canonical path, rules on paths only, an authenticate rule — is
// written out here with as few temporaries as possible (under Yaegi a function's
// every temporary is allocated on every call); everything else is routeByRulesSlow.
func routeByRules(m *Middleware, rw http.ResponseWriter, req *http.Request) int {
	// A path whose rule the common case below found before is answered from the memo:
	// a compiled map lookup costs a fraction of the regexp call and its arithmetic,
	// which Yaegi allocates on every call. The memo's answers depend on the path alone,
	// which holds under the same conditions as the common case's (no RawPath, not a
	// preflight; rules on paths only, or nothing is ever remembered).
	if v, ok := m.ruleMemo.Load(req.URL.Path); ok && req.URL.RawPath == "" && req.Method != http.MethodOptions {
		return v.(int)
	}
	return routeByRulesMiss(m, rw, req)
}

// ruleMemoMax and ruleMemoMaxPath bound the rule memo: at most 4,096 paths of up to
// 256 bytes each (1 MiB), so that requests for random paths cannot grow it; paths
// beyond take the regexp every time.
const (
	ruleMemoMax     = 4096
	ruleMemoMaxPath = 256
)

// routeByRulesMiss is routeByRules for a path the memo does not hold.
func routeByRulesMiss(m *Middleware, rw http.ResponseWriter, req *http.Request) int {
	s := req.URL.Path + m.fastTail
	loc := m.fastRE.FindStringIndex(s)
	if loc != nil && req.URL.RawPath == "" && req.Method != http.MethodOptions {
		// j is the rule's index plus one (matchRequest); 0 or less for a match that
		// ended in the path itself.
		if j := loc[1] - len(s) + len(m.fastTail); j > 0 && m.fastRule[j] {
			if len(req.URL.Path) <= ruleMemoMaxPath && m.ruleMemoLen.Add(1) <= ruleMemoMax {
				m.ruleMemo.Store(req.URL.Path, j-1)
			}
			return j - 1
		}
	}
	return routeByRulesSlow(m, rw, req)
}

// fastMatcher sets up routeByRules' common case: the matcher's regexp and tail, and
// fastRule[i+1] for the rules it may return at once (authenticate rules without a
// pathRegexp, and the default rule). With rules on methods, hosts or headers the
// subject has another shape: a regexp that matches nothing sends every request to
// routeByRulesSlow.
func fastMatcher(m *Middleware) {
	mt := m.matcher
	m.fastRE = mt.Regexp
	m.fastTail = mt.Tail
	m.fastRule = make([]bool, len(m.rules)+1)
	if mt.FirstLine {
		m.fastRE = regexp.MustCompile(`\A\z`)
		return
	}
	for i, r := range m.rules {
		m.fastRule[i+1] = r.Index != setRuleIndex && r.Action == config.ActionAuthenticate && !mt.Recheck[i]
	}
}

// routeByRulesSlow is routeByRules for every request.
func routeByRulesSlow(m *Middleware, rw http.ResponseWriter, req *http.Request) int {
	i := matchRequest(m, req)
	if m.rules[i].Action != config.ActionAuthenticate || req.Method == http.MethodOptions {
		return ruleAction(m, rw, req, i)
	}
	return i
}

// ruleAction carries out an allow or deny rule, or an authenticate rule's preflight
// allowance. It returns handled when it answered, else the index the request is
// decided by: the same rule (an authenticate rule and a request that is not a
// preflight), or, after a deny rule in report mode, the next rule that matches.
func ruleAction(m *Middleware, rw http.ResponseWriter, req *http.Request, i int) int {
	for i > 0 && i != m.setRule {
		r := m.rules[i]
		switch r.Action {
		case config.ActionAllow:
			forwardExcluded(m, rw, req)
			return handled
		case config.ActionDeny:
			if !r.Report {
				m.log.Info(logging.EventAccessDenied, "denied by a deny rule", logging.Fields{"method": req.Method, "path": m.log.ID(req.URL.Path), "rule": r.Label})
				forbidden(m, rw, req, nil, &config.Failure{Rule: r.Label, Requirement: ruleOption(r) + ".action", Reason: "this rule denies every request it matches"})
				return handled
			}
			m.log.Info(logging.EventAccessWouldDeny, "would deny: the rule denies every request it matches (report mode)", logging.Fields{"method": req.Method, "path": m.log.ID(req.URL.Path), "rule": r.Label})
			i = matchRule(m.rules, req, i+1)
		default:
			if r.Preflight && isPreflight(req) {
				forwardExcluded(m, rw, req)
				return handled
			}
			return i
		}
	}
	return i
}

// ruleOption is the option path of a rule: rules[2], or authorization.
func ruleOption(r *config.Rule) string {
	if r.Index < 0 {
		return "authorization"
	}
	return "rules[" + strconv.Itoa(r.Index) + "]"
}

// isPreflight reports whether req is a CORS preflight (Fetch standard, CORS
// protocol): OPTIONS with Origin and Access-Control-Request-Method. Browsers never
// send credentials with one.
func isPreflight(req *http.Request) bool {
	return req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "" && req.Header.Get("Origin") != ""
}

// evaluateRules fills p.until and p.why for every rule of m (p.Allowed and
// DenyReason for the default rule), from the principal's identity and claims.
func evaluateRules(m *Middleware, p *principal, claims map[string]any) {
	rules := m.rules
	p.until = make([]int64, len(rules))
	p.why = make([]*config.Failure, len(rules))
	leeway := int64(m.opts.Provider.ClockSkew / time.Second)
	for i, r := range rules {
		if p.User == "" {
			p.why[i] = config.NoIdentifier
			continue
		}
		if r.Action != config.ActionAuthenticate || r.Index == setRuleIndex {
			continue // the placeholder of ambiguous paths stays unsatisfied: refusal decides
		}
		q := &r.Require
		if f := unmet(q, p, claims); f != nil {
			p.why[i] = f
			continue
		}
		if len(q.ACR) > 0 && indexOf(q.ACR, p.ACR) < 0 {
			p.why[i] = q.ACRFailure
			continue
		}
		if q.MaxAuthAge > 0 {
			if p.AuthTime > 0 {
				p.until[i] = p.AuthTime + q.MaxAuthAgeSeconds + leeway
			} else {
				p.why[i] = q.AuthAgeFailure
			}
			continue
		}
		p.until[i] = forever
	}
	p.Allowed = p.until[0] == forever
	if f := p.why[0]; f != nil {
		p.DenyReason = f.Reason
	}
}

// unmet returns the first requirement of q (other than acr and auth age) that p
// does not satisfy, or nil: users or domains (either matches), then groups (any),
// roles (any), every allOf condition, one anyOf condition.
func unmet(q *config.Requirements, p *principal, claims map[string]any) *config.Failure {
	if len(q.Users) > 0 || len(q.Domains) > 0 {
		// p.Email is set only when trusted (identity.go); entries are folded by
		// config.Compile the same way.
		user, email := matchKey(p.User), config.FoldEmail(p.Email)
		ok := indexOf(q.Users, user) >= 0 || email != "" && indexOf(q.Users, email) >= 0
		if !ok && email != "" {
			ok = indexOf(q.Domains, email[strings.LastIndexByte(email, '@')+1:]) >= 0
		}
		if !ok {
			if email == "" && len(q.Domains) > 0 {
				return q.NoEmailFailure
			}
			return q.UsersFailure
		}
	}
	if len(q.Roles) > 0 && !intersects(q.Roles, p.Roles) {
		return q.RolesFailure
	}
	if len(q.Groups) > 0 && !intersects(q.Groups, p.Groups) {
		return q.GroupsFailure
	}
	for _, c := range q.AllOf {
		if !conditionHolds(c, claims) {
			return c.Failure
		}
	}
	if len(q.AnyOf) > 0 {
		for _, c := range q.AnyOf {
			if conditionHolds(c, claims) {
				return nil
			}
		}
		return q.AnyOfFailure
	}
	return nil
}

// conditionHolds evaluates one claim condition. A claim is found by its whole name
// first, then as a dotted path (claimValue); JSON null counts as absent. Numbers and
// booleans compare by their JSON text ("1", "true").
func conditionHolds(c *config.Condition, claims map[string]any) bool {
	v, ok := claimValue(claims, c.Claim)
	if !ok || v == nil {
		return c.Op == config.OpExists && !c.Exists
	}
	if c.Op == config.OpExists {
		return c.Exists
	}
	list, isList := v.([]any)
	if !isList {
		s, scalar := headertpl.ScalarText(v)
		if !scalar {
			return false
		}
		switch c.Op {
		case config.OpEquals, config.OpContains:
			return s == c.Value
		case config.OpIn:
			return indexOf(c.Values, s) >= 0
		case config.OpMatches:
			return c.Regexp.MatchString(s)
		}
		return false
	}
	if c.Op == config.OpEquals {
		return false // a list is not a single value
	}
	for _, e := range list {
		s, scalar := headertpl.ScalarText(e)
		if !scalar {
			continue
		}
		if c.Op == config.OpContains && s == c.Value || c.Op == config.OpIn && indexOf(c.Values, s) >= 0 ||
			c.Op == config.OpMatches && c.Regexp.MatchString(s) {
			return true
		}
	}
	return false
}

func indexOf(list []string, v string) int {
	for i, s := range list {
		if s == v {
			return i
		}
	}
	return -1
}

// refusal returns why p may not pass the rule of req at index rule (for an
// ambiguous path, every rule of ambiguousRules' set) at now, and the index of the
// rule that refuses; nil when it may pass.
func refusal(m *Middleware, p *principal, req *http.Request, rule int, now int64) (*config.Failure, int) {
	if rule != m.setRule {
		return refusalOf(m, p, rule, now), rule
	}
	_, mask := ambiguousRules(m.rules, req)
	for i := 1; i < m.setRule; i++ {
		if mask&(uint64(1)<<uint(i)) != 0 {
			if f := refusalOf(m, p, i, now); f != nil {
				return f, i
			}
		}
	}
	return refusalOf(m, p, 0, now), 0
}

func refusalOf(m *Middleware, p *principal, i int, now int64) *config.Failure {
	if now < p.until[i] {
		return nil
	}
	if f := p.why[i]; f != nil {
		return f
	}
	return m.rules[i].Require.AuthAgeFailure
}

// policyAllows decides whether an authenticated principal may pass the rule the
// request matched (forwardAuthorized asks it when the default verdict does not
// settle it). It answers the request itself and returns false when not: 403 with
// the rule and requirement that failed, or, for a sign-in that is too old or at
// another acr, a step-up. A rule in report mode logs what it would deny and returns
// true; an unusable identity is refused whatever the mode.
func policyAllows(m *Middleware, rw http.ResponseWriter, req *http.Request, p *principal, rule int) bool {
	f, i := refusal(m, p, req, rule, time.Now().Unix())
	if f == nil {
		return true
	}
	r := m.rules[i]
	if r.Report && f != config.NoIdentifier {
		m.log.Info(logging.EventAccessWouldDeny, "would deny (report mode)", logging.Fields{"source": p.Source, "user": m.log.ID(p.User),
			"rule": f.Rule, "requirement": f.Requirement, "reason": f.Reason})
		return true
	}
	m.log.Info(logging.EventAccessDenied, "denied by the authorization rules", logging.Fields{"source": p.Source, "user": m.log.ID(p.User),
		"rule": f.Rule, "requirement": f.Requirement, "reason": f.Reason})
	if f.StepUp {
		stepUp(m, rw, req, p, r, f)
		return false
	}
	forbidden(m, rw, req, p, f)
	return false
}

// stepUp answers a principal whose sign-in is too old or at another acr for rule r:
// a browser navigation goes back to the provider (max_age, acr_values, prompt=login
// when the sign-in is too old) and returns to the same page; other requests get 401
// with a login_url that does the same; a bearer token gets RFC 9470's
// insufficient_user_authentication challenge.
func stepUp(m *Middleware, rw http.ResponseWriter, req *http.Request, p *principal, r *config.Rule, f *config.Failure) {
	q := &r.Require
	if p.Source == "bearer" {
		h := rw.Header()
		m.ownHeaders(h)
		v := bearerChallenge("insufficient_user_authentication", "a more recent or stronger sign-in is required", "")
		if len(q.ACR) > 0 {
			v += `, acr_values="` + strings.Join(q.ACR, " ") + `"`
		}
		if q.MaxAuthAge > 0 {
			v += `, max_age="` + strconv.FormatInt(q.MaxAuthAgeSeconds, 10) + `"`
		}
		h.Set("WWW-Authenticate", v)
		writeJSONError(rw, http.StatusUnauthorized, "insufficient_user_authentication", f, "")
		return
	}
	if !isNavigation(req) {
		unauthorized(m, rw, req, r, "insufficient_user_authentication", f)
		return
	}
	startLogin(m, rw, req, r, f == q.AuthAgeFailure)
}

// writeJSONError writes an OAuth-style JSON error body: error, error_description,
// the rule and requirement that decided (f, when set), and login_url (when set).
func writeJSONError(rw http.ResponseWriter, status int, code string, f *config.Failure, loginURL string) {
	body := map[string]string{"error": code, "error_description": errorDescription(code)}
	if f != nil {
		body["rule"] = f.Rule
		body["requirement"] = f.Requirement
		body["reason"] = f.Reason
	}
	if loginURL != "" {
		body["login_url"] = loginURL
	}
	b, _ := json.Marshal(body)
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_, _ = rw.Write(append(b, '\n'))
}

func errorDescription(code string) string {
	switch code {
	case "unauthorized":
		return "authentication required"
	case "insufficient_user_authentication":
		return "a more recent or stronger sign-in is required"
	}
	return "authenticated, but not allowed by this route's rules"
}
