package redis

import (
	"bufio"
	"io"
	"math/big"
	"strconv"
)

// RESP type bytes: the first byte of every reply names its type
// (https://github.com/redis/redis-specifications/blob/master/protocol/RESP3.md).
const (
	TypeSimple    = '+' // +OK\r\n
	TypeError     = '-' // -ERR message\r\n
	TypeInt       = ':' // :42\r\n
	TypeBulk      = '$' // $5\r\nhello\r\n ; RESP2 null: $-1\r\n
	TypeArray     = '*' // *2\r\n<value><value> ; RESP2 null: *-1\r\n
	TypeNull      = '_' // RESP3: _\r\n
	TypeDouble    = ',' // RESP3: ,3.14\r\n ,inf\r\n ,-inf\r\n ,nan\r\n
	TypeBool      = '#' // RESP3: #t\r\n #f\r\n
	TypeBlobError = '!' // RESP3: !21\r\nSYNTAX invalid syntax\r\n
	TypeVerbatim  = '=' // RESP3: =15\r\ntxt:Some string\r\n
	TypeBigNumber = '(' // RESP3: (3492890328409238509324850943850943825024385\r\n
	TypeMap       = '%' // RESP3: %2\r\n<key><value><key><value>
	TypeSet       = '~' // RESP3: ~3\r\n<value><value><value>
	TypeAttribute = '|' // RESP3: |1\r\n<key><value> then the reply it describes
	TypePush      = '>' // RESP3: >3\r\n<kind><value>... out-of-band (invalidations)
)

// Value is one reply. Type is its RESP type byte. Null is set for RESP3 null and for
// RESP2's null bulk string and null array (Type keeps '$' or '*' then). Str holds the
// bytes of simple strings, bulk strings, verbatim strings (without their format),
// error replies, big numbers (decimal digits) and doubles (as sent). Elems holds the
// elements of arrays, sets and pushes, and the keys and values of maps alternately.
// Attr is the attribute map that preceded the reply, if any (RESP3 '|').
type Value struct {
	Type   byte
	Null   bool
	Bool   bool
	Int    int64
	Float  float64
	Str    []byte
	Format string // verbatim strings: "txt", "mkd"
	Elems  []Value
	Attr   *Value
}

// String returns Str as a string (empty for non-string replies).
func (v Value) String() string { return string(v.Str) }

// Limits of the reader. Each aggregate element is charged elementCost bytes against
// the reply budget on top of its wire bytes, so that a short header such as
// "*100000000\r\n" cannot make the client allocate far more than maxReplyBytes.
const (
	elementCost = 64
	maxDepth    = 64
)

// readReply reads one complete reply of at most max bytes (wire bytes plus
// elementCost per aggregate element). Any error leaves the stream unusable: the
// caller must close the connection.
//
// The replies the cache lives on (bulk strings, nulls, simple strings, integers) are
// decoded right here, in one function body: under Yaegi each interpreted call costs
// about a microsecond and every local is allocated per call, so the general reader
// (one function per type, below) is kept for the rest.
func readReply(br *bufio.Reader, max int) (Value, error) {
	line, err := br.ReadSlice('\n')
	n := len(line)
	if err == nil && n >= 3 && n <= max && line[n-2] == '\r' {
		switch line[0] {
		case TypeBulk:
			size, aerr := strconv.Atoi(string(line[1 : n-2]))
			if aerr == nil && size >= 0 && n+size+2 <= max {
				buf := make([]byte, size+2)
				if _, err := io.ReadFull(br, buf); err != nil {
					return Value{}, err
				}
				if buf[size] != '\r' || buf[size+1] != '\n' {
					return Value{}, protoErr("CRLF after a string of "+strconv.Itoa(size)+" bytes", buf[size:])
				}
				return Value{Type: TypeBulk, Str: buf[:size:size]}, nil
			}
			if aerr == nil && size == -1 {
				return Value{Type: TypeBulk, Null: true}, nil
			}
		case TypeSimple:
			return Value{Type: TypeSimple, Str: append([]byte(nil), line[1:n-2]...)}, nil
		case TypeInt:
			if i, aerr := strconv.ParseInt(string(line[1:n-2]), 10, 64); aerr == nil {
				return Value{Type: TypeInt, Int: i}, nil
			}
		case TypeNull:
			if n == 3 {
				return Value{Type: TypeNull, Null: true}, nil
			}
		}
	}
	budget := max
	line, err = checkLine(br, line, err, &budget)
	if err != nil {
		return Value{}, err
	}
	return valueOf(br, line, &budget, 0)
}

