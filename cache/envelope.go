package cache

import (
	"bytes"
	"encoding/json"
	"errors"
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
	if rest, ok := bytes.CutPrefix(raw, envelopeHead); ok && len(rest) > 0 && rest[0] == '"' {
		// A version hash without escapes ends at the next quote.
		if end := bytes.IndexByte(rest[1:], '"'); end >= 0 && bytes.IndexByte(rest[1:end+1], '\\') < 0 {
			vhash = string(rest[1 : end+1])
			if data, ok := bytes.CutPrefix(rest[end+2:], envelopeData); ok && len(data) > 1 && data[len(data)-1] == '}' {
				return vhash, data[:len(data)-1], nil
			}
		}
	}
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
