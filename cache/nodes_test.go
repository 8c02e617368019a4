package cache

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wbd-dev/wbd/cache/cachetest"
)

// TestCluster runs a Cache, Stats, ClearAll and Flush on a real three-master
// Redis Cluster through NewConn: every command that walks the keyspace
// must visit each master, and clearing must not send one UNLINK for keys
// of different slots.
func TestCluster(t *testing.T) {
	cl := cachetest.NewCluster(t, 3)
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs, ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	recs := &records{}
	conn := NewConn(t.Context(), client, WithOpTimeout(5*time.Second), WithConnLogger(slog.New(recs)))
	if !conn.Available() || recs.count("redis connected") != 1 {
		t.Fatalf("NewConn on a cluster: Available %v, log:\n%s", conn.Available(), recs)
	}
	ctx := t.Context()
	items, other := New(conn, "items", itemHashes), New(conn, "other", itemHashes)
	const n = 60
	for i := range n {
		id := fmt.Sprintf("id%d", i)
		if _, err := items.Set(ctx, id, "v1", func(context.Context) (item, error) { return item{ID: id}, nil }); err != nil {
			t.Fatal(err)
		}
		if got, src, err := items.GetOrLoad(ctx, id, "v1", nil); err != nil || src != SourceCache || got.ID != id {
			t.Fatalf("GetOrLoad(%s) = %+v, %v, %v; want it from the cache", id, got, src, err)
		}
	}
	if _, err := other.Set(ctx, "x", "v1", func(context.Context) (item, error) { return item{ID: "x"}, nil }); err != nil {
		t.Fatal(err)
	}
	perMaster := map[string]int64{}
	for _, s := range cl.Servers {
		node := redis.NewClient(&redis.Options{Addr: s.Addr})
		perMaster[s.Addr] = node.DBSize(ctx).Val()
		node.Close()
	}
	for addr, keys := range perMaster {
		if keys == 0 {
			t.Fatalf("master %s holds no keys (%v): the test would not show a walk over every master", addr, perMaster)
		}
	}

	st, err := Stats(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	if st.Keys != n+1 || st.ByPrefix["items"] != n || st.ByPrefix["other"] != 1 || st.UsedMemory <= 0 {
		t.Errorf("Stats on the cluster = %+v, want %d keys, %d under items, 1 under other", st, n+1, n)
	}
	if err := items.ClearAll(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err = Stats(ctx, client); err != nil || st.Keys != 1 || st.ByPrefix["other"] != 1 {
		t.Errorf("Stats after ClearAll of items = %+v, %v; want only other's key", st, err)
	}
	if err := conn.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err = Stats(ctx, client); err != nil || st.Keys != 0 {
		t.Errorf("Stats after Flush = %+v, %v; want no keys", st, err)
	}
	if err := conn.Close(); err != nil || client.Ping(ctx).Err() != nil {
		t.Errorf("Close of a Conn on the caller's client: %v; the client must stay open: %v", err, client.Ping(ctx).Err())
	}
}
