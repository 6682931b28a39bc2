// Package redis is Gatehouse's own Redis client: standard library only, written to
// run correctly (and as fast as it can) under Yaegi. It owns the RESP2/RESP3 codec,
// connections and their handshake, multiplexing and pipelining, reconnection,
// redis:// URLs, server-assisted client-side caching (CLIENT TRACKING), and the two
// highly available deployments: a primary found through Redis Sentinel
// (NewSentinelClient) and Redis Cluster (NewClusterClient). It does not know what the
// cache stores: internal/cache decides keys, TTLs and policy, and codes against
// Backend, which Client and ClusterClient both implement.
//
// # Protocol
//
// A connection starts with HELLO 3 (with AUTH and SETNAME); a server that does not
// know HELLO (older than 6, or with HELLO renamed away) is spoken to in RESP2 after
// AUTH [user] password and CLIENT SETNAME; SELECT follows for a database other than
// 0. Every RESP3 type is decoded (Value.Type is the type byte): simple string, error,
// integer, bulk string, array, null, double, boolean, blob error, verbatim string,
// big number, map, set, attribute (attached to the reply it precedes, Value.Attr) and
// push (delivered out of band). Streamed strings and aggregates ($?, *?) are refused:
// Redis does not send them. Error replies become Error values; ErrorCode gives their
// first word. MOVED and ASK are such errors: a Client talks to one server and never
// follows them; a ClusterClient does.
//
// # Concurrency
//
// A Client holds Options.PoolSize connections and hands each call to the next live
// one in turn that has room for it; any number of goroutines share a connection. Each
// connection has two goroutines of its own, for as long as it lives: a writer and a
// reader. A caller only queues its commands and waits on its call's own channel with
// a plain receive; the writer sleeps on a condition variable, lets the callers about
// to queue do so (runtime.Gosched while the queue grows), then writes everything
// queued in one system call (implicit pipelining); the reader decodes replies and
// gives each to the oldest call awaiting one. No select is shared by goroutines,
// because under Yaegi a select run by several goroutines at once can deliver one
// goroutine's value to another.
//
// Everything is bounded: a connection holds at most Options.MaxInFlight commands
// queued or awaiting replies, and a call that finds every connection full fails at
// once with ErrInFlightLimit. A call whose context ends returns at once: if it is
// still queued it is never written, and if it was written its replies are read and
// dropped. Each write has WriteTimeout and, while replies are due, the socket has a
// read deadline (ReadTimeout from the last reply), so that a stalled server is found
// out and every call on it fails. Connect returns when its context ends, even while
// the connector's dial is in progress. For the same reason as above the connector
// (one per client, so several in one interpreter) sleeps with internal/wakeup, never
// in a select. Close returns once the connector and every connection's reader and
// writer have ended.
//
// # Limits
//
// Every reply is capped (Options.MaxReplyBytes, aggregate elements charged 64 bytes
// each on top of their wire size) and nested at most 64 deep; a reply over the cap
// closes its connection. Reads are line-based (bufio.Reader.ReadSlice, io.ReadFull,
// strconv): no byte-by-byte loop runs in interpreted code.
//
// # Client-side caching
//
// Client.Track opens a broadcasting tracking subscription for key prefixes: on RESP3
// one dedicated connection receiving invalidation pushes; on RESP2 a subscriber to
// __redis__:invalidate plus a connection whose tracking is redirected to it. A null
// invalidation (FLUSHALL, FLUSHDB) is reported as a flush. Losing any of those
// connections is reported once (TrackingHandler.Lost); Ping detects a silent peer.
//
// # Sentinel
//
// NewSentinelClient returns a Client whose Dialer asks the sentinels for the primary
// (SENTINEL GET-MASTER-ADDR-BY-NAME) on every dial, that is on every (re)connection:
// they are tried in turn, the last that answered first, each within
// SentinelOptions.QueryTimeout, with their own credentials. Each connection's
// handshake then checks ROLE and refuses a server that is not "master" (a sentinel
// may still name a primary that has just been demoted). One watcher goroutine keeps
// a +switch-master subscription on a sentinel (moving to another when it fails),
// refreshes the sentinel list from SENTINEL SENTINELS and compares the primary it
// names with the client's every RefreshInterval. On a switch the connections to any
// other server are closed (a tracking subscription among them reports Lost), a dial
// in flight is dropped, the pool reconnects at once, and for a while the replaced
// primary is passed over when a sentinel that has not caught up still names it.
//
// A READONLY reply, from any client's server, means a demoted primary still holds
// our connections: they are all dropped, so that the next dials find the primary
// again (through the sentinels, or by resolving a name that a managed service or a
// Kubernetes Service has moved to the new primary).
//
// # Cluster
//
// A ClusterClient holds one Client per primary and reads the slot map with CLUSTER
// SHARDS (CLUSTER SLOTS on servers before 7) from a known primary or a seed: at
// Connect, every RefreshInterval, and soon after a MOVED reply or a node failure.
// A command goes to the primary of its key's slot (CRC16 of the key or of its
// {hash tag}, Slot); a command without a key to ClusterOptions.HomeKey's. MOVED
// patches the map for that slot at once and asks for a full reading; ASK sends
// ASKING and the command to the named node without touching the map; TRYAGAIN,
// CLUSTERDOWN, LOADING, MASTERDOWN, and an unreachable primary (a command that was
// not sent, or only reads) are retried with backoff within RetryWindow. A pipeline is
// split into one pipeline per primary, all in flight at once, and reassembled in
// order. A node that failed is asked for the map last for a second. Credentials, TLS
// and timeouts apply to every node. Track opens one subscription on every primary
// with one handler; it is lost as a whole when any of its connections fails or when
// the map gains a primary it does not cover (after a failover), so that the caller
// subscribes again.
//
// Replies are never matched to requests with a select shared by goroutines: retries
// sleep, and the split pipeline waits on each group's own channel in turn.
//
// # Background goroutines
//
// A Client's connector, a ClusterClient's refresher and a Sentinel client's watcher
// run no select either: each sleeps on a waker of its own (internal/wakeup: a mutex
// and condition variable woken by a time.AfterFunc timer, the events it waits for and
// Close through context.AfterFunc). Under Yaegi a select statement's case list is shared by every goroutine that
// runs the statement, that is by the same goroutine of every instance, so one could
// be left waiting on another instance's channels.
package redis
