package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// config is the app's configuration, read from the environment.
type config struct {
	Port         int
	Postgres     postgresConfig
	RedisURL     string // empty: caching disabled
	ComputeDelay time.Duration
	// VersionMaxAge bounds how long a dataset's version is known without
	// asking Postgres: an update is never answered stale for longer.
	VersionMaxAge time.Duration
}

type postgresConfig struct {
	Host, User, Database, Password string
	Port                           int
}

// URL returns the connection URL, its parts escaped. Settings it leaves
// out (sslmode...) come from the PG* environment variables, as with psql.
func (p postgresConfig) URL() string {
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(p.User, p.Password),
		Host:   net.JoinHostPort(p.Host, strconv.Itoa(p.Port)),
		Path:   "/" + p.Database,
	}
	return u.String()
}

// parseConfig reads the configuration through getenv, and the password
// file through readFile, reporting every problem at once.
func parseConfig(getenv func(string) string, readFile func(string) ([]byte, error)) (config, error) {
	var errs []error
	orDefault := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	cfg := config{
		RedisURL: getenv("REDIS_URL"),
		Postgres: postgresConfig{
			Host:     getenv("PGHOST"),
			User:     orDefault("PGUSER", "postgres"),
			Database: orDefault("PGDATABASE", "postgres"),
			Password: getenv("PGPASSWORD"),
		},
	}
	var err error
	if cfg.Port, err = parsePort(getenv("PORT")); err != nil {
		errs = append(errs, err)
	}
	if cfg.Postgres.Host == "" {
		errs = append(errs, errors.New("PGHOST: required"))
	}
	if cfg.Postgres.Port, err = strconv.Atoi(orDefault("PGPORT", "5432")); err != nil || cfg.Postgres.Port < 1 || cfg.Postgres.Port > 65535 {
		errs = append(errs, fmt.Errorf("PGPORT: must be 1-65535, got %q", getenv("PGPORT")))
	}
	if name := getenv("POSTGRES_PASSWORD_FILE"); name != "" {
		b, err := readFile(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("POSTGRES_PASSWORD_FILE: %w", err))
		}
		// Secret files usually end with a newline that is not part of it.
		cfg.Postgres.Password = strings.TrimRight(string(b), "\r\n")
	}
	duration := func(name, def string, zeroOK bool) time.Duration {
		s := orDefault(name, def)
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || (d == 0 && !zeroOK) {
			errs = append(errs, fmt.Errorf("%s: must be a duration such as %s, got %q", name, def, s))
		}
		return d
	}
	cfg.ComputeDelay = duration("REFAPP_COMPUTE_DELAY", "2s", true)
	cfg.VersionMaxAge = duration("REFAPP_VERSION_MAX_AGE", "1s", false)
	return cfg, errors.Join(errs...)
}

// parsePort parses PORT, 8000 when empty.
func parsePort(s string) (int, error) {
	if s == "" {
		return 8000, nil
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("PORT: must be 1-65535, got %q", s)
	}
	return p, nil
}
