// Command admin is wbd's stand-in for pgAdmin in the image wbd.local/admin:1.
//
// It serves one page on port 80 (PGADMIN_LISTEN_PORT, as pgAdmin) that names
// itself and, when PGADMIN_TARGET_HOST is set, says whether a TCP connection to
// that host's port 5432 opens. GET /misc/ping answers "PING", as pgAdmin's does.
// Like pgAdmin's entrypoint, it refuses to start when the file named by
// PGADMIN_DEFAULT_PASSWORD_FILE cannot be read or is empty; its image runs as
// pgAdmin's uid 5050, so wbd's tests see a secret that only root can read.
// Nothing else: it exists so that wbd's demo and tests can run an admin service
// on machines that reach no container registry.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const (
	targetPort  = "5432"
	dialTimeout = 2 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "admin: %v\n", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts the server down.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected arguments %q (configure with PGADMIN_LISTEN_PORT, PGADMIN_TARGET_HOST)", args)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if err := checkPassword(getenv("PGADMIN_DEFAULT_PASSWORD_FILE")); err != nil {
		return err
	}
	port := getenv("PGADMIN_LISTEN_PORT")
	if port == "" {
		port = "80"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(getenv("PGADMIN_LISTEN_ADDRESS"), port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           newHandler(getenv("PGADMIN_TARGET_HOST"), net.DialTimeout),
		ReadHeaderTimeout: 5 * time.Second,
	}
	fmt.Fprintf(stdout, "wbd admin stand-in listening on %s\n", ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// checkPassword reads the password file as pgAdmin's entrypoint does at
// first start; an unset name is no error, as pgAdmin also takes
// PGADMIN_DEFAULT_PASSWORD, which the stand-in does not need.
func checkPassword(name string) error {
	if name == "" {
		return nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("PGADMIN_DEFAULT_PASSWORD_FILE: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return fmt.Errorf("PGADMIN_DEFAULT_PASSWORD_FILE: %s is empty", name)
	}
	return nil
}

type dialFunc func(network, address string, timeout time.Duration) (net.Conn, error)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>wbd admin stand-in</title>
<h1>wbd admin stand-in</h1>
<p>This is wbd.local/admin, a stand-in for pgAdmin used by wbd's demo and tests.</p>
{{if .Target}}<p id="target">postgres at {{.Target}}: {{if .Err}}unreachable ({{.Err}}){{else}}reachable{{end}}</p>
{{else}}<p id="target">PGADMIN_TARGET_HOST is not set.</p>
{{end}}`))

func newHandler(targetHost string, dial dialFunc) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /misc/ping", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "PING")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		data := struct {
			Target string
			Err    error
		}{}
		if targetHost != "" {
			data.Target = net.JoinHostPort(targetHost, targetPort)
			if c, err := dial("tcp", data.Target, dialTimeout); err != nil {
				data.Err = err
			} else {
				c.Close()
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page.Execute(w, data)
	})
	return mux
}
