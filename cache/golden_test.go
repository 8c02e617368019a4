package cache

import (
	"bytes"
	"context"
	"flag"
	"math"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/tools/txtar"

	"github.com/wbd-dev/wbd/cache/cachetest"
)

var update = flag.Bool("update", false, "regenerate testdata/stringify.txtar with node")

// Mirrors of the JavaScript values of testdata/stringify.mjs.
type (
	goldenRow struct {
		Facility string  `json:"facility"`
		Month    string  `json:"month"`
		Value    float64 `json:"value"`
	}
	goldenDataset struct {
		ID      string            `json:"id"`
		Version int               `json:"version"`
		Rows    []goldenRow       `json:"rows"`
		Meta    map[string]string `json:"meta"`
	}
	goldenEmpty struct {
		List []int          `json:"list"`
		Obj  map[string]int `json:"obj"`
	}
)

// goldenCases are the cases of stringify.mjs: keep them in step.
var goldenCases = []struct {
	name        string
	versionHash string
	data        any
}{
	{"string", "v1", "hello"},
	{"html", "<v&1>", `<script>alert("x&y")</script>`},
	{"unicode", "日本", "日本語 é 🎉 \u2028 \u2029 end"},
	{"control", "v1", "\x00\x01\b\f\n\r\t\x1f\x7f\"\\/"},
	{"escaped-text", "v1", `a\u2028b -0 [-0]`},
	{"numbers", "v1", []float64{0, math.Copysign(0, -1), 1.5, 1e21, 1e-7, 0.000001, 123456789012, -2.5e-10, 5e-324, 1.7976931348623157e308, 9007199254740991, -0.5}},
	{"null", "v1", (*int)(nil)},
	{"bool", "v1", true},
	{"empty", "v1", goldenEmpty{List: []int{}, Obj: map[string]int{}}},
	{"dataset", "42", goldenDataset{
		ID: "hmis", Version: 42,
		Rows: []goldenRow{
			{"Kano <General> & Co", "2024-01", 12.5},
			{"Lagos\u2028Island", "2024-02", math.Copysign(0, -1)},
		},
		Meta: map[string]string{"a": "x", "b": "y"},
	}},
}

func readGolden(t *testing.T) map[string][]byte {
	t.Helper()
	const path = "testdata/stringify.txtar"
	if *update {
		out, err := exec.Command("node", "testdata/stringify.mjs").Output()
		if err != nil {
			t.Fatalf("node testdata/stringify.mjs: %v", err)
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range ar.Files {
		files[f.Name] = bytes.TrimSuffix(f.Data, []byte("\n"))
	}
	return files
}

// TestGolden checks that Go writes the very bytes the TypeScript TimCacheC
// writes, and reads what it writes, so both can share one Redis.
func TestGolden(t *testing.T) {
	golden := readGolden(t)

	c := New[string, string, any](nil, "ds_hmis", Hashes[string, string, any]{
		UniquenessHash: func(s string) string { return s },
		VersionHash:    func(s string) string { return s },
	})
	if got, want := c.Key("hmis|日本|<&>"), string(golden["key"]); got != want {
		t.Errorf("Key = %q, want %q", got, want)
	}

	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			want, ok := golden[tc.name+".json"]
			if !ok {
				t.Fatalf("no %s.json in testdata/stringify.txtar", tc.name)
			}
			data, err := JSONCodec{}.Marshal(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendEnvelope(nil, tc.versionHash, data); !bytes.Equal(got, want) {
				t.Errorf("entry =\n%s\nwant (JSON.stringify)\n%s", got, want)
			}

			// Reading JavaScript's bytes gives the value back.
			vh, raw, err := splitEnvelope(want)
			if err != nil {
				t.Fatalf("splitEnvelope: %v", err)
			}
			if vh != tc.versionHash {
				t.Errorf("versionHash = %q, want %q", vh, tc.versionHash)
			}
			back := reflect.New(reflect.TypeOf(tc.data))
			if err := (JSONCodec{}).Unmarshal(raw, back.Interface()); err != nil {
				t.Fatalf("Unmarshal(%s): %v", raw, err)
			}
			if !reflect.DeepEqual(back.Elem().Interface(), tc.data) {
				t.Errorf("read back %#v, want %#v", back.Elem().Interface(), tc.data)
			}
		})
	}
}

