package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults for a Conn. The operation timeout is what a cache call can cost
// at most when Redis is slow or gone before it falls back to the loader; the
// others are backstops for calls made without a deadline (ClearAll, Stats).
// The socket's read and write timeouts cap every deadline, so they must let
// the largest entry (512 MB) through.
const (
	DefaultOpTimeout   = 100 * time.Millisecond
	defaultDialTimeout = time.Second
	defaultIOTimeout   = 30 * time.Second
	defaultPoolTimeout = time.Second
	// flushTimeout bounds a FLUSHDB ASYNC, which Redis answers at once.
	flushTimeout = 5 * time.Second
	// startTimeout bounds the PING at start: a container's first dial on a
	// fresh network may take longer than a steady-state operation.
	startTimeout = 2 * time.Second
)

// Conn is the Redis connection shared by every Cache of a process, as
// getRedis() is in the TypeScript version. A Conn without a client
// (REDIS_URL unset) disables caching: every Cache call then goes straight
// to its loader. A nil *Conn behaves the same.
//
// Conn also keeps the outage state: the first failing operation logs that
// Redis is unavailable and the first one that succeeds after it logs that
// Redis is back, so an outage costs two log lines, not one per call.
type Conn struct {
	client    redis.UniversalClient
	owned     bool // made by Open, so closed by Close
	addr      string
	opTimeout time.Duration
	logger    *slog.Logger

	down    atomic.Bool // read on every operation: kept off the mutex
	mu      sync.Mutex  // orders the changes of down and their logs
	changed time.Time   // when down last changed
}

// ConnOption configures a Conn.
type ConnOption func(*Conn)

// WithOpTimeout sets how long one Redis operation of a cache call may take
// before the call falls back to the loader (default 100ms).
func WithOpTimeout(d time.Duration) ConnOption {
	return func(c *Conn) { c.opTimeout = d }
}

// WithConnLogger sets the logger of the Conn and, unless they set their
// own, of the caches built on it (default slog.Default()).
func WithConnLogger(l *slog.Logger) ConnOption {
	return func(c *Conn) { c.logger = l }
}

// OpenEnv opens the Conn named by the REDIS_URL environment variable;
// caching is disabled when it is unset or empty.
func OpenEnv(ctx context.Context, opts ...ConnOption) (*Conn, error) {
	return Open(ctx, os.Getenv("REDIS_URL"), opts...)
}

// Open connects to the Redis at rawURL (redis:// or rediss://, with
// go-redis's query options such as ?dial_timeout=2s) and PINGs it. An empty
// rawURL gives a disabled Conn. A Redis that does not answer is not an
// error: the Conn starts in the outage state and is used as soon as Redis
// answers, without a restart. Only an unparsable URL is an error.
func Open(ctx context.Context, rawURL string, opts ...ConnOption) (*Conn, error) {
	c := &Conn{opTimeout: DefaultOpTimeout, logger: slog.Default()}
	for _, o := range opts {
		o(c)
	}
	if rawURL == "" {
		c.logger.Info("redis url not set, caching disabled")
		return c, nil
	}
	ropt, err := redisOptions(rawURL)
	if err != nil {
		return nil, err
	}
	c.client, c.owned, c.addr = redis.NewClient(ropt), true, ropt.Addr
	c.start(ctx)
	return c, nil
}

// NewConn makes a Conn on a client the application made itself: a
// *redis.ClusterClient, a sentinel's failover client, a *redis.Ring or a
// *redis.Client with options of its own. It PINGs as Open does; Close
// leaves the client open, since the caller owns it.
//
// The client's options are the caller's. Two of Open's matter for the
// promise that Redis trouble costs a call at most the operation timeout:
// ContextTimeoutEnabled, without which go-redis does not apply a context's
// deadline to socket reads and writes, and MaxRetries -1, without which a
// dead Redis is retried with backoff (about 1.7s a call at the defaults).
func NewConn(ctx context.Context, client redis.UniversalClient, opts ...ConnOption) *Conn {
	c := &Conn{client: client, opTimeout: DefaultOpTimeout, logger: slog.Default()}
	for _, o := range opts {
		o(c)
	}
	if client == nil {
		c.logger.Info("redis client not set, caching disabled")
		return c
	}
	c.addr = clientAddr(client)
	c.start(ctx)
	return c
}

// start PINGs Redis once, for the log line and the outage state.
func (c *Conn) start(ctx context.Context) {
	err := c.do(ctx, startTimeout, func(ctx context.Context) error { return c.client.Ping(ctx).Err() })
	if err == nil {
		c.logger.Info("redis connected", "addr", c.addr)
	}
}

// clientAddr names the Redis of client in log lines.
func clientAddr(client redis.UniversalClient) string {
	switch cl := client.(type) {
	case *redis.Client:
		return cl.Options().Addr
	case *redis.ClusterClient:
		return strings.Join(cl.Options().Addrs, ",")
	}
	return fmt.Sprintf("%T", client)
}

