// Package protocol defines Leitai's wire messages: the envelope, the error
// and close codes, the data of every message type, and the Frame a server
// hands to a connection's writer. Server, tests and the load generator all use
// it, so the wire format lives in one place.
package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// MaxIDLen bounds a request id.
const MaxIDLen = 64

// Error codes, as sent in an error message's data.code.
const (
	CodeBadRequest      = "bad_request"
	CodeUnauthenticated = "unauthenticated"
	CodeForbidden       = "forbidden"
	CodeNotFound        = "not_found"
	CodeWrongPhase      = "wrong_phase"
	CodeTooLate         = "too_late"
	CodeRateLimited     = "rate_limited"
	CodeRoomFull        = "room_full"
	CodeUnavailable     = "unavailable"
	CodeInternal        = "internal"
)

// WebSocket close codes.
const (
	CloseNormal    = 1000
	CloseGoingAway = 1001
	ClosePolicy    = 1008
	CloseTooBig    = 1009
	CloseReplaced  = 4001
	CloseSlow      = 4002
	CloseKicked    = 4003
)

// Error is a protocol error: it becomes an error message to the client.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Reason names the particular refusal, stable across versions, so a
	// page can show it in its own language; Message (English) is the
	// fallback for reasons a page does not know. Params fill the page's
	// text ({"max":32}). Both are optional.
	Reason string         `json:"reason,omitempty"`
	Params map[string]any `json:"params,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Because sets the error's reason and params and returns it.
func (e *Error) Because(reason string, params map[string]any) *Error {
	e.Reason, e.Params = reason, params
	return e
}

// Errorf makes an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Inbound is a decoded client message; Data is decoded later by type.
type Inbound struct {
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Decode parses one client frame. A frame that is not a JSON object with a
// string type, or whose id is too long, is a bad_request; the id is returned
// when it could be read so the error can still carry re.
func Decode(b []byte) (Inbound, *Error) {
	var in Inbound
	if err := json.Unmarshal(b, &in); err != nil {
		return in, &Error{Code: CodeBadRequest, Message: "malformed message: " + trim(err.Error())}
	}
	if len(in.ID) > MaxIDLen {
		in.ID = ""
		return in, Errorf(CodeBadRequest, "id longer than %d characters", MaxIDLen)
	}
	if in.Type == "" {
		return in, &Error{Code: CodeBadRequest, Message: "missing type"}
	}
	return in, nil
}

// DecodeData unmarshals a message's data into v, strictly: unknown fields are
// allowed (clients may be newer), but wrong types are a bad_request.
func DecodeData(in Inbound, v any) *Error {
	if len(in.Data) == 0 || bytes.Equal(in.Data, []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(in.Data, v); err != nil {
		return Errorf(CodeBadRequest, "bad data for %s: %s", in.Type, trim(err.Error()))
	}
	return nil
}

func trim(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

type envelope struct {
	Type string `json:"type"`
	Re   string `json:"re,omitempty"`
	Data any    `json:"data,omitempty"`
}

// Encode returns the JSON of a message. re is empty for pushed messages.
func Encode(typ, re string, data any) []byte {
	b, err := json.Marshal(envelope{Type: typ, Re: re, Data: data})
	if err != nil {
		// Every type we send marshals; a failure is a programming error.
		panic(fmt.Sprintf("protocol: encode %s: %v", typ, err))
	}
	return b
}

// EncodeAck encodes an answer.ack exactly as Encode would. It is the one
// reply every answer gets, so it is written by hand rather than by
// reflection.
func EncodeAck(re string, a Ack) []byte {
	return AppendAck(make([]byte, 0, 96+len(re)), re, a)
}

// AppendAck appends EncodeAck's bytes to b.
func AppendAck(b []byte, re string, a Ack) []byte {
	b = append(b, `{"type":"answer.ack"`...)
	if re != "" {
		b = append(b, `,"re":`...)
		b = appendJSONString(b, re)
	}
	b = append(b, `,"data":{"index":`...)
	b = strconv.AppendInt(b, int64(a.Index), 10)
	b = append(b, `,"accepted":`...)
	b = strconv.AppendBool(b, a.Accepted)
	b = append(b, `,"elapsed":`...)
	b = strconv.AppendInt(b, a.Elapsed, 10)
	if a.Duplicate {
		b = append(b, `,"duplicate":true`...)
	}
	return append(b, "}}"...)
}

// AppendString appends s as a JSON string, exactly as encoding/json writes
// it.
func AppendString(b []byte, s string) []byte { return appendJSONString(b, s) }

// appendJSONString appends s as encoding/json writes it, HTML-safe escaping
// included: the escapes \" \\ \b \f \n \r \t, \u00xx for the other control
// characters and for <, > and &, \u2028 and \u2029 for the two line
// separators JavaScript reads as line ends, and \ufffd for each byte that
// is not part of valid UTF-8. It allocates only when b must grow.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	done := 0 // s[:done] is in b
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[done:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			done = i
			continue
		}
		// Three-byte characters (CJK among them) whose lead byte allows
		// any continuation bytes are valid as soon as two follow; only
		// U+2028 and U+2029 among them are escaped.
		if c >= 0xe1 && c <= 0xef && c != 0xed && i+2 < len(s) && s[i+1]&0xc0 == 0x80 && s[i+2]&0xc0 == 0x80 &&
			!(c == 0xe2 && s[i+1] == 0x80 && s[i+2]&0xfe == 0xa8) {
			i += 3
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, s[done:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[done:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += n
			continue
		}
		i += n
		done = i
	}
	b = append(b, s[done:]...)
	return append(b, '"')
}

// ErrorMessage encodes an error reply.
func ErrorMessage(re string, e *Error) []byte { return Encode("error", re, e) }

// Frame is one outbound message on its way to one or many connections. The
// parts are written back to back as one WebSocket message, which lets a
// reveal splice a player's own part between a shared prefix and suffix
// without copying them.
type Frame struct {
	Parts [][]byte
	// Shared frames go to many connections unchanged; the transport may
	// prepare (frame and compress) them once, see Prepared.
	Shared bool
	// Mark is set on question frames so the writer can note when the
	// question reached this connection, the start of the player's clock.
	Mark *Mark
	// Probe asks the transport to measure the connection's round trip
	// afresh, as a contest is about to begin (set on a countdown).
	Probe bool
	// Received is when the request this frame answers was read (an
	// answer, for its ack), so the writer can report how long the server
	// took; zero for everything else.
	Received time.Time

	once     sync.Once
	prepared any
	writes   atomic.Int32 // counted by PreparedAfter
}

// Mark names a question of a room.
type Mark struct {
	Room  string
	Index int
	// Limit is how long the question stays open once written: its time
	// limit and the room's grace. The edge waits that long (and a margin)
	// for a room elsewhere to take an answer to it. Zero if unknown.
	Limit time.Duration `json:",omitempty"`
}

// NewFrame wraps one encoded message for one connection.
func NewFrame(b []byte) *Frame { return &Frame{Parts: [][]byte{b}} }

// NewShared wraps one encoded message for many connections.
func NewShared(b []byte) *Frame { return &Frame{Parts: [][]byte{b}, Shared: true} }

// Prepared returns the transport's prepared form of a shared frame, made once
// by mk on first use.
func (f *Frame) Prepared(mk func([]byte) any) any {
	f.once.Do(func() { f.prepared = mk(f.Bytes()) })
	return f.prepared
}

// PreparedAfter is Prepared for a frame that may go to only a few
// connections: its first n calls return nil, and the caller writes the
// frame plainly; from the (n+1)-th on it returns the prepared form.
// Preparing costs more than a plain write or two (the transport may
// allocate a buffer of its own for it), so it pays only once a frame
// reaches more connections than a quick match has players.
func (f *Frame) PreparedAfter(n int32, mk func([]byte) any) any {
	if f.writes.Add(1) <= n {
		return nil
	}
	return f.Prepared(mk)
}

// Bytes returns the whole message (joining parts if there are several).
func (f *Frame) Bytes() []byte {
	if len(f.Parts) == 1 {
		return f.Parts[0]
	}
	return bytes.Join(f.Parts, nil)
}

// Len is the message size in bytes.
func (f *Frame) Len() int {
	n := 0
	for _, p := range f.Parts {
		n += len(p)
	}
	return n
}
