package cache

// readEntry decodes the entry raw read from Redis, unless its version is
// not vhash (stale; any version will do when anyVersion).
//
// A hit decodes the entry once: scanEnvelope finds the version and the data
// in raw without parsing or copying, and only the data goes through the
// codec. Decoding the whole envelope with encoding/json instead would parse
// the data twice (once to skip it as a json.RawMessage, once for T) and copy
// it in between.
func readEntry[T any](codec Codec, raw []byte, vhash string, anyVersion bool) (v T, stale bool, err error) {
	if version, data, ok := scanEnvelope(raw); ok {
		if !anyVersion && string(version) != vhash {
			return v, true, nil
		}
		if err = codec.Unmarshal(data, &v); err == nil {
			return v, false, nil
		}
		// The fast shape with more keys after "data", or a broken entry:
		// encoding/json tells which.
		var zero T
		v = zero
	}
	version, data, err := decodeEnvelope(raw)
	if err != nil {
		return v, false, err
	}
	if !anyVersion && version != vhash {
		return v, true, nil
	}
	err = codec.Unmarshal(data, &v)
	return v, false, err
}
