package cache

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/tools/txtar"
)

// countingCodec is JSONCodec counting its decodes and keeping the last
// bytes it was given.
type countingCodec struct {
	unmarshals int
	last       []byte
}

func (c *countingCodec) Marshal(v any) ([]byte, error) { return JSONCodec{}.Marshal(v) }
func (c *countingCodec) Unmarshal(data []byte, v any) error {
	c.unmarshals++
	c.last = data
	return json.Unmarshal(data, v)
}

func TestReadEntry(t *testing.T) {
	for _, tc := range []struct {
		name, raw  string
		anyVersion bool
		want       item
		stale      bool
		err        string
	}{
		{name: "fast shape", raw: `{"versionHash":"v1","data":{"id":"a","version":1,"body":"x"}}`, want: item{"a", 1, "x"}},
		{name: "escaped version", raw: `{"versionHash":"v\u0031","data":{"id":"a"}}`, want: item{ID: "a"}},
		{name: "spaces", raw: `{ "versionHash" : "v1" , "data" : {"id":"a"} }`, want: item{ID: "a"}},
		{name: "data first", raw: `{"data":{"id":"a"},"versionHash":"v1"}`, want: item{ID: "a"}},
		// The fast scan takes the data to run to the last brace; the codec
		// rejects that, and the full decoder reads the entry right.
		{name: "key after data", raw: `{"versionHash":"v1","data":{"id":"a"},"extra":{"id":"b"}}`, want: item{ID: "a"}},
		{name: "stale", raw: `{"versionHash":"v2","data":{"id":"a"}}`, stale: true},
		{name: "stale escaped", raw: `{"versionHash":"v\u0032","data":{"id":"a"}}`, stale: true},
		{name: "any version", raw: `{"versionHash":"v2","data":{"id":"a"}}`, anyVersion: true, want: item{ID: "a"}},
		{name: "no data", raw: `{"versionHash":"v1"}`, err: "cache entry is not {versionHash, data}"},
		{name: "bad data", raw: `{"versionHash":"v1","data":{"id":1}}`, err: "json: cannot unmarshal number into Go struct field item.id of type string"},
		{name: "not json", raw: `{"versionHash":"v1","data":}`, err: "cache entry is not {versionHash, data}\ninvalid character '}' looking for beginning of value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, stale, err := readEntry[item](JSONCodec{}, []byte(tc.raw), "v1", tc.anyVersion)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("readEntry(%s) error = %v, want %q", tc.raw, err, tc.err)
				}
				return
			}
			if err != nil || stale != tc.stale || got != tc.want {
				t.Errorf("readEntry(%s) = %+v, stale %v, %v; want %+v, stale %v", tc.raw, got, stale, err, tc.want, tc.stale)
			}
		})
	}
}

// TestHitDecodesOnce checks that reading an entry as JSON.stringify writes
// it hands the codec the data bytes in place, once, and allocates nothing
// but the decoded value: no second parse of the data, no copy of it, no
// string for the version.
func TestHitDecodesOnce(t *testing.T) {
	golden := readGolden(t)
	raw := golden["dataset.json"]
	codec := &countingCodec{}
	v, stale, err := readEntry[goldenDataset](codec, raw, "42", false)
	if err != nil || stale || v.ID != "hmis" {
		t.Fatalf("readEntry = %+v, stale %v, %v", v, stale, err)
	}
	if codec.unmarshals != 1 {
		t.Errorf("codec decoded %d times, want 1", codec.unmarshals)
	}
	want := raw[len(`{"versionHash":"42","data":`) : len(raw)-1]
	if !bytes.Equal(codec.last, want) {
		t.Errorf("codec given %s, want the data %s", codec.last, want)
	}
	if unsafe.SliceData(codec.last) != unsafe.SliceData(want) {
		t.Errorf("codec given a copy of the data, want the bytes read from Redis")
	}

	// The decoded value escapes to the codec: that is the one allocation.
	if n := testing.AllocsPerRun(100, func() {
		_, _, _ = readEntry[int](nopCodec{}, raw, "42", false)
	}); n != 1 {
		t.Errorf("reading an entry allocates %v times besides the codec, want 1", n)
	}
}

// readGoldenF returns the entries of testdata/stringify.txtar.
func readGoldenF(f *testing.F) [][]byte {
	ar, err := txtar.ParseFile("testdata/stringify.txtar")
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, file := range ar.Files {
		if strings.HasSuffix(file.Name, ".json") {
			out = append(out, bytes.TrimSuffix(file.Data, []byte("\n")))
		}
	}
	return out
}

type nopCodec struct{}

func (nopCodec) Marshal(any) ([]byte, error) { return nil, errors.New("nopCodec") }
func (nopCodec) Unmarshal([]byte, any) error { return nil }

// FuzzReadEntry checks the fast scan against encoding/json: whatever the
// bytes, readEntry says what decoding the whole envelope says.
func FuzzReadEntry(f *testing.F) {
	for _, raw := range readGoldenF(f) {
		f.Add(raw, "v1")
	}
	for _, s := range []string{
		`{"versionHash":"v1","data":1}`,
		`{"versionHash":"v1","data":[1,{"a":"}"}]}`,
		`{"versionHash":"v1","data":1,"x":2}`,
		`{"versionHash":"v1","data":{},"data":2}`,
		`{"versionHash":"v\"1","data":"x"}`,
		`{"versionHash":"v1","data":"}"}`,
		`{"versionHash":"v1","data":}`,
	} {
		f.Add([]byte(s), "v1")
	}
	f.Fuzz(func(t *testing.T, raw []byte, vhash string) {
		got, stale, err := readEntry[any](JSONCodec{}, raw, vhash, false)
		var e struct {
			VersionHash *string         `json:"versionHash"`
			Data        json.RawMessage `json:"data"`
		}
		var want any
		if json.Unmarshal(raw, &e) != nil || e.VersionHash == nil || e.Data == nil || json.Unmarshal(e.Data, &want) != nil {
			// Only an entry encoding/json cannot read may fail; even then
			// the fast scan may see a stale version first.
			if err == nil && !stale {
				t.Fatalf("readEntry(%q) = %#v, want the error encoding/json gives", raw, got)
			}
			return
		}
		if err != nil {
			t.Fatalf("readEntry(%q): %v; encoding/json reads it", raw, err)
		}
		if stale != (*e.VersionHash != vhash) {
			// Duplicate keys: the fast scan sees the first versionHash,
			// encoding/json the last. JSON.stringify never writes them.
			if bytes.Count(raw, []byte(`"versionHash"`)) > 1 {
				return
			}
			t.Fatalf("readEntry(%q, %q) stale = %v, encoding/json's version %q", raw, vhash, stale, *e.VersionHash)
		}
		if !stale && !reflect.DeepEqual(got, want) {
			t.Fatalf("readEntry(%q) = %#v, encoding/json %#v", raw, got, want)
		}
	})
}
