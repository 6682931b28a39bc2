package redis

import (
	"errors"
	"net"
	"strconv"
	"strings"
)

// slotRange is a range of hash slots and the primary that serves it.
type slotRange struct {
	start, end int
	addr       string // the primary's host:port
}

// parseShards reads CLUSTER SHARDS (Redis 7): one entry per shard, a map (RESP3) or
// a flat array of names and values (RESP2):
//
//	slots: [start, end, start, end, ...]
//	nodes: [{id, port, tls-port, ip, endpoint, hostname, role, replication-offset, health}, ...]
//
// The primary is the node whose role is "master" (an "online" one when there are
// several). Its address is its endpoint (the preferred one; "?" means unknown), else
// its ip, else asked (the host of the node that answered); its port is tls-port when
// useTLS and set, else port. Shards without slots or without a primary are left out.
func parseShards(v Value, useTLS bool, asked string) ([]slotRange, error) {
	if v.Type != TypeArray && v.Type != TypeSet {
		return nil, topoErr("CLUSTER SHARDS: a list of shards", v)
	}
	var out []slotRange
	for _, shard := range v.Elems {
		slots, ok := field(shard, "slots")
		if !ok || slots.Type != TypeArray || len(slots.Elems)%2 != 0 {
			return nil, topoErr("CLUSTER SHARDS: slots as start/end pairs", shard)
		}
		nodes, ok := field(shard, "nodes")
		if !ok || nodes.Type != TypeArray {
			return nil, topoErr("CLUSTER SHARDS: a list of nodes", shard)
		}
		var primary Value
		found := false
		for _, n := range nodes.Elems {
			role, _ := field(n, "role")
			if string(role.Str) != "master" {
				continue
			}
			health, _ := field(n, "health")
			if !found || string(health.Str) == "online" {
				primary = n
				found = true
			}
		}
		if !found || len(slots.Elems) == 0 {
			continue
		}
		addr, err := shardNodeAddr(primary, useTLS, asked)
		if err != nil {
			return nil, err
		}
		for i := 0; i < len(slots.Elems); i += 2 {
			r, err := slotPair(slots.Elems[i], slots.Elems[i+1])
			if err != nil {
				return nil, err
			}
			r.addr = addr
			out = append(out, r)
		}
	}
	return out, nil
}

// shardNodeAddr is the address of a CLUSTER SHARDS node entry.
func shardNodeAddr(n Value, useTLS bool, asked string) (string, error) {
	host := ""
	if e, ok := field(n, "endpoint"); ok && len(e.Str) > 0 && string(e.Str) != "?" {
		host = string(e.Str)
	} else if ip, ok := field(n, "ip"); ok && len(ip.Str) > 0 && string(ip.Str) != "?" {
		host = string(ip.Str)
	}
	port, hasPort := field(n, "port")
	tlsPort, hasTLS := field(n, "tls-port")
	p, _ := intOf(port)
	tp, _ := intOf(tlsPort)
	switch {
	case useTLS && hasTLS && tp > 0:
		port = tlsPort
	case hasPort && p > 0:
	case hasTLS && tp > 0:
		port = tlsPort
	}
	return hostPort(host, port, asked)
}

// parseSlots reads CLUSTER SLOTS (the fallback for servers without CLUSTER SHARDS):
//
//	[[start, end, [host, port, id, {meta}], [replica host, port, id, {meta}], ...], ...]
//
// The first node of an entry is the primary. An empty host means the node that
// answered (asked); "?" (unknown endpoint) leaves the range out.
func parseSlots(v Value, asked string) ([]slotRange, error) {
	if v.Type != TypeArray && v.Type != TypeSet {
		return nil, topoErr("CLUSTER SLOTS: a list of slot ranges", v)
	}
	var out []slotRange
	for _, e := range v.Elems {
		if e.Type != TypeArray || len(e.Elems) < 3 || e.Elems[2].Type != TypeArray || len(e.Elems[2].Elems) < 2 {
			return nil, topoErr("CLUSTER SLOTS: [start, end, [host, port, ...], ...]", e)
		}
		r, err := slotPair(e.Elems[0], e.Elems[1])
		if err != nil {
			return nil, err
		}
		node := e.Elems[2]
		if string(node.Elems[0].Str) == "?" {
			continue
		}
		if r.addr, err = hostPort(string(node.Elems[0].Str), node.Elems[1], asked); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// slotPair checks a start/end pair of slots.
func slotPair(a, b Value) (slotRange, error) {
	start, ok1 := intOf(a)
	end, ok2 := intOf(b)
	if !ok1 || !ok2 || start < 0 || end < start || end >= SlotCount {
		return slotRange{}, errors.New("redis: cluster: expected a slot range within 0-16383, got " +
			strconv.Quote(strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end, 10)))
	}
	return slotRange{start: int(start), end: int(end)}, nil
}

func topoErr(expected string, got Value) error {
	return errors.New("redis: cluster: expected " + expected + ", got a reply of type " + strconv.Quote(string([]byte{got.Type})))
}

// parseRedirect reads a MOVED or ASK error, "MOVED 3999 127.0.0.1:6381": the slot
// and the address to ask. An empty host (":6381", a node with an unknown endpoint)
// means the host of the node that answered (asked).
func parseRedirect(msg, asked string) (int, string, bool) {
	f := strings.Fields(msg)
	if len(f) != 3 || (f[0] != "MOVED" && f[0] != "ASK") {
		return 0, "", false
	}
	slot, err := strconv.Atoi(f[1])
	if err != nil || slot < 0 || slot >= SlotCount {
		return 0, "", false
	}
	host, port, err := net.SplitHostPort(f[2])
	if err != nil {
		return 0, "", false
	}
	addr, err := hostPort(host, Value{Type: TypeSimple, Str: []byte(port)}, asked)
	if err != nil {
		return 0, "", false
	}
	return slot, addr, true
}

// hostOf returns the host of a host:port address.
func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return h
}
