package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/wbd-dev/wbd/cache"
)

// shutdownTimeout bounds the wait for requests in progress at SIGTERM;
// Docker's default grace period is 10s.
const shutdownTimeout = 8 * time.Second

// app holds what the handlers need.
type app struct {
	db       *pgxpool.Pool
	versions *versions
	redis    *cache.Conn
	datasets *cache.Cache[string, int, dataset]
	delay    time.Duration
	logger   *slog.Logger
}

func newApp(db *pgxpool.Pool, conn *cache.Conn, delay time.Duration, logger *slog.Logger) *app {
	return &app{
		db:       db,
		versions: newVersions(db, defaultVersionMaxAge, logger),
		redis:    conn,
		// The plan's dataset caches: uniqueness by id, version from the
		// row, and the version the computation saw read back from its
		// result, so a row updated mid-computation is not stored as the
		// version the request asked for.
		datasets: cache.New(conn, "datasets", cache.Hashes[string, int, dataset]{
			UniquenessHash: func(id string) string { return id },
			VersionHash:    strconv.Itoa,
			ParseData: func(d dataset) cache.Parsed {
				return cache.Parsed{ShouldStore: true, UniquenessHash: d.ID, VersionHash: strconv.Itoa(d.Version)}
			},
		}),
		delay:  delay,
		logger: logger,
	}
}

// defaultVersionMaxAge is REFAPP_VERSION_MAX_AGE's default.
const defaultVersionMaxAge = time.Second

// start runs what the app keeps up in the background, the version
// notifications, until stop.
func (a *app) start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.versions.listen(ctx)
	}()
	return func() { cancel(); <-done }
}

func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /datasets/{id}", a.getDataset)
	mux.Handle("/caches/flush-all", cache.FlushHandler(a.redis))
	mux.HandleFunc("GET /health", a.health)
	mux.HandleFunc("GET /events", events)
	return mux
}

// datasetResponse is the answer of GET /datasets/{id}.
type datasetResponse struct {
	ID        string  `json:"id"`
	Version   int     `json:"version"`
	Data      dataset `json:"data"`
	Source    string  `json:"source"` // "cache" or "database"
	ElapsedMS float64 `json:"elapsedMs"`
}

func (a *app) getDataset(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, id := r.Context(), r.PathValue("id")
	version, err := a.versions.get(ctx, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	data, src, err := a.datasets.GetOrLoad(ctx, id, version, func(ctx context.Context) (dataset, error) {
		return computeDataset(ctx, a.db, id, a.delay)
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	resp := datasetResponse{ID: id, Version: version, Data: data, Source: "database"}
	if src == cache.SourceCache {
		resp.Source = "cache"
	}
	resp.ElapsedMS = math.Round(float64(time.Since(start).Microseconds())/10) / 100
	a.logger.Info("dataset served", "id", id, "version", version, "source", resp.Source, "elapsed_ms", resp.ElapsedMS)
	writeJSON(w, http.StatusOK, resp)
}

func (a *app) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case r.Context().Err() != nil:
		// The client went away; there is nobody to answer.
	default:
		a.logger.Error("request failed", "path", r.URL.Path, "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database unavailable"})
	}
}

// health reports each dependency, and the build's version. Redis being
// down is not unhealthy: the app then answers from Postgres, only slower.
func (a *app) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	st := map[string]string{"postgres": "ok", "redis": "ok", "version": version, "versions": a.versions.mode()}
	if err := a.db.Ping(ctx); err != nil {
		st["postgres"] = "down"
	}
	switch err := a.redis.Ping(ctx); {
	case errors.Is(err, cache.ErrDisabled):
		st["redis"] = "disabled"
	case err != nil:
		st["redis"] = "down"
	}
	status := http.StatusOK
	if st["postgres"] != "ok" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, st)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serve runs the app until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, cfg config, logger *slog.Logger) error {
	redis.SetLogger(cache.RedisLogger{Logger: logger})
	db, err := connectDB(ctx, cfg.Postgres, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := cache.Open(ctx, cfg.RedisURL, cache.WithConnLogger(logger))
	if err != nil {
		return err
	}
	defer conn.Close()

	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", cfg.Port))
	if err != nil {
		return err
	}
	a := newApp(db, conn, cfg.ComputeDelay, logger)
	a.versions.maxAge = cfg.VersionMaxAge
	defer a.start(ctx)()
	srv := &http.Server{
		Handler:           a.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// Requests keep the background context: cancelling them at the
		// signal would fail the very requests Shutdown waits for.
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String(), "version", version, "compute_delay", cfg.ComputeDelay.String(),
		"version_max_age", cfg.VersionMaxAge.String())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	// Store what the last requests computed before the Conn closes.
	return errors.Join(err, a.datasets.Wait(sctx))
}
