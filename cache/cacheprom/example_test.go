package cacheprom_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wbd-dev/wbd/cache"
	"github.com/wbd-dev/wbd/cache/cacheprom"
	"github.com/wbd-dev/wbd/cache/cachetest"
)

// An app's caches on its /metrics page: a miss, its load, then a hit.
func Example() {
	srv, err := cachetest.Start() // a throwaway redis-server; an app calls cache.OpenEnv
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	conn, err := cache.Open(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	metrics := cacheprom.New(cacheprom.Opts{Namespace: "myapp"})
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics)
	datasets := cache.New(conn, "datasets", hashes, cache.WithObserver(metrics))
	for range 2 {
		datasets.GetOrLoad(ctx, "hmis", "v1", value("17476 rows"))
		datasets.Wait(ctx)
	}

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	app := httptest.NewServer(mux)
	defer app.Close()
	resp, err := http.Get(app.URL + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		if line := sc.Text(); strings.HasPrefix(line, "myapp_cache_") && strings.Contains(line, "_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// myapp_cache_hits_total{cache="datasets"} 1
	// myapp_cache_loads_total{cache="datasets"} 1
	// myapp_cache_misses_total{cache="datasets"} 1
	// myapp_cache_stores_total{cache="datasets"} 1
}
