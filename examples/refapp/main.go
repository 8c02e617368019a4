// Command refapp is the reference app of wbd's demo and end-to-end tests:
// a small HTTP server that serves a slow Postgres computation through
// package cache, the way the plan's app serves its datasets.
//
//	refapp               serve on $PORT (default 8000)
//	refapp healthcheck   GET http://127.0.0.1:$PORT/health; exit 0 if healthy
//
// The healthcheck subcommand lets an image without a shell (FROM scratch)
// have an exec-form Docker HEALTHCHECK.
//
// Configuration, from the environment: PORT; PGHOST (required), PGPORT
// (5432), PGUSER (postgres), PGDATABASE (postgres), the password from the
// file named by POSTGRES_PASSWORD_FILE or from PGPASSWORD; REDIS_URL
// (optional: caching is disabled without it); REFAPP_COMPUTE_DELAY (2s), how
// long the uncached computation takes; REFAPP_VERSION_MAX_AGE (1s), the
// longest a dataset's version is trusted without asking Postgres.
//
// A request answers from the cache when the entry's version is the
// dataset's current one. The app learns of an update from Postgres
// (LISTEN/NOTIFY, from a trigger on the table) instead of querying the
// version per request, so an update is answered fresh once its
// notification arrives, typically a tenth of a millisecond after the
// commit, and never more than REFAPP_VERSION_MAX_AGE after it; while the listening
// connection is down every request queries the version. GET /health says
// which ("versions": "notified" or "queried").
//
// GET /health also reports the build's version, set at link time
// (go build -ldflags "-X main.version=2"): the stand-in images app:1 and
// app:2 differ only by it, so a test can tell over HTTP which one answers.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// version is the build's version, set with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the process at once
	}()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "refapp:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	switch {
	case len(args) == 0:
		cfg, err := parseConfig(getenv, os.ReadFile)
		if err != nil {
			return err
		}
		err = serve(ctx, cfg, logger)
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil // stopped while still starting: a normal stop
		}
		return err
	case len(args) == 1 && args[0] == "healthcheck":
		port, err := parsePort(getenv("PORT"))
		if err != nil {
			return err
		}
		return healthcheck(ctx, port, stdout)
	default:
		return fmt.Errorf("usage: refapp [healthcheck]")
	}
}
