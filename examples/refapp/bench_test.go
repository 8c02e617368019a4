package main

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/cache"
	"github.com/wbd-dev/wbd/cache/cachetest"
)

// BenchmarkCachedRequest is GET /datasets/hmis answered from the cache,
// served in process (no TCP between client and app), next to the cache hit
// it makes: the request adds the version query to Postgres, the routing, the
// log line and the JSON answer. Interleaved runs both in turn in every op,
// so a machine busy with other work slows both alike, and reports their
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
	h := a.handler()
	request := func(b *testing.B) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/datasets/hmis", nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"source":"cache"`) {
			b.Fatalf("GET /datasets/hmis = %d %s", rec.Code, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/datasets/hmis", nil)) // computes and stores
	if err := a.datasets.Wait(b.Context()); err != nil {
		b.Fatal(err)
	}
	hit := func(b *testing.B) {
		if _, src, err := a.datasets.GetOrLoad(b.Context(), "hmis", 1, nil); err != nil || src != cache.SourceCache {
			b.Fatalf("GetOrLoad = %v, %v", src, err)
		}
	}

	b.Run("Request", func(b *testing.B) {
		for b.Loop() {
			request(b)
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
	b.Run("QueryThenHit", func(b *testing.B) {
		for b.Loop() {
			if _, err := datasetVersion(b.Context(), db, "hmis"); err != nil {
				b.Fatal(err)
			}
			hit(b)
		}
	})
	b.Run("Interleaved", func(b *testing.B) {
		var tReq, tHit time.Duration
		for b.Loop() {
			t0 := time.Now()
			request(b)
			t1 := time.Now()
			hit(b)
			tReq, tHit = tReq+t1.Sub(t0), tHit+time.Since(t1)
		}
		b.ReportMetric(float64(tReq.Nanoseconds())/float64(b.N), "request-ns/op")
		b.ReportMetric(float64(tHit.Nanoseconds())/float64(b.N), "hit-ns/op")
		b.ReportMetric(float64(tReq)/float64(tHit), "request/hit")
	})
}
