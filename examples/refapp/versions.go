package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// versionsChannel is the channel a trigger on datasets notifies with the id
// of each row written ("" for all of them, after a TRUNCATE).
const versionsChannel = "dataset_versions"

// versionsAppName names the listening connection in pg_stat_activity.
const versionsAppName = "refapp-versions"

// versions knows each dataset's current version without a query to
// Postgres per request, which would cost a cached request more than its
// cache hit. A version read from Postgres is kept while a connection
// LISTENs on versionsChannel: the trigger's notification of a write drops
// it, so the next request reads the new version. Without that connection
// (not yet up, broken, being re-dialled) every request queries, as before.
// A kept version is also dropped after maxAge whatever happens, so an
// update is never answered stale for longer than maxAge, even if a
// notification were lost; normally it takes the notification's trip,
// about a tenth of a millisecond after the commit.
type versions struct {
	db      *pgxpool.Pool
	maxAge  time.Duration
	logger  *slog.Logger
	connect func(context.Context) (*pgx.Conn, error) // the listening connection

	mu        sync.Mutex
	listening bool
	epoch     uint64 // bumped by every notification and change of listening
	known     map[string]knownVersion

	queries atomic.Int64 // version queries made, for tests and benchmarks
}

type knownVersion struct {
	version int
	read    time.Time // when the query that read it started
}

func newVersions(db *pgxpool.Pool, maxAge time.Duration, logger *slog.Logger) *versions {
	return &versions{
		db: db, maxAge: maxAge, logger: logger, known: map[string]knownVersion{},
		connect: func(ctx context.Context) (*pgx.Conn, error) {
			cfg := db.Config().ConnConfig.Copy()
			cfg.RuntimeParams["application_name"] = versionsAppName
			return pgx.ConnectConfig(ctx, cfg)
		},
	}
}

// get returns the current version of dataset id.
func (v *versions) get(ctx context.Context, id string) (int, error) {
	now := time.Now()
	v.mu.Lock()
	k, ok := v.known[id]
	if ok && v.listening && now.Sub(k.read) < v.maxAge {
		v.mu.Unlock()
		return k.version, nil
	}
	epoch, listening := v.epoch, v.listening
	v.mu.Unlock()

	v.queries.Add(1)
	version, err := datasetVersion(ctx, v.db, id)
	if err != nil || !listening {
		return version, err
	}
	v.mu.Lock()
	// A notification or a reconnection since the query began may concern
	// a write the query did not see: keep nothing then.
	if v.epoch == epoch {
		v.known[id] = knownVersion{version: version, read: now}
	}
	v.mu.Unlock()
	return version, nil
}

// mode says how versions are known, for /health: "notified" while the
// listening connection is up, "queried" (per request) otherwise.
func (v *versions) mode() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.listening {
		return "notified"
	}
	return "queried"
}

// forget drops what is known of dataset id ("" for all), and marks whether
// notifications now arrive.
func (v *versions) forget(id string, listening bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.epoch++
	v.listening = listening
	if id == "" {
		clear(v.known)
	} else {
		delete(v.known, id)
	}
}

// listen keeps a connection LISTENing until ctx ends, dialling it again
// with backoff whenever it fails.
func (v *versions) listen(ctx context.Context) {
	const first, most = 250 * time.Millisecond, 5 * time.Second
	for delay := first; ; delay = min(delay*2, most) {
		listened, err := v.listenOnce(ctx)
		v.forget("", false)
		if ctx.Err() != nil {
			return
		}
		if listened {
			delay = first // a failure after a good while starts the backoff again
		}
		v.logger.Warn("dataset version notifications lost, querying the version on every request",
			"retry_in", delay.String(), "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// listenOnce LISTENs on one connection and applies its notifications until
// it fails; listened reports that it got as far as listening. A quiet
// connection is pinged every maxAge, so that a dead one is found and
// dialled again, not waited on forever.
func (v *versions) listenOnce(ctx context.Context) (listened bool, err error) {
	conn, err := v.connect(ctx)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+versionsChannel); err != nil {
		return false, err
	}
	v.forget("", true) // notifications lost before now may concern anything
	v.logger.Info("dataset version notifications on", "channel", versionsChannel)
	for {
		wctx, cancel := context.WithTimeout(ctx, v.maxAge)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			v.forget(n.Payload, true)
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			pctx, cancel := context.WithTimeout(ctx, v.maxAge)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, err
			}
		default:
			return true, err
		}
	}
}
