package cache

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/cache/cachetest"
)

func TestStats(t *testing.T) {
	c, rdb, _ := newItems(t)
	ctx := t.Context()
	for _, id := range []string{"a", "b", "c"} {
		if _, err := c.Set(ctx, id, "v1", func(context.Context) (item, error) { return item{ID: id}, nil }); err != nil {
			t.Fatal(err)
		}
	}
	rdb.Expire(ctx, c.Key("b"), time.Hour)
	rdb.Set(ctx, "cache:po_detail:x:y", "{}", 0) // a hash holding ':' still counts under its prefix
	rdb.Set(ctx, "unrelated", "1", 0)

	st, err := Stats(ctx, rdb)
	if err != nil {
		t.Fatal(err)
	}
	if st.Keys != 4 || st.ByPrefix["items"] != 3 || st.ByPrefix["po_detail"] != 1 || len(st.ByPrefix) != 2 {
		t.Errorf("Keys = %d, ByPrefix = %v; want 4, items:3 po_detail:1", st.Keys, st.ByPrefix)
	}
	if st.MinTTL <= 59*time.Minute || st.MinTTL > time.Hour {
		t.Errorf("MinTTL = %v, want about an hour", st.MinTTL)
	}
	if st.NoTTL != 1 {
		t.Errorf("NoTTL = %d, want 1", st.NoTTL)
	}
	if st.UsedMemory <= 0 {
		t.Errorf("UsedMemory = %d", st.UsedMemory)
	}

	if err := Flush(ctx, rdb); err != nil {
		t.Fatal(err)
	}
	if n := rdb.DBSize(ctx).Val(); n != 0 {
		t.Errorf("%d keys after Flush", n)
	}
}

func TestFlushHandler(t *testing.T) {
	srv := cachetest.NewServer(t)
	up, _ := open(t, srv.URL)
	disabled, _ := open(t, "")
	down := cachetest.NewServer(t)
	gone, _ := open(t, down.URL)
	down.Kill()

	for _, tc := range []struct {
		name   string
		conn   *Conn
		method string
		status int
		body   map[string]any
	}{
		{"post", up, http.MethodPost, 200, map[string]any{"success": true}},
		{"get", up, http.MethodGet, 405, map[string]any{"success": false, "error": "method not allowed"}},
		{"disabled", disabled, http.MethodPost, 200, map[string]any{"success": true}},
		{"redis down", gone, http.MethodPost, 503, map[string]any{"success": false, "error": "redis unavailable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.conn == up {
				up.Client().Set(t.Context(), "cache:items:a", "{}", 0)
			}
			rec := httptest.NewRecorder()
			FlushHandler(tc.conn).ServeHTTP(rec, httptest.NewRequest(tc.method, "/caches/flush-all", nil))
			if rec.Code != tc.status {
				t.Errorf("status = %d, want %d", rec.Code, tc.status)
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if len(body) != len(tc.body) || body["success"] != tc.body["success"] || body["error"] != tc.body["error"] {
				t.Errorf("body = %v, want %v", body, tc.body)
			}
			if tc.conn == up {
				n := up.Client().DBSize(t.Context()).Val()
				if flushed := tc.status == 200; flushed != (n == 0) {
					t.Errorf("%d keys left after %s", n, tc.method)
				}
			}
		})
	}
}

// SCAN returns a key twice when Redis rehashes between two pages; the
// summary must still count it once.
func TestKeySetFresh(t *testing.T) {
	s := newKeySet()
	pages := [][]string{
		{"cache:a:1", "cache:a:2"},
		{"cache:a:2", "cache:b:1", "cache:b:1"},
		{},
		{"cache:a:1", "cache:b:2"},
	}
	want := [][]string{
		{"cache:a:1", "cache:a:2"},
		{"cache:b:1"},
		{},
		{"cache:b:2"},
	}
	for i, p := range pages {
		if got := s.fresh(p); !slices.Equal(got, want[i]) {
			t.Errorf("page %d: fresh(%q) = %q, want %q", i, pages[i], got, want[i])
		}
	}
}
