package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/cache"
	"github.com/wbd-dev/wbd/cache/cachetest"
)

// BenchmarkCachedRequest is GET /datasets/hmis answered from the cache,
// served in process (no TCP between client and app), next to the cache hit
// it makes: the request adds the version lookup, the routing, the log line
// and the JSON answer. Request is the app as it runs, its versions kept by
// notifications; RequestQueried is the app whose notifications are down,
// which queries the version in Postgres on every request. The Interleaved
// runs put each beside the bare hit, in turn in every op, and report the
// ratio.
func BenchmarkCachedRequest(b *testing.B) {
	rds := cachetest.NewServer(b)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := connectDB(b.Context(), testDatabase(b), logger)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	conn, err := cache.Open(b.Context(), rds.URL, cache.WithConnLogger(logger), cache.WithOpTimeout(5*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })

	a := newApp(db, conn, time.Millisecond, logger)
	b.Cleanup(a.start(b.Context()))
	for a.versions.mode() != "notified" {
		time.Sleep(5 * time.Millisecond)
	}
	queried := newApp(db, conn, time.Millisecond, logger) // never started: no notifications
	request := func(h http.Handler) func(*testing.B) {
		return func(b *testing.B) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/datasets/hmis", nil))
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"source":"cache"`) {
				b.Fatalf("GET /datasets/hmis = %d %s", rec.Code, rec.Body)
			}
		}
	}
	rec := httptest.NewRecorder()
	a.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/datasets/hmis", nil)) // computes and stores
	if err := a.datasets.Wait(b.Context()); err != nil {
		b.Fatal(err)
	}
	hit := func(b *testing.B) {
		if _, src, err := a.datasets.GetOrLoad(b.Context(), "hmis", 1, nil); err != nil || src != cache.SourceCache {
			b.Fatalf("GetOrLoad = %v, %v", src, err)
		}
	}
	notified, polled := request(a.handler()), request(queried.handler())

	b.Run("Request", func(b *testing.B) {
		before := a.versions.queries.Load()
		for b.Loop() {
			notified(b)
		}
		// One a second or so, as the versions' max age runs out.
		b.ReportMetric(float64(a.versions.queries.Load()-before)/float64(b.N), "version-queries/op")
	})
	b.Run("RequestQueried", func(b *testing.B) {
		for b.Loop() {
			polled(b)
		}
	})
	b.Run("Hit", func(b *testing.B) {
		for b.Loop() {
			hit(b)
		}
	})
	b.Run("VersionQuery", func(b *testing.B) {
		for b.Loop() {
			if _, err := datasetVersion(b.Context(), db, "hmis"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Interleaved", func(b *testing.B) {
		cachetest.Interleaved(b, "request", notified, "hit", hit)
	})
	b.Run("InterleavedQueried", func(b *testing.B) {
		cachetest.Interleaved(b, "request", polled, "hit", hit)
	})
}

// BenchmarkUpdateSeen is how long after an UPDATE's commit returned to the
// writer the app has dropped the version it held, by the notification alone
// (the max age is an hour): the window in which a request could still be
// answered at the old version. It reports the median and the largest.
func BenchmarkUpdateSeen(b *testing.B) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := connectDB(b.Context(), testDatabase(b), logger)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	a := newApp(db, nil, time.Millisecond, logger)
	a.versions.maxAge = time.Hour
	b.Cleanup(a.start(b.Context()))
	for a.versions.mode() != "notified" {
		time.Sleep(5 * time.Millisecond)
	}
	held := func() bool {
		a.versions.mu.Lock()
		defer a.versions.mu.Unlock()
		_, ok := a.versions.known["hmis"]
		return ok
	}
	var seen []time.Duration
	version := 1
	for b.Loop() {
		if _, err := a.versions.get(b.Context(), "hmis"); err != nil || !held() {
			b.Fatalf("version not held: %v", err)
		}
		version++
		if _, err := db.Exec(b.Context(), `UPDATE datasets SET version = $1 WHERE id = 'hmis'`, version); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		for held() {
			time.Sleep(20 * time.Microsecond) // a poll that leaves the CPU to the listener
		}
		seen = append(seen, time.Since(committed))
	}
	slices.Sort(seen)
	b.ReportMetric(float64(seen[len(seen)/2].Nanoseconds()), "median-ns-after-commit")
	b.ReportMetric(float64(seen[len(seen)-1].Nanoseconds()), "max-ns-after-commit")
}