// redisOptions parses rawURL and fills in what the URL leaves unset so that
// a dead Redis costs one quick failure per operation. go-redis's defaults
// (3 retries with backoff, 5 dial attempts 100ms apart, 5s timeouts) make a
// call wait about 1.7s while Redis is down; the cache would rather load.
func redisOptions(rawURL string) (*redis.Options, error) {
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		// url.Parse errors quote the whole URL, password included.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	q := url.Values{}
	if u, err := url.Parse(rawURL); err == nil {
		q = u.Query()
	}
	if !q.Has("max_retries") {
		o.MaxRetries = -1 // go-redis spells "no retries" -1; 0 means 3
	}
	if !q.Has("dial_timeout") {
		o.DialTimeout = defaultDialTimeout
	}
	if !q.Has("read_timeout") {
		o.ReadTimeout = defaultIOTimeout
	}
	if !q.Has("write_timeout") {
		o.WriteTimeout = defaultIOTimeout
	}
	if !q.Has("pool_timeout") {
		o.PoolTimeout = defaultPoolTimeout
	}
	// One dial attempt per operation: the operation's deadline, not a retry
	// loop, decides how long a dead Redis may cost.
	o.DialerRetries = 1
	// Without this go-redis ignores context deadlines on socket reads and
	// writes, and the operation timeout would not bound a hung Redis.
	o.ContextTimeoutEnabled = true
	return o, nil
}

// Client returns the go-redis client, or nil when caching is disabled.
func (c *Conn) Client() redis.UniversalClient {
	if c == nil {
		return nil
	}
	return c.client
}

// Enabled reports whether the Conn has a Redis to talk to (it may still be
// in an outage).
func (c *Conn) Enabled() bool { return c != nil && c.client != nil }

// Available reports whether Redis is enabled and the last operation on it
// did not fail for lack of Redis.
func (c *Conn) Available() bool { return c.Enabled() && !c.down.Load() }

// Ping checks Redis within the operation timeout, for health endpoints. It
// returns ErrDisabled when caching is disabled.
func (c *Conn) Ping(ctx context.Context) error {
	if !c.Enabled() {
		return ErrDisabled
	}
	return c.do(ctx, c.opTimeout, func(ctx context.Context) error {
		return c.client.Ping(ctx).Err()
	})
}

// Flush empties the Conn's Redis database; see Flush. It is a no-op when
// caching is disabled.
func (c *Conn) Flush(ctx context.Context) error {
	if !c.Enabled() {
		return nil
	}
	return c.do(ctx, flushTimeout, func(ctx context.Context) error { return Flush(ctx, c.client) })
}

// Close closes the client Open made; a client given to NewConn stays open.
func (c *Conn) Close() error {
	if !c.Enabled() || !c.owned {
		return nil
	}
	return c.client.Close()
}

// ErrDisabled is returned by Ping when caching is disabled.
var ErrDisabled = errors.New("redis disabled")

// do runs op under timeout (none when 0) and records whether Redis
// answered, for the outage state.
func (c *Conn) do(ctx context.Context, timeout time.Duration, op func(context.Context) error) error {
	start := time.Now()
	octx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		octx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	err := op(octx)
	c.observe(ctx, start, err)
	return err
}

// observe updates the outage state from the outcome of an operation begun
// at start. Any reply from the server, redis.Nil and error replies
// included, shows Redis is there; a failure after the caller gave up says
// nothing about Redis. An operation begun before the last change of state
// is old news: the reply to a command sent just before Redis died must not
// end the outage its neighbours just started, nor a command stuck since
// before a recovery start a new outage.
func (c *Conn) observe(ctx context.Context, start time.Time, err error) {
	up := err == nil || isReply(err)
	if up != c.down.Load() { // no change: the path of nearly every call
		return
	}
	if !up && ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if up != c.down.Load() || start.Before(c.changed) {
		return
	}
	now := time.Now()
	if up {
		c.logger.Info("redis available again", "addr", c.addr, "outage", now.Sub(c.changed).Round(time.Millisecond).String())
	} else {
		c.logger.Warn("redis unavailable, falling back to loader", "addr", c.addr, "error", err)
	}
	c.down.Store(!up)
	c.changed = now
}

// isReply reports whether err is an error reply from Redis (redis.Nil
// included), which shows it is there.
func isReply(err error) bool {
	var reply redis.Error
	return errors.As(err, &reply)
}

// RedisLogger routes go-redis's own log lines to slog at debug level, for
// redis.SetLogger(cache.RedisLogger{Logger: l}). go-redis logs every failed
// dial on its own, which during an outage repeats per call what Conn already
// says once. It is a process-wide setting, so the application chooses it.
type RedisLogger struct{ Logger *slog.Logger }

// Printf implements go-redis's internal.Logging.
func (l RedisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.Logger.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
