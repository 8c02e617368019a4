package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"sync"
)

// Proxy forwards every request to its current upstream. It counts the
// requests in flight per upstream, so that Switch can wait for those of
// the upstream it leaves.
type Proxy struct {
	log *slog.Logger
	rp  *httputil.ReverseProxy

	// switching keeps one Switch at a time.
	switching sync.Mutex

	mu   sync.Mutex
	idle *sync.Cond // broadcast when a request ends, or a drain deadline passes
	cur  *upstream
	// def is the default target, where requests go with no target set.
	def string
	// draining are upstreams switched away from with requests in flight.
	draining map[*upstream]bool
}

type upstreamKey struct{}

// NewProxy returns a Proxy sending requests to target, or to def when
// target is "".
func NewProxy(def, target string, log *slog.Logger) *Proxy {
	if target == "" {
		target = def
	}
	p := &Proxy{log: log, def: def, cur: newUpstream(target, def), draining: map[*upstream]bool{}}
	p.idle = sync.NewCond(&p.mu)
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			u := pr.In.Context().Value(upstreamKey{}).(*upstream)
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", u.addr
			// The app sees the Host the client asked for, as it would
			// without the edge, and who asked: the client's address is
			// appended to what earlier proxies said.
			pr.Out.Host = pr.In.Host
			pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
			pr.SetXForwarded()
		},
		Transport: roundTripper{},
		// Server-sent events and other responses of unknown length are
		// flushed as they come (ReverseProxy's rule); a response of known
		// length leaves in as few writes as it can.
		ErrorHandler: p.failed,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return p
}

// roundTripper sends a request through the transport of the upstream it
// was given, so that each upstream keeps its own connections.
type roundTripper struct{}

func (roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	return r.Context().Value(upstreamKey{}).(*upstream).transport.RoundTrip(r)
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u := p.acquire()
	defer p.release(u)
	ctx, cancel := context.WithCancel(context.WithValue(r.Context(), upstreamKey{}, u))
	defer cancel()
	stop := context.AfterFunc(u.cut, cancel) // the drain deadline ends it
	defer stop()
	p.rp.ServeHTTP(w, r.WithContext(ctx))
}

func (p *Proxy) acquire() *upstream {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.cur
	u.active++
	return u
}

func (p *Proxy) release(u *upstream) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u.active--
	u.served++
	if u.active == 0 {
		p.idle.Broadcast()
	}
}

// failed answers a request the app did not: 502, also for one the drain
// deadline cut before the app answered; nothing when the client went away.
func (p *Proxy) failed(w http.ResponseWriter, r *http.Request, err error) {
	u := r.Context().Value(upstreamKey{}).(*upstream)
	why := "did not answer"
	switch {
	case u.cut.Err() != nil:
		why = "had not answered at the drain deadline"
	case errors.Is(err, context.Canceled):
		return
	}
	p.log.Warn("the app "+why, "target", u.addr, "method", r.Method, "path", r.URL.Path, "error", err)
	http.Error(w, fmt.Sprintf("wbd edge: the app at %s %s", u.addr, why), http.StatusBadGateway)
}

// Target returns where new requests go, and the default target.
func (p *Proxy) Target() (target, def string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur.addr, p.def
}

// Upstream is one address the edge sends requests to, as State reports it.
type Upstream struct {
	Addr    string `json:"addr"`
	Current bool   `json:"current,omitempty"`
	Active  int    `json:"active"` // requests in flight
}

// Upstreams reports the current upstream, then those draining.
func (p *Proxy) Upstreams() []Upstream {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []Upstream{{Addr: p.cur.addr, Current: true, Active: p.cur.active}}
	for u := range p.draining {
		out = append(out, Upstream{Addr: u.addr, Active: u.active})
	}
	return out
}
