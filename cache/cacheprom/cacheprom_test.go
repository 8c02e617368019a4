package cacheprom_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/wbd-dev/wbd/cache"
	"github.com/wbd-dev/wbd/cache/cacheprom"
	"github.com/wbd-dev/wbd/cache/cachetest"
)

var hashes = cache.Hashes[string, string, string]{
	UniquenessHash: func(id string) string { return id },
	VersionHash:    func(v string) string { return v },
}

func TestMain(m *testing.M) {
	// go-redis logs each failed dial of the outage at the end itself.
	redis.SetLogger(cache.RedisLogger{Logger: slog.New(slog.DiscardHandler)})
	slog.SetDefault(slog.New(slog.DiscardHandler)) // the example's Conn logs there
	m.Run()
}

func value(v string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return v, nil }
}

// TestMetrics drives two Caches through a known sequence of hits, misses,
// loads, errors and a shared load on a real redis-server, then reads the
// metrics back as Prometheus would scrape them.
func TestMetrics(t *testing.T) {
	srv := cachetest.NewServer(t)
	ctx := t.Context()
	conn, err := cache.Open(ctx, srv.URL, cache.WithConnLogger(slog.New(slog.DiscardHandler)), cache.WithOpTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	metrics := cacheprom.New(cacheprom.Opts{Namespace: "app"})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics)
	items := cache.New(conn, "items", hashes, cache.WithObserver(metrics))
	big := cache.New(conn, "big", hashes, cache.WithObserver(metrics), cache.WithMaxValueSize(10))

	call := func(c *cache.Cache[string, string, string], id, version string, load func(context.Context) (string, error), want cache.Source) {
		t.Helper()
		if _, src, _ := c.GetOrLoad(ctx, id, version, load); src != want {
			t.Fatalf("GetOrLoad(%s, %s) came from %v, want %v", id, version, src, want)
		}
		if err := c.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	call(items, "a", "v1", value("a1"), cache.SourceLoad)                                                             // miss, load, store
	call(items, "a", "v1", nil, cache.SourceCache)                                                                    // hit
	call(items, "a", "v2", value("a2"), cache.SourceLoad)                                                             // stale miss, load, store
	call(items, "b", "v1", func(context.Context) (string, error) { return "", errors.New("no b") }, cache.SourceLoad) // miss, load error
	call(big, "x", "v1", value("more than ten bytes"), cache.SourceLoad)                                              // miss, load, oversized

	// A Get that joins a running load: deduplicated.
	started, release := make(chan struct{}), make(chan struct{})
	set := make(chan error)
	go func() {
		_, err := items.Set(ctx, "d", "v1", func(context.Context) (string, error) {
			close(started)
			<-release
			return "d", nil
		})
		set <- err
	}()
	<-started
	got := make(chan bool)
	go func() { _, ok, _ := items.Get(ctx, "d", "v1"); got <- ok }()
	waitFor(t, func() bool { return items.Counters().Deduplicated == 1 })
	close(release)
	if err := <-set; err != nil || !<-got {
		t.Fatalf("Set = %v, joined Get found nothing", err)
	}

	srv.Kill()
	call(items, "c", "v1", value("c"), cache.SourceLoad) // redis error, miss, load, redis error (the store)

	want := `
# HELP app_cache_deduplicated_total Calls that joined a running read or load instead of starting one.
# TYPE app_cache_deduplicated_total counter
app_cache_deduplicated_total{cache="items"} 1
# HELP app_cache_hits_total Lookups that found the entry in Redis at the wanted version.
# TYPE app_cache_hits_total counter
app_cache_hits_total{cache="items"} 1
# HELP app_cache_load_errors_total Loader calls that failed or panicked.
# TYPE app_cache_load_errors_total counter
app_cache_load_errors_total{cache="items"} 1
# HELP app_cache_loads_total Loader calls.
# TYPE app_cache_loads_total counter
app_cache_loads_total{cache="big"} 1
app_cache_loads_total{cache="items"} 5
# HELP app_cache_misses_total Lookups that found nothing usable, stale misses included.
# TYPE app_cache_misses_total counter
app_cache_misses_total{cache="big"} 1
app_cache_misses_total{cache="items"} 4
# HELP app_cache_oversized_total Loaded values not stored for exceeding the maximum size.
# TYPE app_cache_oversized_total counter
app_cache_oversized_total{cache="big"} 1
# HELP app_cache_redis_errors_total Redis operations that failed, timeouts included.
# TYPE app_cache_redis_errors_total counter
app_cache_redis_errors_total{cache="items"} 2
# HELP app_cache_stale_misses_total Lookups that found the entry at another version.
# TYPE app_cache_stale_misses_total counter
app_cache_stale_misses_total{cache="items"} 1
# HELP app_cache_stores_total Entries written to Redis.
# TYPE app_cache_stores_total counter
app_cache_stores_total{cache="items"} 3
`
	counters := []string{"hits", "misses", "stale_misses", "loads", "load_errors", "deduplicated", "stores", "redis_errors", "oversized"}
	var names []string
	for _, c := range counters {
		names = append(names, "app_cache_"+c+"_total")
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	// The metrics are the Counters, event for event.
	n := items.Counters()
	for name, v := range map[string]uint64{"hits": n.Hits, "misses": n.Misses, "stale_misses": n.StaleMisses, "loads": n.Loads,
		"load_errors": n.LoadErrors, "deduplicated": n.Deduplicated, "stores": n.Stores, "redis_errors": n.RedisErrors, "oversized": n.Oversized} {
		if got := counterValue(t, reg, "app_cache_"+name+"_total", "items"); got != float64(v) {
			t.Errorf("app_cache_%s_total{cache=items} = %v, Counters says %d", name, got, v)
		}
	}

	// Latency: one observation per timed event.
	for _, tc := range []struct {
		metric string
		labels map[string]string
		count  uint64
	}{
		{"app_cache_read_duration_seconds", map[string]string{"cache": "items", "result": "hit"}, 1},
		{"app_cache_read_duration_seconds", map[string]string{"cache": "items", "result": "miss"}, 4},
		{"app_cache_read_duration_seconds", map[string]string{"cache": "big", "result": "miss"}, 1},
		{"app_cache_load_duration_seconds", map[string]string{"cache": "items"}, 5},
		{"app_cache_store_duration_seconds", map[string]string{"cache": "items"}, 3},
	} {
		if got := histogramCount(t, reg, tc.metric, tc.labels); got != tc.count {
			t.Errorf("%s%v has %d observations, want %d", tc.metric, tc.labels, got, tc.count)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
