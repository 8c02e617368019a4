package main

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wbd-dev/wbd/cache/cachetest"
)

// TestVersionsNotified: while the app listens, cached requests ask Postgres
// nothing, and an update reaches them by its notification alone (the
// versions' max age is an hour here, so nothing else could).
func TestVersionsNotified(t *testing.T) {
	rds := cachetest.NewServer(t)
	a, db, _ := newTestAppMaxAge(t, rds.URL, time.Hour)
	h := a.handler()
	getDataset(t, h, "database", 1)
	settle(t, a)
	getDataset(t, h, "cache", 1)
	before := a.versions.queries.Load()
	for range 20 {
		getDataset(t, h, "cache", 1)
	}
	if n := a.versions.queries.Load() - before; n != 0 {
		t.Errorf("20 cached requests made %d version queries, want none", n)
	}

	sqlExec(t, db, `UPDATE datasets SET version = 2 WHERE id = 'hmis'`)
	if r := afterUpdate(t, h, 2); r.Source != "database" {
		t.Errorf("version 2 answered from the %s, want it computed", r.Source)
	}
	// A new row, and a TRUNCATE that drops every version known.
	sqlExec(t, db, `INSERT INTO datasets (id, version) VALUES ('other', 7)`)
	if code := get(t, h, "GET", "/datasets/other", nil); code != 200 {
		t.Fatalf("GET /datasets/other = %d", code)
	}
	sqlExec(t, db, `TRUNCATE datasets`)
	deadline := time.Now().Add(10 * time.Second)
	for get(t, h, "GET", "/datasets/hmis", nil) != 404 {
		if time.Now().After(deadline) {
			t.Fatal("GET /datasets/hmis still answers 10s after TRUNCATE")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestVersionsFallback: when the listening connection dies, every request
// queries the version, so an update made before it is back is answered
// fresh at once; once it is back, notifications carry updates again.
func TestVersionsFallback(t *testing.T) {
	rds := cachetest.NewServer(t)
	// Dials fail while blocked, as while Postgres restarts.
	var blocked atomic.Bool
	a, db, logs := newTestAppMaxAge(t, rds.URL, time.Hour, func(a *app) {
		dial := a.versions.connect
		a.versions.connect = func(ctx context.Context) (*pgx.Conn, error) {
			if blocked.Load() {
				return nil, errors.New("dial blocked by the test")
			}
			return dial(ctx)
		}
	})
	h := a.handler()
	getDataset(t, h, "database", 1)
	settle(t, a)
	getDataset(t, h, "cache", 1)

	blocked.Store(true)
	sqlExec(t, db, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = '`+versionsAppName+`' AND datname = current_database()`)
	waitForMode(t, a, "queried")
	var health map[string]string
	if get(t, h, "GET", "/health", &health); health["versions"] != "queried" {
		t.Errorf("GET /health = %v, want versions queried", health)
	}

	sqlExec(t, db, `UPDATE datasets SET version = 2 WHERE id = 'hmis'`)
	getDataset(t, h, "database", 2) // the very next request, no waiting
	settle(t, a)
	before := a.versions.queries.Load()
	getDataset(t, h, "cache", 2)
	getDataset(t, h, "cache", 2)
	if n := a.versions.queries.Load() - before; n != 2 {
		t.Errorf("2 requests without notifications made %d version queries, want 2", n)
	}

	blocked.Store(false)
	waitForMode(t, a, "notified")
	sqlExec(t, db, `UPDATE datasets SET version = 3 WHERE id = 'hmis'`)
	if r := afterUpdate(t, h, 3); r.Source != "database" {
		t.Errorf("version 3 answered from the %s, want it computed", r.Source)
	}
	for _, want := range []string{"dataset version notifications lost", "dial blocked by the test"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// TestVersionsMaxAge: with no notification at all (the trigger disabled),
// an update is still answered fresh once the known version is older than
// the max age.
func TestVersionsMaxAge(t *testing.T) {
	rds := cachetest.NewServer(t)
	a, db, _ := newTestAppMaxAge(t, rds.URL, 200*time.Millisecond)
	h := a.handler()
	getDataset(t, h, "database", 1)
	settle(t, a)
	getDataset(t, h, "cache", 1)

	sqlExec(t, db, `ALTER TABLE datasets DISABLE TRIGGER datasets_notify`)
	sqlExec(t, db, `UPDATE datasets SET version = 2 WHERE id = 'hmis'`)
	if r := afterUpdate(t, h, 2); r.Source != "database" {
		t.Errorf("version 2 answered from the %s, want it computed", r.Source)
	}
	if a.versions.mode() != "notified" {
		t.Errorf("versions %s, want the listening connection still up", a.versions.mode())
	}
}

func sqlExec(t *testing.T, db *pgxpool.Pool, sql string) {
	t.Helper()
	if _, err := db.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
