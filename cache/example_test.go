package cache_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/wbd-dev/wbd/cache"
	"github.com/wbd-dev/wbd/cache/cachetest"
)

// Dataset is the value the examples cache: the result of a slow query.
type Dataset struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Rows    int    `json:"rows"`
}

// datasetHashes place a Dataset by its id, at the version of its row.
var datasetHashes = cache.Hashes[string, int, Dataset]{
	UniquenessHash: func(id string) string { return id },
	VersionHash:    strconv.Itoa,
}

// redisForExample starts a throwaway redis-server, as httptest starts an
// HTTP server; an app opens its own with cache.OpenEnv (REDIS_URL).
func redisForExample() *cachetest.Server {
	srv, err := cachetest.Start()
	if err != nil {
		log.Fatal(err)
	}
	return srv
}

// connForExample opens a Conn on a throwaway redis-server, as Example does;
// stop closes both.
func connForExample() (conn *cache.Conn, stop func()) {
	srv := redisForExample()
	conn, err := cache.Open(context.Background(), srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	return conn, func() { conn.Close(); srv.Close() }
}

// A cached loader: the first call computes the dataset and stores it, the
// next one reads it from Redis, as would the first call after a restart.
func Example() {
	srv := redisForExample()
	defer srv.Close()
	ctx := context.Background()

	conn, err := cache.Open(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	datasets := cache.New(conn, "datasets", datasetHashes)

	compute := func(ctx context.Context) (Dataset, error) {
		fmt.Println("computing hmis")
		return Dataset{ID: "hmis", Version: 1, Rows: 17476}, nil
	}
	for range 2 {
		ds, src, err := datasets.GetOrLoad(ctx, "hmis", 1, compute)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ds.Rows, "rows from the", src)
		// GetOrLoad answers before the value is stored; Wait for the store,
		// so that the next call finds it in Redis.
		datasets.Wait(ctx)
	}
	// Output:
	// computing hmis
	// 17476 rows from the load
	// 17476 rows from the cache
}

// A version bump: the version comes from the data's own row, so an update
// makes the stored entry stale and the next call loads it again, once.
func ExampleCache_GetOrLoad_versionBump() {
	conn, stop := connForExample()
	defer stop()
	ctx := context.Background()
	datasets := cache.New(conn, "datasets", datasetHashes)

	version := 1 // what SELECT version FROM datasets WHERE id = 'hmis' says
	get := func() {
		ds, src, err := datasets.GetOrLoad(ctx, "hmis", version, func(ctx context.Context) (Dataset, error) {
			return Dataset{ID: "hmis", Version: version}, nil
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("version", ds.Version, "from the", src)
		datasets.Wait(ctx)
	}
	get()
	get()
	version = 2 // UPDATE datasets SET version = version + 1
	get()
	get()
	// Output:
	// version 1 from the load
	// version 1 from the cache
	// version 2 from the load
	// version 2 from the cache
}

// Flush from an HTTP handler: the app's "Clear cache" button posts to it.
func ExampleFlushHandler() {
	conn, stop := connForExample()
	defer stop()
	ctx := context.Background()
	datasets := cache.New(conn, "datasets", datasetHashes)
	if _, err := datasets.Set(ctx, "hmis", 1, func(context.Context) (Dataset, error) { return Dataset{ID: "hmis"}, nil }); err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/caches/flush-all", cache.FlushHandler(conn))
	app := httptest.NewServer(mux)
	defer app.Close()

	resp, err := http.Post(app.URL+"/caches/flush-all", "application/json", nil)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.Status, " ", string(body))
	_, cached, _ := datasets.Get(ctx, "hmis", 1)
	fmt.Println("still cached:", cached)
	// Output:
	// 200 OK {"success":true}
	// still cached: false
}

// Redis down: Open still succeeds, every call goes to its loader within the
// operation timeout, and the cache is used again once Redis answers, with
// no restart of the app.
func ExampleOpen_redisDown() {
	srv := redisForExample()
	defer srv.Close()
	srv.Kill() // as when the instance's redis container restarts
	ctx := context.Background()

	conn, err := cache.Open(ctx, srv.URL) // logs that Redis is unavailable
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	fmt.Println("available:", conn.Available())
	datasets := cache.New(conn, "datasets", datasetHashes)
	ds, src, err := datasets.GetOrLoad(ctx, "hmis", 1, func(context.Context) (Dataset, error) {
		return Dataset{ID: "hmis", Rows: 3}, nil
	})
	fmt.Println(ds.Rows, "rows from the", src, "error:", err)

	srv.Restart()
	fmt.Println("ping:", conn.Ping(ctx), "available:", conn.Available()) // logs that Redis is back
	// Output:
	// available: false
	// 3 rows from the load error: <nil>
	// ping: <nil> available: true
}

// An Observer sees each event as it is counted; package cacheprom is one
// that exports them to Prometheus.
func ExampleWithObserver() {
	conn, stop := connForExample()
	defer stop()
	ctx := context.Background()
	logEvents := cache.ObserverFunc(func(e cache.Event) { fmt.Println(e.Cache, e.Kind) })
	datasets := cache.New(conn, "datasets", datasetHashes, cache.WithObserver(logEvents))

	load := func(context.Context) (Dataset, error) { return Dataset{ID: "hmis"}, nil }
	datasets.GetOrLoad(ctx, "hmis", 1, load)
	datasets.Wait(ctx)
	datasets.GetOrLoad(ctx, "hmis", 1, load)
	datasets.GetOrLoad(ctx, "hmis", 2, load)
	datasets.Wait(ctx)
	// Output:
	// datasets miss
	// datasets load
	// datasets store
	// datasets hit
	// datasets stale_miss
	// datasets miss
	// datasets load
	// datasets store
}
