package cache

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime/debug"
	"time"
)

// errLoaderExited is the error of a load whose loader called
// runtime.Goexit (t.FailNow in a test, say) instead of returning.
var errLoaderExited = errors.New("cache: loader exited without returning")

// run performs flight f: the load, the publication of its result, then the
// store. It runs on its own goroutine so that no caller's wait holds it.
func (c *Cache[U, V, T]) run(base context.Context, f *flight[T], load func(context.Context) (T, error)) {
	defer func() {
		if !f.finished() { // only when the loader called runtime.Goexit
			var zero T
			f.finish(zero, SourceLoad, errLoaderExited)
		}
		// Unregistered as it settles: once Set returns, the next call
		// reads what was stored instead of joining this flight.
		c.flights.settle(f)
	}()

	v, err := c.callLoad(base, load)
	f.finish(v, SourceLoad, err)
	if err != nil || f.cleared.Load() {
		return
	}
	c.store(base, f.uhash, f.vhash, v)
}

// callLoad calls load under the load timeout, turning a panic into a
// *PanicError so that it reaches the waiting callers as an error instead of
// ending the process.
func (c *Cache[U, V, T]) callLoad(base context.Context, load func(context.Context) (T, error)) (v T, err error) {
	ctx := base
	if c.cfg.loadTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(base, c.cfg.loadTimeout)
		defer cancel()
	}
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			var zero T
			v, err = zero, &PanicError{Value: r, Stack: debug.Stack()}
			c.cfg.logger.Error("cache loader panicked", "panic", r, "stack", string(err.(*PanicError).Stack))
		}
		took := time.Since(start)
		c.record(Load, took, nil)
		if err != nil {
			c.record(LoadError, took, err)
		}
	}()
	return load(ctx)
}

// store writes v as TimCacheC's setPromise does once its promise resolves:
// only if ParseData allows it, under the uniqueness hash ParseData gives,
// and not if the value's version is not the one it was loaded for.
func (c *Cache[U, V, T]) store(base context.Context, uhash, vhash string, v T) {
	defer func() {
		// A panicking ParseData or codec must not take the process down
		// after the callers already have their value.
		if r := recover(); r != nil {
			c.cfg.logger.Error("cache store panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	p := Parsed{ShouldStore: true, UniquenessHash: uhash, VersionHash: vhash}
	if c.h.ParseData != nil {
		p = c.h.ParseData(v)
	}
	if !p.ShouldStore {
		return
	}
	if p.VersionHash != vhash {
		c.cfg.logger.Error("version hashes don't match, not storing", "data", p.VersionHash, "optimistic", vhash)
		return
	}
	if !c.conn.Enabled() {
		return
	}
	data, err := c.cfg.codec.Marshal(v)
	if err != nil {
		c.cfg.logger.Error("cache value not encodable, not storing", "key", c.key(p.UniquenessHash), "error", err)
		return
	}
	entry := appendEnvelope(make([]byte, 0, len(data)+len(vhash)+32), p.VersionHash, data)
	if limit := c.cfg.maxValueSize; limit > 0 && len(entry) > limit {
		c.record(Oversized, 0, nil)
		c.cfg.logger.Warn("cache value too large, not storing", "key", c.key(p.UniquenessHash), "size", len(entry), "max", limit)
		return
	}
	start := time.Now()
	err = c.conn.do(base, transferTimeout(c.cfg.storeTimeout, int64(len(entry))), func(ctx context.Context) error {
		return c.conn.client.Set(ctx, c.key(p.UniquenessHash), entry, c.writeTTL()).Err()
	})
	if err != nil {
		c.record(RedisError, 0, err) // the outage, if it is one, is logged by the Conn
		return
	}
	c.large.note(p.UniquenessHash, int64(len(entry)))
	c.record(Store, time.Since(start), nil)
}

// writeTTL is the base TTL plus a random part, in whole seconds as the
// TypeScript version's Math.floor: entries written together do not expire together.
func (c *Cache[U, V, T]) writeTTL() time.Duration {
	ttl := c.cfg.writeTTL
	if j := int64(c.cfg.writeJitter / time.Second); j > 0 {
		ttl += time.Duration(rand.Int64N(j)) * time.Second
	}
	return ttl
}
