package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/wbd-dev/wbd/metrics"
	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/statuspage"
)

// statusServer serves wbd run's metrics and status page.
type statusServer struct {
	srv *http.Server
	ln  net.Listener
	log *slog.Logger
}

// listenStatus listens on addr for /metrics, / and /status.json, or
// returns nil when addr is empty. Listening first makes an address in use
// an error of the start, not a log line later.
func listenStatus(addr string, m *metrics.Metrics, r *reconcile.Reconciler, log *slog.Logger) (*statusServer, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("/", statuspage.Handler(r.Snapshot, statuspage.Options{Logger: log}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	log.Info("serving metrics and the status page", keyAddr, ln.Addr().String())
	return &statusServer{srv: srv, ln: ln, log: log}, nil
}

func (s *statusServer) serve() {
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("the metrics and status server stopped", keyError, err)
	}
}

func (s *statusServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
}
