package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Hashes are the functions that place a value in a Cache, as in the
// TypeScript TimCacheC: U are the parameters that say which entry (a dataset id), V
// those that say which version of it is current (a row's version), T the
// value.
type Hashes[U, V, T any] struct {
	UniquenessHash func(U) string
	VersionHash    func(V) string
	// ParseData reads the hashes back from a loaded value, and whether it
	// should be stored at all. The value is stored under its own
	// uniqueness hash, and not stored when its version differs from the one
	// it was loaded for. Optional: nil stores every value under the hashes
	// it was loaded for.
	ParseData func(T) Parsed
}

// Parsed is what Hashes.ParseData says about a loaded value.
type Parsed struct {
	ShouldStore    bool
	UniquenessHash string
	VersionHash    string
}

// Source says where a value came from.
type Source int

const (
	SourceCache Source = iota + 1 // read from Redis
	SourceLoad                    // computed by a loader
)

func (s Source) String() string {
	switch s {
	case SourceCache:
		return "cache"
	case SourceLoad:
		return "load"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// A Cache keeps values of type T in Redis under cache:{prefix}:{uniqueness
// hash}, as {"versionHash": ..., "data": ...}, as the TypeScript TimCacheC does.
//
// Values returned may be shared between concurrent callers: treat them as
// read-only.
type Cache[U, V, T any] struct {
	conn    *Conn
	prefix  string
	h       Hashes[U, V, T]
	cfg     config
	flights flights[T]
	large   largeEntries
	n       counters
}

// New returns the Cache for prefix on conn (nil conn: caching disabled).
// The prefix is one segment of the key and may not be empty or hold ':',
// which would make one cache's ClearAll reach into another's keys.
func New[U, V, T any](conn *Conn, prefix string, h Hashes[U, V, T], opts ...Option) *Cache[U, V, T] {
	if prefix == "" || strings.Contains(prefix, ":") {
		panic(fmt.Sprintf("cache.New: prefix %q must be non-empty and without ':'", prefix))
	}
	if h.UniquenessHash == nil || h.VersionHash == nil {
		panic("cache.New: Hashes.UniquenessHash and Hashes.VersionHash are required")
	}
	c := &Cache[U, V, T]{conn: conn, prefix: prefix, h: h, cfg: defaultConfig(conn)}
	for _, o := range opts {
		o(&c.cfg)
	}
	c.cfg.logger = c.cfg.logger.With("cache", prefix)
	return c
}

// Key returns the Redis key of the entry for ups.
func (c *Cache[U, V, T]) Key(ups U) string { return c.key(c.h.UniquenessHash(ups)) }

func (c *Cache[U, V, T]) key(uhash string) string { return "cache:" + c.prefix + ":" + uhash }

// Counters returns the Cache's running totals.
func (c *Cache[U, V, T]) Counters() Counters { return c.n.snapshot() }

// GetOrLoad returns the value for ups at version vps: from a running read
// or load of the same entry and version if there is one, else from Redis,
// else from load, whose result is then stored. This is what a handler
// calls.
//
// load runs on a context detached from the callers', bounded by the load
// timeout, since its result serves every caller that joined it: a caller
// whose ctx ends gets ctx's error at once and the load goes on. A load's
// error (a *PanicError if it panicked) reaches every caller waiting on it
// and is not cached. When Redis is down or slow a call spends at most the
// Conn's operation timeout on it before loading.
func (c *Cache[U, V, T]) GetOrLoad(ctx context.Context, ups U, vps V, load func(context.Context) (T, error)) (T, Source, error) {
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, 0, err
	}
	uhash, vhash := c.h.UniquenessHash(ups), c.h.VersionHash(vps)
	f, lead := c.flights.acquire(uhash, vhash)
	if !lead {
		c.record(Deduplicated, 0, nil)
		return f.wait(ctx)
	}
	// The read serves the callers that join f too, so this caller's
	// cancellation must not cut it short; the operation timeout bounds it.
	base := context.WithoutCancel(ctx)
	if v, ok := c.lookup(base, uhash, vhash, false); ok {
		f.finish(v, SourceCache, nil)
		c.flights.settle(f)
		return v, SourceCache, nil
	}
	go c.run(base, f, load)
	return f.wait(ctx)
}

// Get returns the value for ups at version vps if a running load has it or
// Redis holds it; ok is false on a miss. Redis errors count as misses; the
// error is a running load's error, or ctx's.
func (c *Cache[U, V, T]) Get(ctx context.Context, ups U, vps V) (v T, ok bool, err error) {
	return c.get(ctx, c.h.UniquenessHash(ups), c.h.VersionHash(vps), false)
}

// GetAnyVersion is Get for TimCacheC's "any_version": it returns the value for
// ups whatever its version.
func (c *Cache[U, V, T]) GetAnyVersion(ctx context.Context, ups U) (v T, ok bool, err error) {
	return c.get(ctx, c.h.UniquenessHash(ups), "", true)
}

func (c *Cache[U, V, T]) get(ctx context.Context, uhash, vhash string, anyVersion bool) (T, bool, error) {
	if f := c.flights.find(uhash, vhash, anyVersion); f != nil {
		c.record(Deduplicated, 0, nil)
		v, _, err := f.wait(ctx)
		return v, err == nil, err
	}
	v, ok := c.lookup(ctx, uhash, vhash, anyVersion)
	if !ok {
		if err := ctx.Err(); err != nil {
			return v, false, err
		}
	}
	return v, ok, nil
}

// Set runs load for ups at version vps and stores its result, TimCacheC's
// setPromise: callers of GetOrLoad and Get for that entry and version share
// this load while it runs. It returns once the result is stored (or known
// not to be), or when ctx ends; load itself runs on as in GetOrLoad.
func (c *Cache[U, V, T]) Set(ctx context.Context, ups U, vps V, load func(context.Context) (T, error)) (T, error) {
	f := c.flights.start(c.h.UniquenessHash(ups), c.h.VersionHash(vps))
	go c.run(context.WithoutCancel(ctx), f, load)
	select {
	case <-c.flights.settledChan(f):
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// Wait waits until no read, load or store of this Cache is running, or
// until ctx ends. A server calls it on shutdown, before closing the Conn,
// so that values loaded for the last requests are stored.
func (c *Cache[U, V, T]) Wait(ctx context.Context) error {
	for {
		settled := c.flights.anySettled()
		if settled == nil {
			return nil
		}
		select {
		case <-settled:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// lookup reads the entry for uhash and refreshes its TTL in the same round
// trip (GETEX). Unlike TimCacheC's GET then EXPIRE, this also refreshes a
// stale entry's TTL; the load that follows a stale read overwrites it.
func (c *Cache[U, V, T]) lookup(ctx context.Context, uhash, vhash string, anyVersion bool) (_ T, ok bool) {
	var zero T
	defer func() {
		// A codec that panics on a bad entry makes a miss, not a crash,
		// nor a flight that never finishes.
		if r := recover(); r != nil {
			c.cfg.logger.Error("cache entry decoding panicked", "key", c.key(uhash), "panic", r)
			ok = false
		}
	}()
	if !c.conn.Enabled() {
		c.record(Miss, 0, nil)
		return zero, false
	}
	start := time.Now()
	raw, err := c.read(ctx, uhash)
	took := time.Since(start)
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			c.record(RedisError, 0, err)
		}
		c.record(Miss, took, nil)
		return zero, false
	}
	v, stale, err := readEntry[T](c.cfg.codec, raw, vhash, anyVersion)
	if stale {
		c.record(StaleMiss, took, nil)
		c.record(Miss, took, nil)
		return zero, false
	}
	if err != nil {
		// An entry this code cannot read is a miss; the load's store
		// replaces it.
		c.cfg.logger.Warn("cache entry unreadable", "key", c.key(uhash), "error", err)
		c.record(Miss, took, nil)
		return zero, false
	}
	c.record(Hit, took, nil)
	return v, true
}
