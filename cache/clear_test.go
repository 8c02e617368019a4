package cache

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/wbd-dev/wbd/cache/cachetest"
)

func TestClear(t *testing.T) {
	c, rdb, _ := newItems(t)
	ctx := t.Context()
	for _, id := range []string{"a", "b"} {
		if _, err := c.Set(ctx, id, "v1", func(context.Context) (item, error) { return item{ID: id}, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Clear(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got := rdb.Keys(ctx, "*").Val(); len(got) != 1 || got[0] != "cache:items:b" {
		t.Errorf("keys after Clear(a) = %q, want [cache:items:b]", got)
	}
}

// fill writes n keys under prefix in pipelined batches.
func fill(t testing.TB, rdb redis.UniversalClient, prefix string, n int) {
	t.Helper()
	const batch = 10_000
	for start := 0; start < n; start += batch {
		pipe := rdb.Pipeline()
		for i := start; i < min(start+batch, n); i++ {
			pipe.Set(t.Context(), fmt.Sprintf("cache:%s:%d", prefix, i), `{"versionHash":"v","data":1}`, 0)
		}
		if _, err := pipe.Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestClearAll(t *testing.T) {
	srv := cachetest.NewServer(t)
	conn, _ := open(t, srv.URL)
	rdb := conn.Client()
	// Every cleared prefix would, unescaped in the MATCH pattern, also
	// match some of the kept ones.
	kept := map[string]int{"ds": 10, "dx": 10, "d": 10, `d\`: 10, "other": 10}
	for _, tc := range []struct {
		prefix string
		n      int
	}{
		{"d*", 100_000},
		{"d?", 100},
		{"d[sx]", 100},
		{`d\*`, 100},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			if err := rdb.FlushDB(t.Context()).Err(); err != nil {
				t.Fatal(err)
			}
			for p, n := range kept {
				fill(t, rdb, p, n)
			}
			fill(t, rdb, tc.prefix, tc.n)

			c := New(conn, tc.prefix, itemHashes)
			if err := c.ClearAll(t.Context()); err != nil {
				t.Fatal(err)
			}
			st, err := Stats(t.Context(), rdb)
			if err != nil {
				t.Fatal(err)
			}
			if n := st.ByPrefix[tc.prefix]; n != 0 {
				t.Errorf("%d keys of %q left", n, tc.prefix)
			}
			for p, n := range kept {
				if got := st.ByPrefix[p]; got != n {
					t.Errorf("prefix %q has %d keys after clearing %q, want %d", p, got, tc.prefix, n)
				}
			}
		})
	}
}
