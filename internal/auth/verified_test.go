package auth

import (
	"strconv"
	"testing"
)

func TestVerifiedCacheIsBounded(t *testing.T) {
	c := newVerifiedCache(1000)
	for i := 0; i < 50000; i++ {
		storeVerified(c, strconv.Itoa(i), &verified{})
	}
	if len(c.entries) > 1000 {
		t.Fatalf("%d entries", len(c.entries))
	}
	storeVerified(c, "k", &verified{until: 7})
	if v := lookupVerified(c, "k"); v == nil || v.until != 7 {
		t.Fatal("lookup after store")
	}
	forgetVerified(c, "k")
	if lookupVerified(c, "k") != nil {
		t.Fatal("forgotten entry still there")
	}
}
