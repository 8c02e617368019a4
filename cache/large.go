package cache

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// Entries of a megabyte or more take longer to cross the connection than
// the operation timeout allows, which is meant for Redis answering at all.
// Their reads and writes get a deadline that grows with their size, at
// least minTransferRate: 512 MB, the largest entry Redis takes, then has
// 16 s on top of the operation timeout.
const (
	largeEntry      = 1 << 20
	minTransferRate = 32 << 20 // bytes per second
)

// transferTimeout is base plus the time n bytes take at minTransferRate.
func transferTimeout(base time.Duration, n int64) time.Duration {
	return base + time.Duration(n)*time.Second/minTransferRate
}

// largeEntries remembers the size of the large entries this process has
// stored or read, by uniqueness hash, so that their reads get the longer
// deadline at once. Only entries of a megabyte or more are kept, so their
// number is bounded by the Redis's memory.
type largeEntries struct{ size sync.Map }

func (l *largeEntries) get(uhash string) (int64, bool) {
	n, ok := l.size.Load(uhash)
	if !ok {
		return 0, false
	}
	return n.(int64), true
}

func (l *largeEntries) note(uhash string, n int64) {
	if n >= largeEntry {
		l.size.Store(uhash, n)
	}
}

// read fetches the entry for uhash, refreshing its TTL (GETEX) unless the
// read TTL is 0. A read that runs out of the operation timeout may be a
// large entry still arriving rather than a Redis that does not answer:
// unless Redis is known to be down, STRLEN, within the same timeout, tells
// which, and a large entry is read again with the time its size needs.
// Only the outcome that settles it counts for the outage state.
func (c *Cache[U, V, T]) read(ctx context.Context, uhash string) ([]byte, error) {
	key := c.key(uhash)
	timeout := c.conn.opTimeout
	size, known := c.large.get(uhash)
	if known {
		timeout = transferTimeout(timeout, size)
	} else if c.cfg.firstRead > 0 {
		timeout = c.cfg.firstRead
	}
	start := time.Now()
	raw, err := c.readOnce(ctx, key, timeout)
	if err != nil && !known && isTimeout(err) && ctx.Err() == nil && c.conn.Available() {
		pstart := time.Now()
		if n, perr := c.strlen(ctx, key); perr != nil {
			start, err = pstart, perr
		} else if n >= largeEntry {
			c.large.note(uhash, n)
			start = time.Now()
			raw, err = c.readOnce(ctx, key, transferTimeout(c.conn.opTimeout, n))
		}
		// else a small entry late: Redis is too slow, as the read said
	}
	c.conn.observe(ctx, start, err)
	if err == nil {
		c.large.note(uhash, int64(len(raw)))
	}
	return raw, err
}

func (c *Cache[U, V, T]) readOnce(ctx context.Context, key string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if c.cfg.readTTL > 0 {
		return c.conn.client.GetEx(ctx, key, c.cfg.readTTL).Bytes()
	}
	return c.conn.client.Get(ctx, key).Bytes()
}

func (c *Cache[U, V, T]) strlen(ctx context.Context, key string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.conn.opTimeout)
	defer cancel()
	return c.conn.client.StrLen(ctx, key).Result()
}

// isTimeout reports whether err is a deadline running out, as go-redis
// reports it: the context's error or the socket's.
func isTimeout(err error) bool {
	var nerr net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &nerr) && nerr.Timeout())
}
