package cache

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache/redis"
	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// aclDocPassword replaces the placeholder password of the documented ACL rules.
const aclDocPassword = "acl-docs-secret"

// docACLRules returns the rules that docs/REDIS-HA.md gives for the data nodes' user
// (gatehouse) and the sentinels' user (gatehouse-sentinel), as ACL SETUSER arguments
// after the user name, the placeholder password replaced.
func docACLRules(t *testing.T) (data, sentinel []string) {
	t.Helper()
	b, err := os.ReadFile("../../docs/REDIS-HA.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[0] != "ACL" || f[1] != "SETUSER" {
			continue
		}
		rule := f[3:]
		for i, r := range rule {
			if r == ">CHANGE-ME" {
				rule[i] = ">" + aclDocPassword
			}
		}
		switch f[2] {
		case "gatehouse":
			data = rule
		case "gatehouse-sentinel":
			sentinel = rule
		}
	}
	if data == nil || sentinel == nil {
		t.Fatal("docs/REDIS-HA.md lacks the ACL SETUSER lines of gatehouse and gatehouse-sentinel")
	}
	return data, sentinel
}

// without returns rule minus the given entries.
func without(rule []string, drop ...string) []string {
	var out []string
	for _, r := range rule {
		keep := true
		for _, d := range drop {
			if r == d {
				keep = false
			}
		}
		if keep {
			out = append(out, r)
		}
	}
	return out
}