// TestGoldenThroughRedis stores an entry as the Deno server would and reads
// it with a Cache, and the other way round.
func TestGoldenThroughRedis(t *testing.T) {
	golden := readGolden(t)
	c, rdb := newDatasets(t)
	ctx := t.Context()

	want := golden["dataset.json"]
	if err := rdb.Set(ctx, "cache:ds_hmis:hmis", want, 0).Err(); err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.Get(ctx, "hmis", 42)
	if err != nil || !ok {
		t.Fatalf("Get = _, %v, %v; want the entry written by JavaScript", ok, err)
	}
	if !reflect.DeepEqual(got, goldenCases[len(goldenCases)-1].data) {
		t.Errorf("Get = %#v", got)
	}

	if err := rdb.Del(ctx, "cache:ds_hmis:hmis").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Set(ctx, "hmis", 42, func(context.Context) (goldenDataset, error) { return got, nil }); err != nil {
		t.Fatal(err)
	}
	stored, err := rdb.Get(ctx, "cache:ds_hmis:hmis").Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, want) {
		t.Errorf("stored\n%s\nwant (JSON.stringify)\n%s", stored, want)
	}
}

// newDatasets returns the cache the TypeScript server would have for the
// dataset golden case, on a fresh redis-server.
func newDatasets(t *testing.T) (*Cache[string, int, goldenDataset], redis.UniversalClient) {
	t.Helper()
	srv := cachetest.NewServer(t)
	conn, _ := open(t, srv.URL, WithOpTimeout(5*time.Second))
	c := New(conn, "ds_hmis", Hashes[string, int, goldenDataset]{
		UniquenessHash: func(id string) string { return id },
		VersionHash:    strconv.Itoa,
	})
	return c, conn.Client()
}

func TestJSCompat(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`"plain"`, `"plain"`},
		{`"a\u2028b\u2029c"`, "\"a\u2028b\u2029c\""},
		{`"a\\u2028b"`, `"a\\u2028b"`},       // an escaped backslash, then text
		{`"a\\\u2028b"`, "\"a\\\\\u2028b\""}, // an escaped backslash, then U+2028
		{`-0`, `0`},
		{`[-0,-0.5,-0e1,-01]`, `[0,-0.5,-0e1,-01]`},
		{`{"a":-0}`, `{"a":0}`},
		{`"2024-01-05"`, `"2024-01-05"`},
		{`["x:-0,", -0]`, `["x:-0,", -0]`}, // not encoding/json output: the space keeps it
		{`["x:-0,",-0]`, `["x:-0,",0]`},
	} {
		if got := string(jsCompat([]byte(tc.in))); got != tc.want {
			t.Errorf("jsCompat(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestSplitEnvelope(t *testing.T) {
	for _, tc := range []struct {
		in, version, data string
		wantErr           bool
	}{
		{in: `{"versionHash":"v1","data":{"a":1}}`, version: "v1", data: `{"a":1}`},
		{in: `{"versionHash":"","data":null}`, version: "", data: `null`},
		{in: `{"versionHash":"a\"b","data":1}`, version: `a"b`, data: `1`},
		{in: `{ "versionHash": "v1", "data": [1] }`, version: "v1", data: `[1]`},
		{in: `{"data":[1],"versionHash":"v2"}`, version: "v2", data: `[1]`},
		{in: `{"versionHash":"v1"}`, wantErr: true},
		{in: `{"data":1}`, wantErr: true},
		{in: `not json`, wantErr: true},
		{in: ``, wantErr: true},
	} {
		v, d, err := splitEnvelope([]byte(tc.in))
		if (err != nil) != tc.wantErr {
			t.Errorf("splitEnvelope(%s) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && (v != tc.version || string(d) != tc.data) {
			t.Errorf("splitEnvelope(%s) = %q, %s; want %q, %s", tc.in, v, d, tc.version, tc.data)
		}
	}
}

func TestEscapeGlob(t *testing.T) {
	for in, want := range map[string]string{
		"ds_hmis": "ds_hmis",
		"d*":      `d\*`,
		"d?[x]":   `d\?\[x\]`,
		`a\b`:     `a\\b`,
		"日本*":     `日本\*`,
	} {
		if got := escapeGlob(in); got != want {
			t.Errorf("escapeGlob(%q) = %q, want %q", in, got, want)
		}
	}
}
