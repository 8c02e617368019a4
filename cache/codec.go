package cache

import (
	"bytes"
	"encoding/json"
)

// Codec turns a cached value into the JSON text stored as the entry's "data"
// and back. Its output is embedded as is in the entry, so it must be one
// JSON value; for a Deno server sharing the Redis it must also be what
// JSON.stringify would write, which JSONCodec takes care of.
type Codec interface {
	Marshal(v any) ([]byte, error)
	// Unmarshal must not keep data: the buffer is not the codec's.
	Unmarshal(data []byte, v any) error
}

// JSONCodec is the default Codec: encoding/json, adjusted to write what
// JavaScript's JSON.stringify writes for the same value, so a Go server and a
// Deno server can read each other's entries. encoding/json by default
// escapes <, > and & (JSON.stringify does not), ends Encoder output with a
// newline, escapes U+2028 and U+2029, and writes negative zero as -0; all
// four are undone here.
//
// What no codec can align: Go sorts map keys where JavaScript keeps
// insertion order, and a nil slice is null where JavaScript has [].
// Struct fields are written in declaration order, as JavaScript writes an
// object literal's keys.
type JSONCodec struct{}

// Marshal encodes v as JSON.stringify would.
func (JSONCodec) Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := b.Bytes()
	return jsCompat(out[:len(out)-1]), nil // drop Encode's newline
}

// Unmarshal decodes with encoding/json.
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

var (
	escapedLineSep = []byte(`\u202`) // prefix of \u2028 and \u2029
	minusZero      = []byte("-0")
)

// jsCompat rewrites, in encoding/json output, the escaped U+2028 and U+2029
// as raw UTF-8 and the number -0 as 0, leaving string contents otherwise
// untouched. Most values contain neither, and are returned as they are.
func jsCompat(b []byte) []byte {
	if !bytes.Contains(b, escapedLineSep) && !hasMinusZero(b) {
		return b
	}
	out := make([]byte, 0, len(b))
	inString := false
	for i := 0; i < len(b); i++ {
		ch := b[i]
		switch {
		case inString && ch == '\\':
			if i+5 < len(b) && b[i+1] == 'u' && string(b[i+2:i+5]) == "202" && (b[i+5] == '8' || b[i+5] == '9') {
				// U+2028 is E2 80 A8 in UTF-8, U+2029 is E2 80 A9.
				out = append(out, 0xE2, 0x80, 0xA8+b[i+5]-'8')
				i += 5
				continue
			}
			out = append(out, ch, b[i+1]) // an escape is never split: skip its second byte
			i++
		case ch == '"':
			inString = !inString
			out = append(out, ch)
		case !inString && isMinusZero(b, i):
			out = append(out, '0')
			i++
		default:
			out = append(out, ch)
		}
	}
	return out
}

// hasMinusZero reports whether b may hold the number -0. It looks past
// the many "-0" inside strings such as ISO dates, which would otherwise send
// every value with a date through the slow rewrite.
func hasMinusZero(b []byte) bool {
	for i := 0; ; {
		j := bytes.Index(b[i:], minusZero)
		if j < 0 {
			return false
		}
		if isMinusZero(b, i+j) {
			return true
		}
		i += j + 1
	}
}

// isMinusZero reports whether b[i:] starts the JSON number -0 in a value
// position (after '[', ',' or ':'), judging by its neighbours only; the
// caller knows whether i is inside a string.
func isMinusZero(b []byte, i int) bool {
	if i+1 >= len(b) || b[i] != '-' || b[i+1] != '0' {
		return false
	}
	if i > 0 && b[i-1] != '[' && b[i-1] != ',' && b[i-1] != ':' {
		return false
	}
	if i+2 < len(b) {
		switch b[i+2] {
		case '.', 'e', 'E', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return false
		}
	}
	return true
}
