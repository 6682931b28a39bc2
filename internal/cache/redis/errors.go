package redis

import (
	"context"
	"errors"
	"strings"
)

// Sentinel errors. Compare with ==: they are plain errors.New values so that callers
// interpreted by Yaegi can compare them safely (docs/YAEGI-NOTES.md).
var (
	// ErrClosed is returned by a client, connection or tracking subscription after
	// Close, and to calls still waiting when it closed.
	ErrClosed = errors.New("redis: client closed")
	// ErrNotConnected is returned at once when no connection to the server is up; the
	// client keeps reconnecting in the background.
	ErrNotConnected = errors.New("redis: not connected")
	// ErrInFlightLimit is returned at once when every connection of the pool already
	// holds Options.MaxInFlight commands queued or awaiting replies: the server is
	// slower than the load, or stalled. Nothing was sent.
	ErrInFlightLimit = errors.New("redis: every connection has maxInFlight commands in flight")
	// ErrReplyTooLarge is returned when a reply exceeds Options.MaxReplyBytes; the
	// connection that read it is closed.
	ErrReplyTooLarge = errors.New("redis: reply larger than maxReplyBytes")
	// ErrBadArgument is returned when a command argument is not a string, []byte,
	// int, int64 or uint64.
	ErrBadArgument = errors.New("redis: command argument must be string, []byte, int, int64 or uint64")
	// ErrUnexpectedReply is returned when a reply does not have the type a helper
	// expects (for example GET answering an array).
	ErrUnexpectedReply = errors.New("redis: unexpected reply type")
)

// Error is an error reply from the server ("-ERR unknown command", "!..."), as sent.
// Code gives its first word (ERR, WRONGPASS, NOAUTH, MOVED, ...). A client never
// follows MOVED or ASK: against a standalone server they are surfaced as errors.
type Error string

func (e Error) Error() string { return "redis: server replied: " + string(e) }

// Code returns the error's first word, such as "WRONGPASS" or "MOVED".
func (e Error) Code() string {
	s := string(e)
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}

// ErrorCode returns the code of a server error reply ("WRONGPASS", "MOVED", ...), or
// "" when err is not an error reply (a transport failure, a timeout, nil).
func ErrorCode(err error) string {
	if e, ok := asReply(err); ok {
		return e.Code()
	}
	return ""
}

// IsServerError reports whether err is an error reply from the server, as opposed to
// a failure to reach it or to read its answer.
//
// context.DeadlineExceeded is answered before any type assertion: its dynamic type is
// an empty struct, and under Yaegi asserting it to an interpreted type panics
// (docs/YAEGI-NOTES.md) — a handshake that outlived its dial deadline crashed the
// connector's goroutine so.
func IsServerError(err error) bool {
	_, ok := asReply(err)
	return ok
}

// asReply is err.(Error), except for the context's errors. Under Yaegi, asserting an
// error that holds context.DeadlineExceeded (a struct without fields) to an
// interpreted type panics inside the interpreter (reflect: Field index out of bounds),
// and a call whose context ends returns it: a Redis that stalls long enough would
// crash the background goroutine that asked, and Traefik with it.
func asReply(err error) (Error, bool) {
	if err == nil || err == context.DeadlineExceeded || err == context.Canceled {
		return "", false
	}
	e, ok := err.(Error)
	return e, ok
}

// protocolError is a reply that breaks RESP; the connection that read it is closed.
type protocolError string

func (e protocolError) Error() string { return string(e) }
