package config

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe"
)

// The policy model (docs/POLICIES.md): an ordered list of rules, each matching
// requests by path, method, host and header presence, and saying allow (anonymous),
// deny, or authenticate with requirements; the first rule that matches decides. The
// instance-level authorization options are the default rule, which decides the
// requests no rule matches. Everything here is compiled once, in Compile: regular
// expressions, method and host sets, the explanation of every requirement.

// RuleConfig is one entry of rules, as operators write it.
type RuleConfig struct {
	// Name is an optional label shown in logs and denial explanations.
	Name string
	// Path is a canonical path prefix (/api/ or /api, as for excludedURLs);
	// PathExact a canonical path; PathRegexp an RE2 expression the whole canonical
	// path must match. At most one of the three; none matches every path.
	Path       string
	PathExact  string
	PathRegexp string
	// Methods the rule applies to (GET, POST, ...); empty: every method.
	Methods []string
	// Hosts the rule applies to: exact names, or *.example.com for its subdomains;
	// empty: every host.
	Hosts []string
	// Headers must all be present in the request for the rule to apply.
	Headers []string
	// Action is authenticate (default), allow (no authentication, like an
	// exclusion) or deny.
	Action string
	// Mode is enforce (default) or report (log what the rule would deny, let the
	// request through).
	Mode string
	// Preflight allow lets CORS preflights (OPTIONS with
	// Access-Control-Request-Method) this rule matches reach the backend without
	// authentication; off by default.
	Preflight string
	// Require is what an authenticated principal must satisfy (action authenticate).
	Require RequireConfig
	Unknown map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// RequireConfig is what a rule requires of a signed-in principal. Every part given
// must hold.
type RequireConfig struct {
	// Users and Domains: the user or the verified email's domain is one of them
	// (either list matching is enough), as authorization.allowedUsers and
	// allowedDomains.
	Users   []string
	Domains []string
	// Groups and Roles: at least one of each list given.
	Groups []string
	Roles  []string
	// AllOf: every condition holds. AnyOf: at least one holds.
	AllOf []ClaimConfig
	AnyOf []ClaimConfig
	// MaxAuthAge: the user signed in at the provider no longer ago than this
	// (auth_time); an older session is sent back to the provider (step-up).
	MaxAuthAge string
	// ACR: the session's authentication context class (acr) is one of these; a
	// session at another level is sent back to the provider with acr_values.
	ACR     []string
	Unknown map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// ClaimConfig is one condition on a claim. Exactly one of Equals, In, Contains,
// Matches and Exists is given.
type ClaimConfig struct {
	// Claim is the claim's name, or a dotted path into nested objects
	// (realm_access.roles); a claim whose whole name contains dots
	// (https://example.com/roles) is found first.
	Claim string
	// Equals: the claim is a single value equal to this.
	Equals string
	// In: the claim is a single value in this list, or a list with an element in it.
	In []string
	// Contains: the claim is a list holding this value (or the value itself).
	Contains string
	// Matches: the claim (or an element of a list) matches this RE2 expression as a
	// whole.
	Matches string
	// Exists: true, the claim is present; false, it is absent.
	Exists  string
	Unknown map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// Rule actions.
const (
	ActionAuthenticate = 0
	ActionAllow        = 1
	ActionDeny         = 2
)

// MaxRules bounds rules: the middleware keeps a rule set as bits of a uint64.
const MaxRules = 62

// PolicyOptions is the compiled policy. Rules[0] is the default rule (the
// instance-level authorization options); Rules[i] for i > 0 is rules[i-1] of the
// configuration. With no rules configured, Rules holds the default rule only.
type PolicyOptions struct {
	Rules []*Rule
	// ClaimNames are the top-level claims the rules' conditions read: a browser
	// session keeps them (docs/POLICIES.md). ClaimSet is them joined, recorded in
	// sessions so that a session signed in before the rules changed is renewed.
	ClaimNames []string
	ClaimSet   string
	// StepUp: some rule has maxAuthAge or acr.
	StepUp bool
	// AuthenticateWithoutRequirements names the authenticate rules that require
	// nothing while the default rule does (logged as a warning at start).
	AuthenticateWithoutRequirements []string
	// Matcher finds the first rule that matches a request with one call into the
	// compiled regexp engine (matchers.go); nil without rules.
	Matcher *Matcher
}

// Rule is one compiled rule.
type Rule struct {
	// Label names the rule in logs and explanations: rules[2] "admin", or the
	// default rule.
	Label string
	// Index is the rule's position in rules (-1 for the default rule).
	Index int
	// Path matching: PathKind is one of the Path* constants.
	PathKind   int
	PathPrefix string
	PathExact  string
	PathRegexp *regexp.Regexp
	PathSource string // the pathRegexp as written
	// Methods is " GET POST " (each method between spaces); "" matches every method.
	Methods string
	// Hosts are lower-case names; HostSuffixes ".example.com" for *.example.com.
	Hosts        []string
	HostSuffixes []string
	// Headers are canonical header names that must be present.
	Headers []string
	Action  int
	Report  bool
	// Preflight: CORS preflights this rule matches go to the backend unauthenticated.
	Preflight bool
	Require   Requirements
}

// Path match kinds.
const (
	PathAny    = 0
	PathPrefix = 1
	PathExact  = 2
	PathRegexp = 3
)

// Requirements is a compiled require block (or the default rule's authorization).
type Requirements struct {
	Users   []string // exact, or folded emails
	Domains []string // folded
	Groups  []string
	Roles   []string
	AllOf   []*Condition
	AnyOf   []*Condition
	// MaxAuthAge > 0: auth_time no older (MaxAuthAgeSeconds, for the wire).
	MaxAuthAge        time.Duration
	MaxAuthAgeSeconds int64
	ACR               []string
	// Failures explain each requirement that can fail; every pointer is built once.
	UsersFailure, NoEmailFailure, GroupsFailure, RolesFailure, AnyOfFailure, ACRFailure, AuthAgeFailure *Failure
	// Empty: nothing beyond a usable identity is required.
	Empty bool
}

// Condition is one compiled claim condition.
type Condition struct {
	Claim   string
	Op      int
	Value   string
	Values  []string
	Regexp  *regexp.Regexp
	Exists  bool
	Failure *Failure
}

// Condition operators.
const (
	OpEquals   = 1
	OpIn       = 2
	OpContains = 3
	OpMatches  = 4
	OpExists   = 5
)

// Failure explains one unmet requirement to the operator and the user: the rule,
// the option that failed and why, never a claim value or a configured value (a
// list of allowed users names other people).
type Failure struct {
	Rule        string // the rule's label
	Requirement string // the option: rules[2].require.groups, authorization.allowedGroups
	Reason      string // "no allowed group", "claim tid does not equal the required value"
	// StepUp: signing in again (more recently, or at another acr) can satisfy it.
	StepUp bool
}

// NoIdentifier is the failure of a principal without a usable user identifier,
// whatever the rules (internal/auth's identity rules).
var NoIdentifier = &Failure{Rule: "every rule", Requirement: "provider.userClaim", Reason: "no usable user identifier"}

func (c *checker) policy(cfg *Config, o *Options) {
	a := &cfg.Authorization
	p := &o.Policy
	def := &Rule{Label: "the default rule", Index: -1}
	def.Require = Requirements{Users: o.Authorization.AllowedUsers, Domains: o.Authorization.AllowedDomains,
		Groups: o.Authorization.AllowedGroups, Roles: o.Authorization.AllowedRoles}
	explain(def, &def.Require, "authorization.allowedUsers", "authorization.allowedDomains", "authorization.allowedGroups", "authorization.allowedRoles", "authorization")
	mode := strings.ToLower(strings.TrimSpace(a.Mode))
	report := c.oneOf("authorization.mode", mode, "enforce", "enforce", "report") == "report"
	def.Report = report
	p.Rules = append(p.Rules, def)
	if len(cfg.Rules) > MaxRules {
		c.fail("rules", "at most "+strconv.Itoa(MaxRules)+" rules, got "+strconv.Itoa(len(cfg.Rules)))
		return
	}
	names := map[string]bool{}
	for i := range cfg.Rules {
		r := c.rule(&cfg.Rules[i], i, names)
		if r == nil {
			continue
		}
		if report {
			r.Report = true
		}
		if r.Action == ActionAuthenticate && r.Require.Empty && !def.Require.Empty {
			p.AuthenticateWithoutRequirements = append(p.AuthenticateWithoutRequirements, r.Label)
		}
		if r.Require.MaxAuthAge > 0 || len(r.Require.ACR) > 0 {
			p.StepUp = true
		}
		p.Rules = append(p.Rules, r)
	}
	if len(p.Rules) > 1 {
		p.Matcher = newMatcher(p.Rules[1:])
	}
	claims := map[string]bool{}
	for _, r := range p.Rules {
		for _, list := range [][]*Condition{r.Require.AllOf, r.Require.AnyOf} {
			for _, cond := range list {
				claims[cond.Claim] = true
				if i := strings.IndexByte(cond.Claim, '.'); i > 0 {
					claims[cond.Claim[:i]] = true
				}
			}
		}
	}
	for n := range claims {
		p.ClaimNames = append(p.ClaimNames, n)
	}
	sort.Strings(p.ClaimNames)
	p.ClaimSet = strings.Join(p.ClaimNames, " ")
}

// rule compiles rules[i], or returns nil having reported why it cannot.
func (c *checker) rule(in *RuleConfig, i int, names map[string]bool) *Rule {
	opt := "rules[" + strconv.Itoa(i) + "]"
	before := len(c.problems)
	r := &Rule{Index: i, Label: opt}
	if name := strings.TrimSpace(in.Name); name != "" {
		if !printable(name) || len(name) > 64 || strings.ContainsAny(name, `"<>&`) {
			c.fail(opt+".name", "must be printable text of at most 64 characters without quotes or < > &, got "+strconv.Quote(in.Name))
		} else if names[name] {
			c.fail(opt+".name", strconv.Quote(name)+" names another rule too")
		} else {
			names[name] = true
			r.Label = opt + " " + strconv.Quote(name)
		}
	}
	c.rulePath(in, r, opt)
	for _, m := range c.plainList(opt+".methods", in.Methods) {
		u := strings.ToUpper(m)
		if !isToken(u) {
			c.fail(opt+".methods", "entries must be HTTP methods such as GET or POST, got "+strconv.Quote(m))
			continue
		}
		if r.Methods == "" {
			r.Methods = " "
		}
		if !strings.Contains(r.Methods, " "+u+" ") {
			r.Methods += u + " "
		}
	}
	for _, h := range c.plainList(opt+".hosts", in.Hosts) {
		h = strings.ToLower(h)
		if strings.HasPrefix(h, "*.") && isHostname(h[2:]) {
			r.HostSuffixes = append(r.HostSuffixes, h[1:])
		} else if isHostname(h) {
			r.Hosts = append(r.Hosts, h)
		} else {
			c.fail(opt+".hosts", "entries must be host names such as app.example.com or *.example.com (no port), got "+strconv.Quote(h))
		}
	}
	for _, h := range c.plainList(opt+".headers", in.Headers) {
		if !isToken(h) {
			c.fail(opt+".headers", "entries must be header names, got "+strconv.Quote(h))
			continue
		}
		r.Headers = append(r.Headers, http.CanonicalHeaderKey(h))
	}
	switch strings.ToLower(strings.TrimSpace(in.Action)) {
	case "", "authenticate":
		r.Action = ActionAuthenticate
	case "allow":
		r.Action = ActionAllow
	case "deny":
		r.Action = ActionDeny
	default:
		c.fail(opt+".action", "must be authenticate, allow or deny, got "+strconv.Quote(in.Action))
	}
	r.Report = c.oneOf(opt+".mode", strings.ToLower(strings.TrimSpace(in.Mode)), "enforce", "enforce", "report") == "report"
	r.Preflight = c.oneOf(opt+".preflight", strings.ToLower(strings.TrimSpace(in.Preflight)), "off", "off", "allow") == "allow"
	c.requirements(&in.Require, &r.Require, opt+".require")
	explain(r, &r.Require, opt+".require.users", opt+".require.domains", opt+".require.groups", opt+".require.roles", opt+".require")
	if r.Action != ActionAuthenticate {
		if !r.Require.Empty || r.Require.MaxAuthAge > 0 || len(r.Require.ACR) > 0 {
			c.fail(opt+".require", "applies to authenticate rules only: an allow or deny rule decides without looking at who is signed in")
		}
		if r.Preflight {
			c.fail(opt+".preflight", "applies to authenticate rules only (an allow rule lets preflights through already)")
		}
	}
	if r.Action == ActionAllow {
		if r.Report {
			c.fail(opt+".mode", "report applies to deny and authenticate rules: an allow rule denies nothing")
		}
		if r.PathKind == PathPrefix && r.PathPrefix == "/" || r.PathKind == PathRegexp && r.PathRegexp.MatchString("/") && r.PathRegexp.MatchString("/admin") {
			c.fail(opt+".path", "an allow rule for every path would leave everything open; remove the middleware from the router instead")
		}
	}
	if len(c.problems) > before {
		return nil
	}
	return r
}

// rulePath compiles path, pathExact or pathRegexp.
func (c *checker) rulePath(in *RuleConfig, r *Rule, opt string) {
	given := 0
	if p := strings.TrimSpace(in.Path); p != "" {
		given++
		if !reqsafe.ValidPrefix(p) {
			c.fail(opt+".path", "must be a canonical path prefix starting with /, such as /api/ or /admin "+
				"(printable ASCII; no ;, \\, %, ?, #, //, . or .. segments), got "+strconv.Quote(p))
		}
		r.PathKind = PathPrefix
		r.PathPrefix = p
	}
	if p := strings.TrimSpace(in.PathExact); p != "" {
		given++
		if !reqsafe.ValidPrefix(p) {
			c.fail(opt+".pathExact", "must be a canonical path starting with /, such as /login, got "+strconv.Quote(p))
		}
		r.PathKind = PathExact
		r.PathExact = p
	}
	if p := strings.TrimSpace(in.PathRegexp); p != "" {
		given++
		re, err := regexp.Compile(`^(?:` + p + `)$`)
		if err != nil {
			c.fail(opt+".pathRegexp", "must be an RE2 regular expression matched against the whole path, such as /api/v[0-9]+/.*: "+err.Error())
		} else if !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "^/") && !strings.HasPrefix(p, "(") {
			c.fail(opt+".pathRegexp", "must start with / (it is matched against the whole path, which starts with /), got "+strconv.Quote(p))
		} else {
			r.PathKind = PathRegexp
			r.PathRegexp = re
			r.PathSource = p
		}
	}
	if given > 1 {
		c.fail(opt+".path", "give at most one of path, pathExact and pathRegexp")
	}
}

// requirements compiles a require block.
func (c *checker) requirements(in *RequireConfig, out *Requirements, opt string) {
	out.Users = c.users(opt+".users", in.Users)
	out.Domains = c.domains(opt+".domains", in.Domains)
	out.Groups = c.names(opt+".groups", "group", in.Groups)
	out.Roles = c.names(opt+".roles", "role", in.Roles)
	for i := range in.AllOf {
		if cond := c.condition(&in.AllOf[i], opt+".allOf["+strconv.Itoa(i)+"]"); cond != nil {
			out.AllOf = append(out.AllOf, cond)
		}
	}
	for i := range in.AnyOf {
		if cond := c.condition(&in.AnyOf[i], opt+".anyOf["+strconv.Itoa(i)+"]"); cond != nil {
			out.AnyOf = append(out.AnyOf, cond)
		}
	}
	if strings.TrimSpace(in.MaxAuthAge) != "" {
		out.MaxAuthAge = c.duration(opt+".maxAuthAge", in.MaxAuthAge, time.Minute, 30*24*time.Hour)
		out.MaxAuthAgeSeconds = int64(out.MaxAuthAge / time.Second)
	}
	for _, v := range c.plainList(opt+".acr", in.ACR) {
		if !isScopeToken(v) {
			c.fail(opt+".acr", "entries must be acr values without spaces or quotes (they are sent space-separated in acr_values), got "+strconv.Quote(v))
			continue
		}
		out.ACR = append(out.ACR, v)
	}
}

// condition compiles one claim condition.
func (c *checker) condition(in *ClaimConfig, opt string) *Condition {
	before := len(c.problems)
	cond := &Condition{Claim: c.claimName(opt+".claim", in.Claim)}
	ops := 0
	what := ""
	if in.Equals != "" {
		ops++
		cond.Op = OpEquals
		cond.Value = in.Equals
		what = "does not equal the required value"
	}
	if len(in.In) > 0 {
		ops++
		cond.Op = OpIn
		cond.Values = c.plainList(opt+".in", in.In)
		what = "holds none of the listed values"
	}
	if in.Contains != "" {
		ops++
		cond.Op = OpContains
		cond.Value = in.Contains
		what = "does not contain the required value"
	}
	if in.Matches != "" {
		ops++
		re, err := regexp.Compile(`^(?:` + in.Matches + `)$`)
		if err != nil {
			c.fail(opt+".matches", "must be an RE2 regular expression (matched against the whole value): "+err.Error())
		}
		cond.Op = OpMatches
		cond.Regexp = re
		what = "does not match the required pattern"
	}
	if v := strings.ToLower(strings.TrimSpace(in.Exists)); v != "" {
		ops++
		cond.Op = OpExists
		switch v {
		case "true", "1", "yes":
			cond.Exists = true
			what = "is absent"
		case "false", "0", "no":
			what = "is present, and must not be"
		default:
			c.fail(opt+".exists", "must be true or false, got "+strconv.Quote(in.Exists))
		}
	}
	if ops != 1 {
		c.fail(opt, "give exactly one of equals, in, contains, matches and exists")
	}
	if len(c.problems) > before {
		return nil
	}
	cond.Failure = &Failure{Requirement: opt, Reason: "claim " + cond.Claim + " " + what}
	return cond
}

// explain builds the failure of every requirement of r once, and sets Empty.
func explain(r *Rule, q *Requirements, users, domains, groups, roles, block string) {
	usersOpt := users
	if len(q.Users) == 0 {
		usersOpt = domains
	} else if len(q.Domains) > 0 {
		usersOpt = users + " and " + domains[strings.LastIndexByte(domains, '.')+1:]
	}
	q.UsersFailure = &Failure{Rule: r.Label, Requirement: usersOpt, Reason: "user or email domain not allowed"}
	q.NoEmailFailure = &Failure{Rule: r.Label, Requirement: usersOpt, Reason: "no verified email"}
	q.GroupsFailure = &Failure{Rule: r.Label, Requirement: groups, Reason: "no allowed group"}
	q.RolesFailure = &Failure{Rule: r.Label, Requirement: roles, Reason: "no allowed role"}
	q.AnyOfFailure = &Failure{Rule: r.Label, Requirement: block + ".anyOf", Reason: "none of the conditions holds"}
	q.ACRFailure = &Failure{Rule: r.Label, Requirement: block + ".acr", Reason: "the sign-in is not at a required authentication level (acr)", StepUp: true}
	q.AuthAgeFailure = &Failure{Rule: r.Label, Requirement: block + ".maxAuthAge", Reason: "the sign-in is older than the rule allows", StepUp: true}
	for _, list := range [][]*Condition{q.AllOf, q.AnyOf} {
		for _, cond := range list {
			cond.Failure.Rule = r.Label
		}
	}
	q.Empty = len(q.Users) == 0 && len(q.Domains) == 0 && len(q.Groups) == 0 && len(q.Roles) == 0 && len(q.AllOf) == 0 && len(q.AnyOf) == 0
}

// users checks user entries (allowedUsers, require.users): identifiers compared
// exactly, email addresses ignoring ASCII case.
func (c *checker) users(option string, in []string) []string {
	var out []string
	for _, u := range c.plainList(option, in) {
		if problem := IdentifierProblem(u); problem != "" {
			c.fail(option, "entries must be user identifiers or email addresses; "+strconv.Quote(u)+" "+problem)
			continue
		}
		if strings.IndexByte(u, '@') >= 0 {
			if !IsEmail(u) {
				c.fail(option, "an entry with @ must be an email address such as alice@example.com, got "+strconv.Quote(u))
				continue
			}
			u = FoldEmail(u)
		}
		out = append(out, u)
	}
	return out
}

// domains checks email-domain entries (allowedDomains, require.domains).
func (c *checker) domains(option string, in []string) []string {
	var out []string
	for _, d := range c.plainList(option, in) {
		d = strings.TrimPrefix(d, "@")
		if !isHostname(d) {
			c.fail(option, "must be ASCII domain names such as example.com (internationalised domains in their xn-- form), got "+strconv.Quote(d))
			continue
		}
		out = append(out, FoldEmail(d))
	}
	return out
}
