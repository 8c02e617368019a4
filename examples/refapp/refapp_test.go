package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wbd-dev/wbd/cache"
	"github.com/wbd-dev/wbd/cache/cachetest"
)

// The computation's delay in tests: long enough that a cold request is
// obviously slower than a warm one, short enough for a quick test.
const testDelay = 300 * time.Millisecond

// logBuffer is an io.Writer safe for the concurrent writes of a logger.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newTestApp returns the app on a fresh database and the Redis at
// redisURL ("" for none), listening for version notifications.
func newTestApp(t *testing.T, redisURL string) (*app, *pgxpool.Pool, *logBuffer) {
	t.Helper()
	return newTestAppMaxAge(t, redisURL, defaultVersionMaxAge)
}

// newTestAppMaxAge is newTestApp with the versions' max age set, and the
// app changed by configure before it starts.
func newTestAppMaxAge(t *testing.T, redisURL string, maxAge time.Duration, configure ...func(*app)) (*app, *pgxpool.Pool, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	db, err := connectDB(t.Context(), testDatabase(t), logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	conn, err := cache.Open(t.Context(), redisURL, cache.WithConnLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	a := newApp(db, conn, testDelay, logger)
	a.versions.maxAge = maxAge
	for _, c := range configure {
		c(a)
	}
	t.Cleanup(a.start(t.Context()))
	waitForMode(t, a, "notified")
	return a, db, logs
}

// waitForMode waits until the app knows versions the way mode says.
func waitForMode(t *testing.T, a *app, mode string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for a.versions.mode() != mode {
		if time.Now().After(deadline) {
			t.Fatalf("versions still %s after 10s, want %s", a.versions.mode(), mode)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// afterUpdate waits, after an update of the hmis row to version want, until a
// request answers at that version, which it does once the app has its
// notification, and returns that answer.
func afterUpdate(t *testing.T, h http.Handler, want int) datasetResponse {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var r datasetResponse
		if code := get(t, h, "GET", "/datasets/hmis", &r); code == 200 && r.Version == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /datasets/hmis still at version %d 10s after the update to %d", r.Version, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// get requests path from h and decodes the JSON answer into v.
func get(t *testing.T, h http.Handler, method, path string, v any) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	if v != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatalf("%s %s: %v in %q", method, path, err, rec.Body)
		}
	}
	return rec.Code
}

// getDataset requests the hmis dataset and checks where it came from.
func getDataset(t *testing.T, h http.Handler, wantSource string, wantVersion int) datasetResponse {
	t.Helper()
	var r datasetResponse
	if code := get(t, h, "GET", "/datasets/hmis", &r); code != 200 {
		t.Fatalf("GET /datasets/hmis = %d", code)
	}
	if r.Source != wantSource || r.Version != wantVersion || r.Data.Version != wantVersion || r.ID != "hmis" {
		t.Fatalf("GET /datasets/hmis = source %s version %d (data %d), want %s %d", r.Source, r.Version, r.Data.Version, wantSource, wantVersion)
	}
	// A miss runs the slow computation; a hit does not.
	if cold := r.ElapsedMS >= float64(testDelay.Milliseconds()); cold != (wantSource == "database") {
		t.Errorf("source %s took %.1fms (computation takes %v)", r.Source, r.ElapsedMS, testDelay)
	}
	return r
}

// settle waits until the app's cache has stored what it loaded: a
// response is sent before its value is stored.
func settle(t *testing.T, a *app) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := a.datasets.Wait(ctx); err != nil {
		t.Fatalf("cache still busy after 10s: %v", err)
	}
}

// TestDatasetStory is the demo as an operator would walk through it.
func TestDatasetStory(t *testing.T) {
	rds := cachetest.NewServer(t)
	a, db, _ := newTestApp(t, rds.URL)
	h := a.handler()

	// Cold, then warm.
	first := getDataset(t, h, "database", 1)
	settle(t, a)
	if warm := getDataset(t, h, "cache", 1); warm.Data != first.Data {
		t.Errorf("cached data %+v differs from computed %+v", warm.Data, first.Data)
	}

	// A new version in Postgres is recomputed once, then cached.
	if _, err := db.Exec(t.Context(), `UPDATE datasets SET version = version + 1 WHERE id = 'hmis'`); err != nil {
		t.Fatal(err)
	}
	if r := afterUpdate(t, h, 2); r.Source != "database" || r.Data.Sum != 2*first.Data.Sum {
		t.Errorf("version 2 from the %s, sum %d; want it computed, sum %d", r.Source, r.Data.Sum, 2*first.Data.Sum)
	}
	settle(t, a)
	getDataset(t, h, "cache", 2)

	// The client's "Clear cache" button.
	var flushed map[string]any
	if code := get(t, h, "POST", "/caches/flush-all", &flushed); code != 200 || flushed["success"] != true {
		t.Errorf("POST /caches/flush-all = %d %v", code, flushed)
	}
	getDataset(t, h, "database", 2)

	var notFound map[string]string
	if code := get(t, h, "GET", "/datasets/nope", &notFound); code != 404 {
		t.Errorf("GET /datasets/nope = %d %v, want 404", code, notFound)
	}

	var health map[string]string
	if code := get(t, h, "GET", "/health", &health); code != 200 || health["postgres"] != "ok" || health["redis"] != "ok" {
		t.Errorf("GET /health = %d %v", code, health)
	}
	if got, want := health["version"], version; got != want {
		t.Errorf("GET /health: version %q, want the build's %q", got, want)
	}

	// Redis gone: still healthy and still answering, from Postgres.
	rds.Kill()
	if code := get(t, h, "GET", "/health", &health); code != 200 || health["redis"] != "down" {
		t.Errorf("GET /health with Redis down = %d %v, want 200 and redis down", code, health)
	}
	r := getDataset(t, h, "database", 2)
	if limit := float64((testDelay + time.Second).Milliseconds()); r.ElapsedMS > limit {
		t.Errorf("request with Redis down took %.0fms, want under %.0fms", r.ElapsedMS, limit)
	}
}

func TestConcurrentColdRequestsComputeOnce(t *testing.T) {
	rds := cachetest.NewServer(t)
	a, _, _ := newTestApp(t, rds.URL)
	h := a.handler()
	recs := make([]*httptest.ResponseRecorder, 20)
	var wg sync.WaitGroup
	for i := range recs {
		recs[i] = httptest.NewRecorder()
		wg.Go(func() { h.ServeHTTP(recs[i], httptest.NewRequest("GET", "/datasets/hmis", nil)) })
	}
	wg.Wait()
	for _, rec := range recs {
		var r datasetResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || rec.Code != 200 || r.Source != "database" || r.Data.Version != 1 {
			t.Errorf("concurrent cold request = %d %s", rec.Code, rec.Body)
		}
	}
	if n := a.datasets.Counters().Loads; n != 1 {
		t.Errorf("20 concurrent cold requests computed %d times, want once", n)
	}
}

func TestVersionChangedDuringComputationIsNotStored(t *testing.T) {
	rds := cachetest.NewServer(t)
	a, db, logs := newTestApp(t, rds.URL)
	a.delay = time.Second // room to act while the computation sleeps
	h := a.handler()
	updated := make(chan error, 1)
	go func() {
		// Once the computation is in its pg_sleep, after the request has
		// read version 1, the row moves to version 2.
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			var sleeping bool
			err := db.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
				WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_sleep%')`).Scan(&sleeping)
			if err != nil || sleeping {
				if err == nil {
					_, err = db.Exec(context.Background(), `UPDATE datasets SET version = 2 WHERE id = 'hmis'`)
				}
				updated <- err
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		updated <- errors.New("computation never seen in pg_sleep")
	}()
	var r datasetResponse
	if code := get(t, h, "GET", "/datasets/hmis", &r); code != 200 || r.Version != 1 || r.Data.Version != 2 {
		t.Fatalf("GET = %d, version %d, data version %d; want 200, 1, 2", code, r.Version, r.Data.Version)
	}
	if err := <-updated; err != nil {
		t.Fatal(err)
	}
	settle(t, a)
	if !strings.Contains(logs.String(), "version hashes don't match") {
		t.Errorf("mismatch not logged:\n%s", logs)
	}
	if a.datasets.Counters().Stores != 0 {
		t.Error("a value computed at version 2 for a version 1 request was stored")
	}
	if r := afterUpdate(t, h, 2); r.Source != "database" {
		t.Errorf("version 2 answered from the %s, want it computed", r.Source)
	}
}

func TestWithoutRedis(t *testing.T) {
	a, _, _ := newTestApp(t, "")
	h := a.handler()
	var health map[string]string
	if code := get(t, h, "GET", "/health", &health); code != 200 || health["redis"] != "disabled" {
		t.Errorf("GET /health = %d %v, want redis disabled", code, health)
	}
	getDataset(t, h, "database", 1)
	settle(t, a)
	getDataset(t, h, "database", 1)
	var flushed map[string]any
	if code := get(t, h, "POST", "/caches/flush-all", &flushed); code != 200 || flushed["success"] != true {
		t.Errorf("POST /caches/flush-all = %d %v", code, flushed)
	}
}

func TestHealthPostgresDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	db, err := pgxpool.New(t.Context(), postgresConfig{Host: "127.0.0.1", Port: port, User: "x", Database: "x"}.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := newApp(db, nil, testDelay, slog.New(slog.DiscardHandler))
	var health map[string]string
	if code := get(t, a.handler(), "GET", "/health", &health); code != 503 || health["postgres"] != "down" {
		t.Errorf("GET /health = %d %v, want 503 and postgres down", code, health)
	}
}

func TestHealthcheckCommand(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int // 0: nothing listening
		wantErr bool
	}{
		{"healthy", 200, false},
		{"unhealthy", 503, true},
		{"not running", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/health" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, `{"postgres":"ok"}`)
			}))
			port := strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
			if tc.status == 0 {
				srv.Close()
			} else {
				defer srv.Close()
			}
			env := map[string]string{"PORT": port}
			var out bytes.Buffer
			err := run(t.Context(), []string{"healthcheck"}, func(k string) string { return env[k] }, &out, &out)
			if (err != nil) != tc.wantErr {
				t.Errorf("healthcheck = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// TestRun starts the whole app as main does, checks it with the
// healthcheck subcommand, and stops it as SIGTERM would.
func TestRun(t *testing.T) {
	pc := testDatabase(t)
	rds := cachetest.NewServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	env := map[string]string{
		"PORT": port, "PGHOST": pc.Host, "PGPORT": strconv.Itoa(pc.Port), "PGDATABASE": pc.Database,
		"REDIS_URL": rds.URL, "REFAPP_COMPUTE_DELAY": "10ms",
	}
	getenv := func(k string) string { return env[k] }

	ctx, stop := context.WithCancel(t.Context())
	var logs logBuffer
	done := make(chan error)
	go func() { done <- run(ctx, nil, getenv, &logs, &logs) }()

	deadline := time.Now().Add(30 * time.Second)
	for run(t.Context(), []string{"healthcheck"}, getenv, &bytes.Buffer{}, &bytes.Buffer{}) != nil {
		select {
		case err := <-done:
			t.Fatalf("run ended: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("app not healthy after 30s:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get("http://127.0.0.1:" + port + "/datasets/hmis")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /datasets/hmis = %s", resp.Status)
	}

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after shutdown = %v", err)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatal("run did not return after its context ended")
	}
	for _, want := range []string{"postgres connected", "redis connected", "listening", "shutting down"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestParseConfig(t *testing.T) {
	files := map[string]string{"/run/secrets/pg": "s3cr:t@/\n"}
	readFile := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, errors.New("no such file")
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    config
		wantErr []string
	}{
		{
			name: "defaults",
			env:  map[string]string{"PGHOST": "db"},
			want: config{Port: 8000, ComputeDelay: 2 * time.Second, VersionMaxAge: time.Second,
				Postgres: postgresConfig{Host: "db", Port: 5432, User: "postgres", Database: "postgres"}},
		},
		{
			name: "everything set, password from file",
			env: map[string]string{"PORT": "9000", "PGHOST": "testing-postgres", "PGPORT": "5433", "PGUSER": "app",
				"PGDATABASE": "main", "PGPASSWORD": "ignored", "POSTGRES_PASSWORD_FILE": "/run/secrets/pg",
				"REDIS_URL": "redis://testing-redis:6379", "REFAPP_COMPUTE_DELAY": "500ms", "REFAPP_VERSION_MAX_AGE": "250ms"},
			want: config{Port: 9000, RedisURL: "redis://testing-redis:6379", ComputeDelay: 500 * time.Millisecond, VersionMaxAge: 250 * time.Millisecond,
				Postgres: postgresConfig{Host: "testing-postgres", Port: 5433, User: "app", Database: "main", Password: "s3cr:t@/"}},
		},
		{
			name: "password from PGPASSWORD",
			env:  map[string]string{"PGHOST": "db", "PGPASSWORD": "pw"},
			want: config{Port: 8000, ComputeDelay: 2 * time.Second, VersionMaxAge: time.Second,
				Postgres: postgresConfig{Host: "db", Port: 5432, User: "postgres", Database: "postgres", Password: "pw"}},
		},
		{
			name: "every problem at once",
			env: map[string]string{"PORT": "0", "PGPORT": "x", "POSTGRES_PASSWORD_FILE": "/missing", "REFAPP_COMPUTE_DELAY": "2",
				"REFAPP_VERSION_MAX_AGE": "0s"},
			wantErr: []string{"PORT: must be 1-65535", "PGHOST: required", "PGPORT: must be", "POSTGRES_PASSWORD_FILE", "REFAPP_COMPUTE_DELAY",
				"REFAPP_VERSION_MAX_AGE: must be a duration such as 1s"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseConfig(func(k string) string { return tc.env[k] }, readFile)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("parseConfig =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}

	// The URL escapes what a password may hold.
	pc := postgresConfig{Host: "db", Port: 5432, User: "app", Database: "main", Password: "s3cr:t@/"}
	if got, want := pc.URL(), "postgres://app:s3cr%3At%40%2F@db:5432/main"; got != want {
		t.Errorf("URL = %s, want %s", got, want)
	}
}