// exerciseAsACLUser runs what requests do (every class, on two replicas) and checks
// that tracking is live and an invalidation travels.
func exerciseAsACLUser(t *testing.T, rs []*store, tag string) {
	t.Helper()
	for _, s := range rs {
		if st := s.Stats(); st.Tracking != TrackingLive {
			t.Fatalf("tracking %s: %+v", st.Tracking, st)
		}
	}
	if _, found, err := rs[1].Get(bg, ksRevoked, tag); found || err != nil {
		t.Fatalf("before: %v %v", found, err)
	}
	if err := rs[0].Set(bg, ksRevoked, tag, []byte("1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, func() bool { _, f, _ := rs[1].Get(bg, ksRevoked, tag); return f })
	if err := rs[0].Set(bg, ksTokver, tag, []byte("claims"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if set, err := rs[0].SetNX(bg, ksLock, tag, []byte("me"), time.Second); !set || err != nil {
		t.Fatalf("SetNX: %v %v", set, err)
	}
	if err := rs[0].Delete(bg, ksLock, tag); err != nil {
		t.Fatal(err)
	}
	// Write-behind: the queue empties when the batch is taken, before Redis has
	// answered, so the other replica is asked until the write lands.
	eventually(t, 5*time.Second, func() bool { _, f, err := rs[1].Get(bg, ksTokver, tag); return f && err == nil })
	for _, s := range rs {
		if st := s.Stats(); st.Health != HealthHealthy || st.L2Errors != 0 || st.QueueDrops != 0 {
			t.Fatalf("after the requests: %+v", st)
		}
	}
}

// noACLDenials fails the test when a server's ACL LOG records a refusal.
func noACLDenials(t *testing.T, servers ...*redistest.Server) {
	t.Helper()
	for _, srv := range servers {
		if srv.Pid() == 0 {
			continue
		}
		if log, _ := srv.MustDo("ACL", "LOG").([]any); len(log) != 0 {
			t.Errorf("%s refused something: ACL LOG %v", srv.Addr(), log)
		}
	}
}

// TestDocumentedACLRulesAreEnough runs Gatehouse as the ACL users that
// docs/REDIS-HA.md proposes, against one server (RESP3 and RESP2), a Sentinel
// deployment (through a SENTINEL FAILOVER) and a Cluster (through an ASK redirection):
// every request-path operation works, tracking is live, and no server's ACL LOG
// records a refusal.
func TestDocumentedACLRulesAreEnough(t *testing.T) {
	data, sent := docACLRules(t)
	user := func(rule []string) string { return "gatehouse " + strings.Join(rule, " ") }
	acl := func(o *Options) {
		o.Redis.Username = "gatehouse"
		o.Redis.Password = aclDocPassword
	}

	t.Run("RESP3", func(t *testing.T) {
		srv := redistest.Start(t, redistest.Options{Users: []string{user(data)}})
		o := redisOptionsFor(srv, "hybrid", "gatehouse:")
		acl(&o)
		exerciseAsACLUser(t, haReplicas(t, o, 2), "resp3")
		noACLDenials(t, srv)
	})

	t.Run("RESP2", func(t *testing.T) {
		// A server without HELLO: +hello names no command there (and such a server
		// has no ACL unless HELLO was renamed away, as here).
		srv := redistest.Start(t, redistest.Options{RenameHello: true, Users: []string{user(without(data, "+hello"))}})
		o := redisOptionsFor(srv, "hybrid", "gatehouse:")
		acl(&o)
		rs := haReplicas(t, o, 2)
		exerciseAsACLUser(t, rs, "resp2")
		noACLDenials(t, srv)
	})

	t.Run("Sentinel", func(t *testing.T) {
		redistest.Slow(t, "the documented ACL through a Sentinel failover")
		set := redistest.StartSentinel(t, redistest.SentinelOptions{Password: "admin-secret", SentinelPassword: "sentinel-admin"})
		for _, n := range set.Nodes {
			n.MustDo(append([]string{"ACL", "SETUSER", "gatehouse"}, data...)...)
		}
		for _, sn := range set.Sentinels {
			sn.MustDo(append([]string{"ACL", "SETUSER", "gatehouse-sentinel"}, sent...)...)
		}
		o := haOptions("gatehouse:", set, nil)
		acl(&o)
		o.Redis.Sentinel.Username = "gatehouse-sentinel"
		o.Redis.Sentinel.Password = aclDocPassword
		rs := haReplicas(t, o, 2)
		exerciseAsACLUser(t, rs, "sentinel-before")
		// The watcher subscribed to +switch-master as its own user.
		eventually(t, 30*time.Second, func() bool {
			for _, sn := range set.Sentinels {
				for _, c := range sn.Clients() {
					if c["user"] == "gatehouse-sentinel" && c["sub"] == "1" {
						return true
					}
				}
			}
			return false
		})
		old := set.Primary()
		set.Failover()
		set.WaitNewPrimary(old, set.FailoverDeadline())
		waitAllHealthy(t, rs, time.Now(), set.FailoverDeadline())
		exerciseAsACLUser(t, rs, "sentinel-after")
		noACLDenials(t, append(append([]*redistest.Server{}, set.Nodes...), set.Sentinels...)...)
	})

	t.Run("Cluster", func(t *testing.T) {
		redistest.Slow(t, "the documented ACL on a Cluster through a slot migration")
		cl := redistest.StartCluster(t, redistest.ClusterOptions{Password: "admin-secret", Users: []string{user(data)}})
		o := haOptions("gatehouse:", nil, cl)
		acl(&o)
		rs := haReplicas(t, o, 2)
		exerciseAsACLUser(t, rs, "cluster")
		// A new revocation while its slot is being migrated: the source answers ASK,
		// and the client sends ASKING to the target.
		slot := redis.Slot("gatehouse:" + RevocationTag)
		from := cl.PrimaryOf(slot)
		var to *redistest.Server
		for _, n := range cl.Nodes {
			if n != from && n.Role() == "master" {
				to = n
				break
			}
		}
		cl.BeginMigration(slot, from, to)
		if err := rs[0].Set(bg, ksRevoked, "during-migration", []byte("1"), time.Hour); err != nil {
			t.Fatal(err)
		}
		if asked := rs[0].client.(*redis.ClusterClient).ClusterStats().Asked; asked == 0 {
			t.Fatal("no ASK redirection followed")
		}
		cl.MigrateKeys(slot, from, to, 1000)
		cl.FinishMigration(slot, from, to)
		if n := to.MustDo("EXISTS", revocationKey("gatehouse:", "during-migration", true)); n != int64(1) {
			t.Fatal("the revocation written during the migration is not on the target")
		}
		noACLDenials(t, cl.Nodes...)
	})
}