// readValue reads one value (the elements of aggregates), charging budget.
func readValue(br *bufio.Reader, budget *int, depth int) (Value, error) {
	line, err := br.ReadSlice('\n')
	line, err = checkLine(br, line, err, budget)
	if err != nil {
		return Value{}, err
	}
	return valueOf(br, line, budget, depth)
}

// valueOf decodes a value whose first line (type byte and text, without CRLF) has been
// read: one reader per type, dispatched on the type byte, as in the specification.
// It uses bufio, io.ReadFull and strconv: no byte-by-byte loop runs interpreted.
func valueOf(br *bufio.Reader, line []byte, budget *int, depth int) (Value, error) {
	t := line[0]
	body := line[1:]
	switch t {
	case TypeSimple:
		return Value{Type: t, Str: copyBytes(body)}, nil
	case TypeError:
		return Value{Type: t, Str: copyBytes(body)}, nil
	case TypeInt:
		n, err := strconv.ParseInt(string(body), 10, 64)
		if err != nil {
			return Value{}, protoErr("integer reply", body)
		}
		return Value{Type: t, Int: n}, nil
	case TypeBulk, TypeBlobError, TypeVerbatim:
		return readBulk(br, budget, t, body)
	case TypeArray, TypeSet, TypePush, TypeMap, TypeAttribute:
		return readAggregate(br, budget, depth, t, body)
	case TypeNull:
		if len(body) != 0 {
			return Value{}, protoErr("null reply \"_\"", body)
		}
		return Value{Type: t, Null: true}, nil
	case TypeDouble:
		f, err := strconv.ParseFloat(string(body), 64)
		if err != nil {
			return Value{}, protoErr("double reply", body)
		}
		return Value{Type: t, Float: f, Str: copyBytes(body)}, nil
	case TypeBool:
		if len(body) == 1 && body[0] == 't' {
			return Value{Type: t, Bool: true}, nil
		}
		if len(body) == 1 && body[0] == 'f' {
			return Value{Type: t}, nil
		}
		return Value{}, protoErr("boolean reply t or f", body)
	case TypeBigNumber:
		if _, ok := new(big.Int).SetString(string(body), 10); !ok {
			return Value{}, protoErr("big number reply", body)
		}
		return Value{Type: t, Str: copyBytes(body)}, nil
	}
	return Value{}, protoErr("a RESP type byte", line[:1])
}

