package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wbd-dev/wbd/cache/cachetest"
)

type benchRow struct {
	Facility string  `json:"facility"`
	Month    string  `json:"month"`
	Value    float64 `json:"value"`
}

type benchValue struct {
	ID   string     `json:"id"`
	Rows []benchRow `json:"rows"`
}

// benchValueOfSize returns a value whose entry is about size bytes.
func benchValueOfSize(size int) benchValue {
	v := benchValue{ID: "hmis"}
	for n := 0; n < size-60; n += 60 { // each row is about 60 bytes of JSON
		v.Rows = append(v.Rows, benchRow{Facility: fmt.Sprintf("Facility %06d", len(v.Rows)), Month: "2024-01", Value: float64(len(v.Rows)) * 1.5})
	}
	return v
}

var benchSizes = []struct {
	name string
	size int
}{{"1KB", 1 << 10}, {"1MB", 1 << 20}}

func benchCache(b *testing.B, url string) (*Cache[string, string, benchValue], redis.UniversalClient) {
	b.Helper()
	// A generous operation timeout: on a machine busy with other work a
	// read can take over the default 100ms, and a hit benchmark must not
	// turn into a miss.
	conn, err := Open(b.Context(), url, WithConnLogger(slog.New(slog.DiscardHandler)), WithOpTimeout(5*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return New(conn, "bench", Hashes[string, string, benchValue]{
		UniquenessHash: func(s string) string { return s },
		VersionHash:    func(s string) string { return s },
	}), conn.Client()
}

// benchKeys numbers the keys of benchmarks that need a new one per op,
// across the runs of a benchmark function.
var benchKeys atomic.Int64

func constLoad(v benchValue) func(context.Context) (benchValue, error) {
	return func(context.Context) (benchValue, error) { return v, nil }
}

// BenchmarkHit is a GetOrLoad answered from Redis next to what any caller
// would do by hand with the same bytes on the same redis-server: a raw
// go-redis GETEX (the command a hit sends) and a json.Unmarshal of the
// entry. Interleaved runs both in turn in every op and reports their
// ratio.
func BenchmarkHit(b *testing.B) {
	srv := cachetest.NewServer(b)
	for _, sz := range benchSizes {
		c, rdb := benchCache(b, srv.URL)
		v := benchValueOfSize(sz.size)
		if _, err := c.Set(b.Context(), sz.name, "v1", constLoad(v)); err != nil {
			b.Fatal(err)
		}
		key := c.Key(sz.name)
		entry := rdb.Get(b.Context(), key).Val()
		b.Logf("%s entry: %d bytes", sz.name, len(entry))

		hit := func(b *testing.B) {
			if _, src, err := c.GetOrLoad(b.Context(), sz.name, "v1", nil); err != nil || src != SourceCache {
				b.Fatalf("GetOrLoad = %v, %v", src, err)
			}
		}
		raw := func(b *testing.B) {
			rawGETEXUnmarshal(b, rdb, key)
		}
		b.Run(sz.name+"/GetOrLoad", func(b *testing.B) {
			b.SetBytes(int64(len(entry)))
			for b.Loop() {
				hit(b)
			}
		})
		b.Run(sz.name+"/RawGETEXUnmarshal", func(b *testing.B) {
			b.SetBytes(int64(len(entry)))
			for b.Loop() {
				raw(b)
			}
		})
		b.Run(sz.name+"/Interleaved", func(b *testing.B) {
			cachetest.Interleaved(b, "hit", hit, "raw", raw)
		})
	}
}

// rawGETEXUnmarshal is a hit done by hand: the GETEX a hit sends, with the
// default read TTL, and encoding/json on the whole entry.
func rawGETEXUnmarshal(b *testing.B, rdb redis.UniversalClient, key string) {
	raw, err := rdb.GetEx(b.Context(), key, DefaultReadTTL).Bytes()
	if err != nil {
		b.Fatal(err)
	}
	var e struct {
		VersionHash string     `json:"versionHash"`
		Data        benchValue `json:"data"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMissStore is TimCacheC's miss path, a Get that finds nothing then
// a Set that loads (instantly here) and stores, on a new key each time.
func BenchmarkMissStore(b *testing.B) {
	srv := cachetest.NewServer(b)
	c, _ := benchCache(b, srv.URL)
	v := benchValueOfSize(1 << 10)
	before := c.Counters().Stores
	ops := 0
	for b.Loop() {
		key := strconv.FormatInt(benchKeys.Add(1), 10)
		ops++
		if _, ok, _ := c.Get(b.Context(), key, "v1"); ok {
			b.Fatal("hit")
		}
		if _, err := c.Set(b.Context(), key, "v1", constLoad(v)); err != nil {
			b.Fatal(err)
		}
	}
	if n := c.Counters().Stores - before; n != uint64(ops) {
		b.Fatalf("stores = %d, want %d", n, ops)
	}
}

// BenchmarkGetOrLoad100 has 100 goroutines call GetOrLoad for one key:
// Cold on a new key each op (one read, one load, shared), Hot on a stored
// key (reads shared while they overlap).
func BenchmarkGetOrLoad100(b *testing.B) {
	const callers = 100
	srv := cachetest.NewServer(b)
	c, _ := benchCache(b, srv.URL)
	v := benchValueOfSize(1 << 10)

	b.Run("Cold", func(b *testing.B) {
		var loads atomic.Int64
		load := func(context.Context) (benchValue, error) { loads.Add(1); return v, nil }
		ops := 0
		for b.Loop() {
			key := "cold" + strconv.FormatInt(benchKeys.Add(1), 10)
			ops++
			var wg sync.WaitGroup
			for range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, _, err := c.GetOrLoad(b.Context(), key, "v1", load); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
		}
		b.ReportMetric(float64(loads.Load())/float64(ops), "loads/op")
	})

	b.Run("Hot", func(b *testing.B) {
		if _, err := c.Set(b.Context(), "hot", "v1", constLoad(v)); err != nil {
			b.Fatal(err)
		}
		before := c.Counters()
		b.SetParallelism((callers + 1) / 2) // GOMAXPROCS 2: 100 goroutines
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := c.GetOrLoad(b.Context(), "hot", "v1", nil); err != nil {
					b.Error(err)
				}
			}
		})
		after := c.Counters()
		calls := float64(after.Hits - before.Hits + after.Deduplicated - before.Deduplicated)
		b.ReportMetric(float64(after.Hits-before.Hits)/calls, "reads/call")
	})
}

// BenchmarkRedisDown is a GetOrLoad while Redis is gone (a closed port): one
// quick failed operation, then the loader.
func BenchmarkRedisDown(b *testing.B) {
	srv := cachetest.NewServer(b)
	c, _ := benchCache(b, srv.URL)
	srv.Kill()
	v := benchValueOfSize(1 << 10)
	for b.Loop() {
		key := strconv.FormatInt(benchKeys.Add(1), 10)
		if _, _, err := c.GetOrLoad(b.Context(), key, "v1", constLoad(v)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisDownGoRedisDefaults is the first GET on a go-redis client
// with its default options against a Redis that is gone, what each cache
// call would cost without this package's options.
func BenchmarkRedisDownGoRedisDefaults(b *testing.B) {
	srv := cachetest.NewServer(b)
	srv.Kill()
	for b.Loop() {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
		if err := rdb.Get(b.Context(), "k").Err(); err == nil {
			b.Fatal("GET succeeded on a dead Redis")
		}
		rdb.Close()
	}
}
