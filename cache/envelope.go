package cache

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// An entry's value is JSON.stringify({versionHash, data}) as the TypeScript
// TimCacheC writes it: {"versionHash":"...","data":...} with no spaces.
var (
	envelopeHead = []byte(`{"versionHash":`)
	envelopeData = []byte(`,"data":`)
)

// appendEnvelope writes the entry for data (codec output) at version
// vhash.
func appendEnvelope(dst []byte, vhash string, data []byte) []byte {
	v, _ := JSONCodec{}.Marshal(vhash) // a string always encodes
	dst = append(dst, envelopeHead...)
	dst = append(dst, v...)
	dst = append(dst, envelopeData...)
	dst = append(dst, data...)
	return append(dst, '}')
}

var errEnvelope = errors.New("cache entry is not {versionHash, data}")

// splitEnvelope returns an entry's version hash and the bytes of its data,
// without decoding the data: a stale entry is rejected before its (possibly
// megabytes of) data is parsed. Entries written by appendEnvelope or by
// JSON.stringify take the fast path; anything else valid is decoded in full.
func splitEnvelope(raw []byte) (vhash string, data []byte, err error) {
	if v, d, ok := scanEnvelope(raw); ok {
		return string(v), d, nil
	}
	return decodeEnvelope(raw)
}

// scanEnvelope locates the version hash and the data of an entry in the
// exact shape appendEnvelope and JSON.stringify write, a version hash
// without escapes, without decoding or copying anything: both results alias
// raw. ok is false for any other shape, which decodeEnvelope then reads.
//
// It does not check that data is one JSON value: an entry with more keys
// after "data" yields data followed by them, which the codec rejects as
// trailing text, and the caller then falls back to decodeEnvelope.
func scanEnvelope(raw []byte) (vhash, data []byte, ok bool) {
	rest, ok := bytes.CutPrefix(raw, envelopeHead)
	if !ok || len(rest) == 0 || rest[0] != '"' {
		return nil, nil, false
	}
	end := bytes.IndexByte(rest[1:], '"')
	if end < 0 || !plainString(rest[1:end+1]) {
		return nil, nil, false
	}
	data, ok = bytes.CutPrefix(rest[end+2:], envelopeData)
	if !ok || len(data) < 2 || data[len(data)-1] != '}' {
		return nil, nil, false
	}
	return rest[1 : end+1], data[:len(data)-1], true
}

// plainString reports whether s, between quotes, is a JSON string that
// means its own bytes: no escapes, no control characters, valid UTF-8.
func plainString(s []byte) bool {
	ascii := true
	for _, b := range s {
		switch {
		case b < 0x20 || b == '\\':
			return false
		case b >= 0x80:
			ascii = false
		}
	}
	return ascii || utf8.Valid(s)
}

// decodeEnvelope reads any valid JSON object with a string "versionHash"
// and a "data", in any order and spacing, with encoding/json.
func decodeEnvelope(raw []byte) (vhash string, data []byte, err error) {
	var e struct {
		VersionHash *string         `json:"versionHash"`
		Data        json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return "", nil, errors.Join(errEnvelope, err)
	}
	if e.VersionHash == nil || e.Data == nil {
		return "", nil, errEnvelope
	}
	return *e.VersionHash, e.Data, nil
}