// checkLine completes and checks a line ReadSlice returned, and returns it without
// the CRLF. The slice is only valid until the next read.
func checkLine(br *bufio.Reader, line []byte, err error, budget *int) ([]byte, error) {
	if err == bufio.ErrBufferFull {
		// A line longer than the buffer (a long error message): gather it, still
		// within the budget.
		long := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			if len(long) > *budget {
				return nil, ErrReplyTooLarge
			}
			line, err = br.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if err != nil {
		return nil, err
	}
	*budget -= len(line)
	if *budget < 0 {
		return nil, ErrReplyTooLarge
	}
	n := len(line)
	if n < 3 || line[n-2] != '\r' {
		return nil, protoErr("a line ending in CRLF with a type byte", line)
	}
	return line[:n-2], nil
}

// readBulk reads the payload of '$', '!' and '=': <length>\r\n<bytes>\r\n.
func readBulk(br *bufio.Reader, budget *int, t byte, lenText []byte) (Value, error) {
	n, err := strconv.Atoi(string(lenText))
	if err != nil {
		return Value{}, protoErr("a string length", lenText)
	}
	if n == -1 && t == TypeBulk {
		return Value{Type: t, Null: true}, nil // RESP2 null bulk string
	}
	if n < 0 {
		return Value{}, protoErr("a non-negative string length", lenText)
	}
	if n+2 > *budget {
		return Value{}, ErrReplyTooLarge
	}
	*budget -= n + 2
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(br, buf); err != nil {
		return Value{}, err
	}
	if buf[n] != '\r' || buf[n+1] != '\n' {
		return Value{}, protoErr("CRLF after a string of "+strconv.Itoa(n)+" bytes", buf[n:])
	}
	v := Value{Type: t, Str: buf[:n:n]}
	if t == TypeVerbatim {
		if n < 4 || buf[3] != ':' {
			return Value{}, protoErr("a verbatim string starting with a three-letter format and ':'", buf[:n])
		}
		v.Format = string(buf[:3])
		v.Str = buf[4:n:n]
	}
	return v, nil
}

// readAggregate reads arrays, sets, pushes (count elements), maps and attributes
// (count key/value pairs). An attribute is returned attached to the reply that
// follows it.
func readAggregate(br *bufio.Reader, budget *int, depth int, t byte, countText []byte) (Value, error) {
	if depth >= maxDepth {
		return Value{}, protoErr("at most "+strconv.Itoa(maxDepth)+" nested aggregates", countText)
	}
	n, err := strconv.Atoi(string(countText))
	if err != nil {
		return Value{}, protoErr("an element count", countText)
	}
	if n == -1 && t == TypeArray {
		return Value{Type: t, Null: true}, nil // RESP2 null array
	}
	if n < 0 {
		return Value{}, protoErr("a non-negative element count", countText)
	}
	elems := n
	if t == TypeMap || t == TypeAttribute {
		elems = 2 * n
	}
	if elems > *budget/elementCost {
		return Value{}, ErrReplyTooLarge
	}
	*budget -= elems * elementCost
	out := make([]Value, elems)
	for i := 0; i < elems; i++ {
		if out[i], err = readValue(br, budget, depth+1); err != nil {
			return Value{}, err
		}
	}
	if t == TypeAttribute {
		attr := &Value{Type: t, Elems: out}
		v, err := readValue(br, budget, depth+1)
		if err != nil {
			return Value{}, err
		}
		v.Attr = attr
		return v, nil
	}
	return Value{Type: t, Elems: out}, nil
}

func copyBytes(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}

// protoErr describes a reply that breaks the protocol: what was expected and (a
// bounded quote of) what was got.
func protoErr(expected string, got []byte) error {
	if len(got) > 32 {
		got = got[:32]
	}
	return protocolError("redis: protocol error: expected " + expected + ", got " + strconv.Quote(string(got)))
}

// appendCommand encodes one command as a RESP array of bulk strings. Arguments may be
// string, []byte, int, int64 or uint64; ok is false for anything else. (Headers are
// built by string concatenation, one append each: fewer interpreted calls.)
func appendCommand(buf []byte, args []any) ([]byte, bool) {
	buf = append(buf, "*"+strconv.Itoa(len(args))+"\r\n"...)
	for _, a := range args {
		switch a := a.(type) {
		case string:
			buf = append(buf, "$"+strconv.Itoa(len(a))+"\r\n"+a+"\r\n"...)
		case []byte:
			buf = append(buf, "$"+strconv.Itoa(len(a))+"\r\n"...)
			buf = append(buf, a...)
			buf = append(buf, '\r', '\n')
		case int:
			s := strconv.Itoa(a)
			buf = append(buf, "$"+strconv.Itoa(len(s))+"\r\n"+s+"\r\n"...)
		case int64:
			s := strconv.FormatInt(a, 10)
			buf = append(buf, "$"+strconv.Itoa(len(s))+"\r\n"+s+"\r\n"...)
		case uint64:
			s := strconv.FormatUint(a, 10)
			buf = append(buf, "$"+strconv.Itoa(len(s))+"\r\n"+s+"\r\n"...)
		default:
			return buf, false
		}
	}
	return buf, true
}
