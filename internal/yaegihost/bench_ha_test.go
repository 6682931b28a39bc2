package yaegihost

import (
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/cache/redis"
	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// BenchmarkYaegiSlot: the hash slot of keys shaped like the store's (a Shared key,
// prefix + name + ":" + 64 hex digits, hashed whole; a Revocation key in cluster
// mode, whose {gh} tag alone is hashed), interpreted. Subtract
// BenchmarkYaegiEmptyLoop for the slot alone. Compiled: BenchmarkSlot.
func BenchmarkYaegiSlot(b *testing.B) {
	for name, key := range map[string]string{
		"shared-key":     "gatehouse:tokver:" + hex64,
		"revocation-key": "gatehouse:{gh}revoked:" + hex64,
	} {
		key := key
		b.Run(name, func(b *testing.B) {
			f := yfunc(b, "SlotLoop")
			b.ResetTimer()
			if got := call(f, []string{key}, b.N)[0].Int(); got != int64(redis.Slot(key)*b.N) {
				b.Fatal("slot differs from the compiled one")
			}
		})
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// BenchmarkYaegiClusterDo: one GET at a time, interpreted, through a ClusterClient
// (a one-node cluster: routing, no redirection) and through a plain Client on the
// same node; the difference is what routing costs per command.
func BenchmarkYaegiClusterDo(b *testing.B) {
	cl := redistest.StartCluster(b, redistest.ClusterOptions{Primaries: 1})
	f := yfunc(b, "GetLoop")
	key := "gatehouse:tokver:" + hex64
	b.Run("cluster", func(b *testing.B) {
		b.ResetTimer()
		if e := call(f, cl.Seeds(), "", key, b.N)[0].String(); e != "" {
			b.Fatal(e)
		}
	})
	b.Run("single", func(b *testing.B) {
		b.ResetTimer()
		if e := call(f, []string(nil), cl.Nodes[0].Addr(), key, b.N)[0].String(); e != "" {
			b.Fatal(e)
		}
	})
}
