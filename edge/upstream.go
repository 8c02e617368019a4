package edge

import (
	"context"
	"errors"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Timeouts of the edge's connections to the app.
const (
	// dialTimeout bounds one try of a connection, its name's lookup
	// included: on the instance's network a container answers at once or
	// not at all, and Docker's DNS passes a name it does not know (a
	// container gone) to the host's resolvers, which may take seconds.
	dialTimeout = time.Second
	// dialRetry is how long a dial that is refused, or whose name does not
	// resolve, is tried again: the app container being restarted by the
	// engine, for instance. Nothing was sent yet, so any request may wait.
	dialRetry = time.Second
	dialPause = 50 * time.Millisecond
	// idleTimeout closes pooled connections before an app's own keep-alive
	// timeout would (Node and Deno use 5 s): a request sent on a connection
	// the app is closing fails.
	idleTimeout = 4 * time.Second
)

// upstream is one address the edge sends requests to: the current target,
// or one it switched away from that still has requests in flight.
type upstream struct {
	addr string // host:port
	// fallback is dialled when addr's host does not resolve: the
	// default target, when addr is an explicit one.
	fallback  string
	transport *http.Transport

	// cut ends the requests still in flight at the drain deadline.
	cut    context.Context
	cancel context.CancelFunc

	// active counts the requests in flight; guarded by the Proxy's mu.
	active int
	// served counts the requests that finished; guarded by the Proxy's mu.
	served int
}

func newUpstream(addr, fallback string) *upstream {
	u := &upstream{addr: addr}
	if fallback != addr {
		u.fallback = fallback
	}
	u.cut, u.cancel = context.WithCancel(context.Background())
	u.transport = &http.Transport{
		DialContext:         u.dial,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     idleTimeout,
		// What the client sent and what the app answers pass through
		// as they are.
		DisableCompression: true,
		ForceAttemptHTTP2:  false,
	}
	return u
}

// dial connects to the upstream's address, whatever address the request
// names, trying again for dialRetry while the connection is refused or the
// name does not resolve; a name that does not resolve is tried at the
// fallback too.
func (u *upstream) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	deadline := time.Now().Add(dialRetry)
	for {
		c, err := d.DialContext(ctx, network, u.addr)
		if err != nil && u.fallback != "" && notFound(err) {
			c, err = d.DialContext(ctx, network, u.fallback)
		}
		if err == nil || !retryable(err) || time.Now().After(deadline) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(dialPause):
		}
	}
}

// notFound reports whether err says a name does not resolve: on a Docker
// network, a container that is removed, or not running.
func notFound(err error) bool {
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.IsNotFound
}

func retryable(err error) bool {
	return notFound(err) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH)
}
