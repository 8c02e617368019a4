package cache

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Flush empties the current Redis database, for the plan's "clear all
// server caches" and `wbd cache flush`. Each instance has its own Redis
// holding only cache data, so this is safe. It uses FLUSHDB ASYNC: the keys
// are gone at once and their memory is freed off Redis's main thread, which
// a large cache would otherwise block for seconds.
func Flush(ctx context.Context, rdb *redis.Client) error {
	if err := rdb.FlushDBAsync(ctx).Err(); err != nil {
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

// Stats summarises the cache keys of rdb. It reads every key's TTL, one
// pipelined round trip per SCAN page (of about 1000 keys), so a hundred
// thousand keys cost a few hundred round trips and never block Redis.
func Stats(ctx context.Context, rdb *redis.Client) (Summary, error) {
	st := Summary{ByPrefix: map[string]int{}}
	// SCAN may return a key more than once while Redis resizes its hash
	// table, which is just what follows a ClearAll of many keys; counting
	// every key once needs the keys seen so far.
	seen := newKeySet()
	var cursor uint64
	for {
		keys, next, err := rdb.Scan(ctx, cursor, "cache:*", scanCount).Result()
		if err != nil {
			return Summary{}, fmt.Errorf("scan cache keys: %w", err)
		}
		if err := st.add(ctx, rdb, seen.fresh(keys)); err != nil {
			return Summary{}, err
		}
		if next == 0 {
			break
		}
		cursor = next
	}
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return Summary{}, fmt.Errorf("read redis memory: %w", err)
	}
	st.UsedMemory, err = infoInt(info, "used_memory")
	if err != nil {
		return Summary{}, err
	}
	return st, nil
}

func (st *Summary) add(ctx context.Context, rdb *redis.Client, keys []string) error {
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
