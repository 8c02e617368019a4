package cache

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// scanCount is the COUNT hint of SCAN and the size of an UNLINK batch: big
// enough that clearing 100 000 keys takes a few hundred round trips, small
// enough that no single command holds Redis for long.
const scanCount = 1000

// Clear removes the entry for ups, and makes any running load of it not
// store its result. It is a no-op when caching is disabled.
func (c *Cache[U, V, T]) Clear(ctx context.Context, ups U) error {
	uhash := c.h.UniquenessHash(ups)
	c.flights.clear(uhash, false)
	if !c.conn.Enabled() {
		return nil
	}
	err := c.conn.do(ctx, c.conn.opTimeout, func(ctx context.Context) error {
		return c.conn.client.Unlink(ctx, c.key(uhash)).Err()
	})
	if err != nil {
		c.record(RedisError, 0, err)
		return fmt.Errorf("clear %s: %w", c.key(uhash), err)
	}
	return nil
}

// ClearAll removes every entry of this Cache, and makes running loads not
// store their results. It walks the keys with SCAN, never KEYS, which would
// block Redis for the whole keyspace, and removes them with UNLINK, which
// frees their memory off Redis's main thread.
func (c *Cache[U, V, T]) ClearAll(ctx context.Context) error {
	c.flights.clear("", true)
	if !c.conn.Enabled() {
		return nil
	}
	pattern := "cache:" + escapeGlob(c.prefix) + ":*"
	err := c.conn.do(ctx, 0, func(ctx context.Context) error {
		return unlinkMatching(ctx, c.conn.client, pattern)
	})
	if err != nil {
		c.record(RedisError, 0, err)
		return fmt.Errorf("clear all of cache %s: %w", c.prefix, err)
	}
	return nil
}

// unlinkMatching unlinks the keys matching the SCAN pattern on every
// server of rdb.
func unlinkMatching(ctx context.Context, rdb redis.UniversalClient, pattern string) error {
	return forEachNode(ctx, rdb, func(ctx context.Context, node redis.UniversalClient) error {
		var cursor uint64
		for {
			keys, next, err := node.Scan(ctx, cursor, pattern, scanCount).Result()
			if err != nil {
				return err
			}
			if err := unlinkEach(ctx, node, keys); err != nil {
				return err
			}
			if next == 0 {
				return nil
			}
			cursor = next
		}
	})
}

// unlinkEach unlinks keys in one round trip, one UNLINK per key: a cluster
// refuses a command whose keys are in different slots, even on one server.
func unlinkEach(ctx context.Context, node redis.UniversalClient, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := node.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, k := range keys {
			pipe.Unlink(ctx, k)
		}
		return nil
	})
	return err
}

// escapeGlob escapes the characters special in a Redis MATCH pattern, so a
// prefix such as "d*" matches only itself and not "ds" too.
func escapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
