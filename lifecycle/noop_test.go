package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// engineCalls records the requests an Engine sends the engine, compose's
// included, through a proxy in front of the engine's socket.
type engineCalls struct {
	mu   sync.Mutex
	reqs []string // "GET /containers/json"
}

var apiVersionPrefix = regexp.MustCompile(`^/v[0-9.]+/`)

func (c *engineCalls) add(r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = append(c.reqs, r.Method+" "+apiVersionPrefix.ReplaceAllString(r.URL.Path, "/"))
}

// take returns the requests since the last take.
func (c *engineCalls) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	reqs := c.reqs
	c.reqs = nil
	return reqs
}

// watchedEngine is testEngine reached through a proxy that records every
// request, with progress to the returned buffer.
func watchedEngine(t *testing.T) (*Engine, *engineCalls, *syncBuffer) {
	t.Helper()
	base := testEngine(t)
	sock, ok := strings.CutPrefix(base.api.DaemonHost(), "unix://")
	if !ok {
		t.Skipf("engine at %s: the request log proxies a unix socket", base.api.DaemonHost())
	}
	dir, err := os.MkdirTemp("", "wbd-proxy-") // short: a socket path has 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := net.Listen("unix", filepath.Join(dir, "engine.sock"))
	if err != nil {
		t.Fatal(err)
	}
	calls := &engineCalls{}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker"
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}},
		FlushInterval: -1,
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.add(r)
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	progress := &syncBuffer{}
	e, err := Connect(t.Context(), "unix://"+ln.Addr().String(), WithProgress(progress))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e, calls, progress
}

// syncBuffer is a bytes.Buffer for progress written from compose's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// take returns what was written since the last take.
func (b *syncBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

var _ io.Writer = (*syncBuffer)(nil)

// newestStart is when the newest container of the report started.
func newestStart(r Report) time.Time {
	var t time.Time
	for _, s := range r.Services {
		if s.StartedAt.After(t) {
			t = s.StartedAt
		}
	}
	return t
}

func checkUnchanged(t *testing.T, what string, got, first Report) {
	t.Helper()
	if got.Touched {
		t.Errorf("%s: Touched, want untouched", what)
	}
	if len(got.Services) != len(first.Services) {
		t.Errorf("%s: %d services reported, want %d", what, len(got.Services), len(first.Services))
	}
	for svc, id := range ids(got) {
		if a := actions(got)[svc]; a != ActionUnchanged {
			t.Errorf("%s: %s %s, want unchanged", what, svc, a)
		}
		if id != ids(first)[svc] {
			t.Errorf("%s: %s container %s, want %s", what, svc, id, ids(first)[svc])
		}
	}
	if s := got.Summary(); s != "postgres, redis, app unchanged" {
		t.Errorf("%s: summary %q, want %q", what, s, "postgres, redis, app unchanged")
	}
}

func TestApplyUnchangedCostsAPlan(t *testing.T) {
	t.Parallel()
	e, calls, progress := watchedEngine(t)
	f := newFixture(t, e)
	p := f.project(t)
	first := apply(t, e, p, ApplyOptions{})
	const window = time.Second
	time.Sleep(time.Until(newestStart(first).Add(window + 100*time.Millisecond)))

	calls.take()
	progress.take()
	if _, err := e.Plan(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	planned := calls.take()

	start := time.Now()
	again := apply(t, e, p, ApplyOptions{Steady: window})
	took := time.Since(start)
	applied := calls.take()
	checkUnchanged(t, "second Apply", again, first)
	if writes := slices.DeleteFunc(slices.Clone(applied), func(r string) bool { return strings.HasPrefix(r, "GET ") || strings.HasPrefix(r, "HEAD ") }); len(writes) > 0 {
		t.Errorf("second Apply sent %v, want reads only", writes)
	}
	// What Plan reads, and each container's start time and health,
	// which the list does not tell.
	if want := len(planned) + len(p.Services); len(applied) > want {
		t.Errorf("second Apply sent %d requests, Plan %d; want at most %d, one more per container:\napply: %s\nplan: %s",
			len(applied), len(planned), want, strings.Join(applied, ", "), strings.Join(planned, ", "))
	}
	if out := progress.take(); out != "" {
		t.Errorf("second Apply printed progress, want none (no compose step, no wait):\n%s", out)
	}
	t.Logf("no-op Apply: %s, %d requests", took, len(applied))
}

func TestApplyUnchangedHoldsRecentContainersToTheirWindow(t *testing.T) {
	t.Parallel()
	e, calls, _ := watchedEngine(t)
	f := newFixture(t, e)
	p := f.project(t)
	first := apply(t, e, p, ApplyOptions{}) // no steady window: returns once ready
	const window = 6 * time.Second
	if time.Since(newestStart(first)) > window/2 {
		t.Skipf("the first Apply took too long to leave the second half of the window: started %s ago", time.Since(newestStart(first)))
	}

	calls.take()
	again := apply(t, e, p, ApplyOptions{Steady: window})
	end := time.Now()
	checkUnchanged(t, "Apply right after", again, first)
	if want := newestStart(first).Add(window); end.Before(want) {
		t.Errorf("Apply right after returned %s before the newest container ran for %s", want.Sub(end), window)
	}
	for _, r := range calls.take() {
		if !strings.HasPrefix(r, "GET ") && !strings.HasPrefix(r, "HEAD ") {
			t.Errorf("Apply right after sent %s, want reads only", r)
		}
	}

	t.Run("a restart within the window fails it", func(t *testing.T) {
		restart := func() {
			t.Helper()
			if _, err := e.api.ContainerRestart(t.Context(), f.Name, client.ContainerRestartOptions{Timeout: new(0)}); err != nil {
				t.Fatal(err)
			}
		}
		restart() // the app just started: the next Apply watches it for window
		done := make(chan error, 1)
		go func() {
			_, err := e.Apply(t.Context(), p, ApplyOptions{Steady: window, WaitTimeout: time.Minute})
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("Apply right after the app restarted returned within a second (%v), want it watching the app for %s", err, window)
		case <-time.After(time.Second):
		}
		restart()
		err := <-done
		var nr *NotReadyError
		switch {
		case err == nil:
			t.Fatalf("Apply with the app restarted within its window: no error, want the app not steady")
		case !errors.As(err, &nr):
			t.Fatalf("Apply: %v, want a *NotReadyError", err)
		}
		// Caught exited or back up with another start, as the restart
		// falls: either way the app is the one not ready.
		if got := fmt.Sprint(serviceNames(nr.Services)); got != "[app]" {
			t.Errorf("Apply: services %s not ready, want [app]: %v", got, err)
		}
	})
}

func serviceNames(states []ServiceState) []string {
	var names []string
	for _, s := range states {
		names = append(names, s.Service)
	}
	return names
}
