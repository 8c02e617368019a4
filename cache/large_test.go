package cache

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/cache/cachetest"
)

// bigItem is a value whose entry is above the 16 MiB that used to be the
// default cap, and above the size from which reads get a longer deadline.
func bigItem() item { return item{ID: "big", Body: strings.Repeat("x", 20<<20)} }

// TestLargeValue stores a 20 MiB value with the default options (cap and
// operation timeout) and reads it back from another process's Cache, which
// knows nothing of its size, as an app restarted would.
func TestLargeValue(t *testing.T) {
	srv := cachetest.NewServer(t)
	conn, _ := open(t, srv.URL) // default operation timeout
	c := New(conn, "items", itemHashes)
	want := bigItem()
	if _, err := c.Set(t.Context(), "big", "v1", func(context.Context) (item, error) { return want, nil }); err != nil {
		t.Fatal(err)
	}
	if n := c.Counters(); n.Stores != 1 || n.Oversized != 0 {
		t.Fatalf("after Set of a 20 MiB value: %+v, want it stored", n)
	}

	restarted, recs := open(t, srv.URL)
	got, src, err := New(restarted, "items", itemHashes).GetOrLoad(t.Context(), "big", "v1", nil)
	if err != nil || src != SourceCache || got != want {
		t.Fatalf("GetOrLoad of the 20 MiB value = source %v, error %v, equal %v; want it from the cache", src, err, got == want)
	}
	if n := recs.count("redis unavailable"); n != 0 {
		t.Errorf("reading a large value logged an outage:\n%s", recs)
	}
}

// TestLargeValueOutlastsOpTimeout makes the first read of a large entry run
// out of time for sure, as a read of hundreds of megabytes would within
// 100ms: STRLEN says it is large, it is read again with the time its size
// needs, and the next read goes straight to that deadline.
func TestLargeValueOutlastsOpTimeout(t *testing.T) {
	c, rdb, recs := newItems(t)
	want := bigItem()
	if _, err := c.Set(t.Context(), "big", "v1", func(context.Context) (item, error) { return want, nil }); err != nil {
		t.Fatal(err)
	}

	fresh := New(c.conn, "items", itemHashes) // knows no sizes
	fresh.cfg.firstRead = time.Nanosecond
	for i := range 2 {
		got, src, err := fresh.GetOrLoad(t.Context(), "big", "v1", nil)
		if err != nil || src != SourceCache || got != want {
			t.Fatalf("read %d: source %v, error %v, equal %v; want it from the cache", i, src, err, got == want)
		}
	}
	if got := strlenCalls(t, rdb.Info(t.Context(), "commandstats").Val()); got != 1 {
		t.Errorf("STRLEN sent %d times for two reads, want once: the size is remembered", got)
	}
	if n := recs.count("redis unavailable"); n != 0 || !c.conn.Available() {
		t.Errorf("a large entry's late read counted as an outage:\n%s", recs)
	}
}

// strlenCalls reads the STRLEN count of an INFO commandstats reply.
func strlenCalls(t *testing.T, info string) int {
	t.Helper()
	for line := range strings.Lines(info) {
		if rest, ok := strings.CutPrefix(line, "cmdstat_strlen:calls="); ok {
			n, err := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
			if err != nil {
				t.Fatalf("commandstats line %q: %v", line, err)
			}
			return n
		}
	}
	return 0
}
