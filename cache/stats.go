package cache

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Flush empties the current Redis database (every master's, for a
// cluster), for an app's "clear all caches" and `wbd cache flush`: meant
// for a Redis that holds only cache data, as each wbd instance's does. It
// uses FLUSHDB ASYNC: the keys are gone at once and their memory is freed
// off Redis's main thread, which a large cache would otherwise block for
// seconds.
func Flush(ctx context.Context, rdb redis.UniversalClient) error {
	err := forEachNode(ctx, rdb, func(ctx context.Context, node redis.UniversalClient) error {
		return node.FlushDBAsync(ctx).Err()
	})
	if err != nil {
		return fmt.Errorf("flush redis: %w", err)
	}
	return nil
}

// Summary describes the cache entries in one Redis, for `wbd cache stats`.
// (It cannot be called Stats: that is the function that makes it.)
type Summary struct {
	Keys       int            // keys under cache:*
	ByPrefix   map[string]int // keys per cache prefix
	UsedMemory int64          // bytes used by the whole Redis (INFO memory used_memory)
	// MinTTL is the shortest time to live left among cache keys, 0 when
	// there are none with a TTL; NoTTL counts those without one, which this
	// package never writes.
	MinTTL time.Duration
	NoTTL  int
}

// Stats summarises the cache keys of rdb (of every master, for a
// cluster). It reads every key's TTL, one pipelined round trip per SCAN
// page (of about 1000 keys), so a hundred thousand keys cost a few hundred
// round trips and never block Redis.
func Stats(ctx context.Context, rdb redis.UniversalClient) (Summary, error) {
	st := Summary{ByPrefix: map[string]int{}}
	var mu sync.Mutex // a cluster's masters are visited concurrently
	err := forEachNode(ctx, rdb, func(ctx context.Context, node redis.UniversalClient) error {
		var one Summary
		if err := one.scan(ctx, node); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		st.merge(one)
		return nil
	})
	if err != nil {
		return Summary{}, err
	}
	return st, nil
}

// scan summarises one Redis server.
func (st *Summary) scan(ctx context.Context, node redis.UniversalClient) error {
	st.ByPrefix = map[string]int{}
	// SCAN may return a key more than once while Redis resizes its hash
	// table, which is just what follows a ClearAll of many keys; counting
	// every key once needs the keys seen so far.
	seen := newKeySet()
	var cursor uint64
	for {
		keys, next, err := node.Scan(ctx, cursor, "cache:*", scanCount).Result()
		if err != nil {
			return fmt.Errorf("scan cache keys: %w", err)
		}
		if err := st.add(ctx, node, seen.fresh(keys)); err != nil {
			return err
		}
		if next == 0 {
			break
		}
		cursor = next
	}
	info, err := node.Info(ctx, "memory").Result()
	if err != nil {
		return fmt.Errorf("read redis memory: %w", err)
	}
	st.UsedMemory, err = infoInt(info, "used_memory")
	return err
}

// merge adds the summary of another server to st.
func (st *Summary) merge(o Summary) {
	st.Keys += o.Keys
	st.NoTTL += o.NoTTL
	st.UsedMemory += o.UsedMemory
	if o.MinTTL > 0 && (st.MinTTL == 0 || o.MinTTL < st.MinTTL) {
		st.MinTTL = o.MinTTL
	}
	for p, n := range o.ByPrefix {
		st.ByPrefix[p] += n
	}
}

func (st *Summary) add(ctx context.Context, rdb redis.UniversalClient, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	pipe := rdb.Pipeline()
	ttls := make([]*redis.DurationCmd, len(keys))
	for i, k := range keys {
		ttls[i] = pipe.PTTL(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("read cache key ttls: %w", err)
	}
	for i, k := range keys {
		ttl := ttls[i].Val()
		switch {
		case ttl == -2: // expired or removed since the SCAN
			continue
		case ttl < 0:
			st.NoTTL++
		case st.MinTTL == 0 || ttl < st.MinTTL:
			st.MinTTL = ttl
		}
		st.Keys++
		st.ByPrefix[prefixOf(k)]++
	}
	return nil
}

// prefixOf returns the prefix segment of a key cache:{prefix}:{hash}.
func prefixOf(key string) string {
	rest := strings.TrimPrefix(key, "cache:")
	prefix, _, _ := strings.Cut(rest, ":")
	return prefix
}

// infoInt returns the integer field name of an INFO reply.
func infoInt(info, name string) (int64, error) {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("redis INFO %s: %w", name, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("redis INFO has no %s", name)
}
