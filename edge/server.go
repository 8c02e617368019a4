package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// ListenPort is the port the edge listens on in its container; the
// instance's published port maps to it.
const ListenPort = 8080

// Config is what `wbd edge` runs with.
type Config struct {
	// Listen is the address requests come to, ":8080".
	Listen string
	// Default is the default target, host:port: the app's container
	// name on the instance's network, and the port it listens on.
	Default string
	// StateDir keeps the target and the control socket (see StateDir).
	StateDir string
	// Grace is how long requests in flight get to end when the edge
	// stops; then they are closed.
	Grace  time.Duration
	Logger *slog.Logger
}

// server is one running edge.
type server struct {
	cfg   Config
	proxy *Proxy
}

// Run serves until ctx ends, then stops as Config.Grace says.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if _, _, err := net.SplitHostPort(cfg.Default); err != nil {
		return fmt.Errorf("default target %q: want host:port: %w", cfg.Default, err)
	}
	st, err := loadState(cfg.StateDir)
	if err != nil {
		// A target that cannot be read is not worth refusing to serve:
		// the default is the app's container.
		cfg.Logger.Warn("cannot read the kept target; using the default", "error", err)
	}
	s := &server{cfg: cfg, proxy: NewProxy(cfg.Default, st.Target, cfg.Logger)}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	sock := filepath.Join(cfg.StateDir, SocketFile)
	_ = os.Remove(sock) // left by a run before a restart
	cl, err := net.Listen("unix", sock)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           s.proxy,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	ctl := &http.Server{Handler: s.control(), ReadHeaderTimeout: 10 * time.Second}

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	go func() { errc <- ctl.Serve(cl) }()
	target, def := s.proxy.Target()
	cfg.Logger.Info("serving", "listen", ln.Addr().String(), "target", target, "default", def)

	select {
	case err := <-errc:
		srv.Close()
		ctl.Close()
		return err
	case <-ctx.Done():
	}
	cfg.Logger.Info("stopping", "grace", cfg.Grace.String())
	_ = ctl.Close()
	s.stop(srv)
	return nil
}

// stop closes the listener and gives the requests in flight Grace to end,
// then closes what is left, streams and upgraded connections included.
func (s *server) stop(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Grace)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	// Shutdown does not wait for upgraded connections; the proxy does.
	s.proxy.mu.Lock()
	s.proxy.draining[s.proxy.cur] = true
	s.proxy.mu.Unlock()
	cut := s.proxy.drain(ctx, s.cfg.Grace)
	if err := <-done; errors.Is(err, context.DeadlineExceeded) {
		_ = srv.Close()
	}
	if cut > 0 {
		s.cfg.Logger.Info("closed the requests still in flight", "closed", cut)
	}
}

// save keeps the target, "" when it is the default.
func (s *server) save(target string) error {
	if target == s.cfg.Default {
		target = ""
	}
	return saveState(s.cfg.StateDir, target)
}
