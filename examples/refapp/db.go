package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// errNotFound is returned for a dataset id that has no row.
var errNotFound = errors.New("dataset not found")

// schema is created at start if missing. The advisory lock keeps two
// instances starting together from racing on CREATE TABLE.
const schema = `
SELECT pg_advisory_xact_lock(7461001);
CREATE TABLE IF NOT EXISTS datasets (
	id         text PRIMARY KEY,
	version    integer NOT NULL,
	size       integer NOT NULL DEFAULT 100000, -- rows the computation sums over
	updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO datasets (id, version) VALUES ('hmis', 1) ON CONFLICT (id) DO NOTHING;

-- Every write of a row notifies dataset_versions with its id, so that the
-- app drops the version it knows; '' (all of them) after a TRUNCATE, or for
-- an id too long for a notification's payload.
CREATE OR REPLACE FUNCTION datasets_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_LEVEL = 'STATEMENT' THEN
		PERFORM pg_notify('dataset_versions', '');
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		PERFORM pg_notify('dataset_versions', CASE WHEN octet_length(OLD.id) < 4000 THEN OLD.id ELSE '' END);
	END IF;
	IF TG_OP <> 'DELETE' THEN
		PERFORM pg_notify('dataset_versions', CASE WHEN octet_length(NEW.id) < 4000 THEN NEW.id ELSE '' END);
	END IF;
	RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS datasets_notify ON datasets;
CREATE TRIGGER datasets_notify AFTER INSERT OR UPDATE OR DELETE ON datasets
	FOR EACH ROW EXECUTE FUNCTION datasets_notify();
DROP TRIGGER IF EXISTS datasets_notify_all ON datasets;
CREATE TRIGGER datasets_notify_all AFTER TRUNCATE ON datasets
	FOR EACH STATEMENT EXECUTE FUNCTION datasets_notify();
`

// connectDB connects to Postgres, retrying with backoff until it answers
// or ctx ends (the database container may start after the app), then
// creates the schema.
func connectDB(ctx context.Context, pc postgresConfig, logger *slog.Logger) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(pc.URL())
	if err != nil {
		return nil, fmt.Errorf("postgres config: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg) // connects lazily
	if err != nil {
		return nil, fmt.Errorf("postgres config: %w", err)
	}
	for delay, attempt := 250*time.Millisecond, 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = pool.Ping(pctx)
		cancel()
		if err == nil {
			break
		}
		logger.Warn("postgres not ready, retrying", "host", pc.Host, "attempt", attempt, "retry_in", delay.String(), "error", err)
		select {
		case <-ctx.Done():
			pool.Close()
			return nil, fmt.Errorf("connect to postgres at %s: %w", pc.Host, errors.Join(ctx.Err(), err))
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
	logger.Info("postgres connected", "host", pc.Host, "database", pc.Database)
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, schema)
		return err
	}); err != nil {
		pool.Close()
		return nil, fmt.Errorf("create schema: %w", err)
	}
	return pool, nil
}

// datasetVersion queries the version the cache entry must have (see
// versions for when it is asked).
func datasetVersion(ctx context.Context, db *pgxpool.Pool, id string) (int, error) {
	var v int
	err := db.QueryRow(ctx, `SELECT version FROM datasets WHERE id = $1`, id).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, errNotFound
	}
	return v, err
}

// dataset is the computed value the app caches.
type dataset struct {
	ID         string    `json:"id"`
	Version    int       `json:"version"`
	Rows       int64     `json:"rows"`
	Sum        int64     `json:"sum"`
	ComputedAt time.Time `json:"computedAt"`
}

// computeDataset is the deliberately slow work a cache miss costs: a
// pg_sleep, then a sum over generate_series derived from the row. The row is
// read after the sleep, in its own statement, as a long real computation
// would: a version changed meanwhile shows in the result, and the cache
// then declines to store it under the version the request asked for.
func computeDataset(ctx context.Context, db *pgxpool.Pool, id string, delay time.Duration) (dataset, error) {
	if _, err := db.Exec(ctx, `SELECT pg_sleep($1)`, delay.Seconds()); err != nil {
		return dataset{}, fmt.Errorf("compute dataset %s: %w", id, err)
	}
	d := dataset{ID: id}
	err := db.QueryRow(ctx, `
		SELECT d.version, s.n, s.total, now()
		FROM datasets d,
			LATERAL (SELECT count(*) AS n, sum(g::bigint * d.version) AS total
			         FROM generate_series(1, d.size) AS g) s
		WHERE d.id = $1`, id).Scan(&d.Version, &d.Rows, &d.Sum, &d.ComputedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return dataset{}, errNotFound
	}
	if err != nil {
		return dataset{}, fmt.Errorf("compute dataset %s: %w", id, err)
	}
	return d, nil
}
