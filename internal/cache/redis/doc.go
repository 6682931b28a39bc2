// Package redis is Gatehouse's own Redis client: standard library only, written to
// run correctly (and as fast as it can) under Yaegi. It owns the RESP2/RESP3 codec,
// connections and their handshake, multiplexing and pipelining, reconnection,
// redis:// URLs, and server-assisted client-side caching (CLIENT TRACKING). It does
// not know what the cache stores: internal/cache decides keys, TTLs and policy.
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
// first word. MOVED and ASK are such errors: this client talks to one server and never
// follows them.
//
// # Concurrency
//
// A Client holds Options.PoolSize connections and hands each call to the next live
// one; any number of goroutines share a connection. Writes are group-committed (the
// first caller writes what the others queued meanwhile: implicit pipelining); one
// reader goroutine per connection decodes replies and gives each to the oldest pending
// call, through a per-call channel received without select, because under Yaegi a
// select run by several goroutines at once can deliver one goroutine's value to
// another. Deadlines are set on the socket so no call waits for ever, and a call's
// context ending wakes it early (context.AfterFunc). For the same reason the
// connector (one per client, so several in one interpreter) sleeps with
// internal/wakeup, never in a select.
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
// # Extending (Sentinel, Cluster)
//
// Connection establishment goes through the Dialer interface (Options.Dialer): a
// Sentinel resolver supplies the current primary's address there, and the handshake,
// multiplexing and reader stay the same. A Cluster router would hold one Client per
// node (each with its own Dialer) and choose by hash slot; the Error codes MOVED and
// ASK tell it when to re-route.
package redis
