package cache

import "sync/atomic"

// Counters are a Cache's running totals since it was made.
type Counters struct {
	Hits         uint64 // entries found in Redis at the wanted version
	Misses       uint64 // lookups that found nothing usable, StaleMisses included
	StaleMisses  uint64 // entries found at another version
	Loads        uint64 // loader calls
	LoadErrors   uint64 // loader calls that failed or panicked
	Deduplicated uint64 // calls that joined a running read or load instead of starting one
	Stores       uint64 // entries written
	RedisErrors  uint64 // Redis operations that failed, timeouts included
	Oversized    uint64 // loaded values not stored for exceeding the maximum size
}

type counters struct {
	hits, misses, staleMisses, loads, loadErrors atomic.Uint64
	deduplicated, stores, redisErrors, oversized atomic.Uint64
}

func (c *counters) snapshot() Counters {
	return Counters{
		Hits:         c.hits.Load(),
		Misses:       c.misses.Load(),
		StaleMisses:  c.staleMisses.Load(),
		Loads:        c.loads.Load(),
		LoadErrors:   c.loadErrors.Load(),
		Deduplicated: c.deduplicated.Load(),
		Stores:       c.stores.Load(),
		RedisErrors:  c.redisErrors.Load(),
		Oversized:    c.oversized.Load(),
	}
}
