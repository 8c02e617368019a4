// Package cache keeps computed values in Redis, so that a restarted app
// answers from them instead of computing them again.
//
// A Conn is the process's Redis connection (OpenEnv reads REDIS_URL); a
// Cache[U, V, T] is one kind of value on it, under its own prefix. Each
// value is found by a uniqueness hash (which entry) and must carry the
// version hash asked for (which version of the data is current), so that
// an update of the data is never answered from the cache:
//
//	datasets := cache.New(conn, "ds_hmis", cache.Hashes[string, int, Dataset]{
//		UniquenessHash: func(id string) string { return id },
//		VersionHash:    strconv.Itoa,
//	})
//	ds, src, err := datasets.GetOrLoad(ctx, id, version, func(ctx context.Context) (Dataset, error) {
//		return computeDataset(ctx, id)
//	})
//
// Entries are stored under cache:{prefix}:{uniqueness hash} as
// {"versionHash":"...","data":...}, byte for byte what JSON.stringify
// writes (see JSONCodec), so that a Go server and the TypeScript version of
// this cache (TimCacheC) can share one Redis. They live 15 to 30 days after
// a write and 30 days after a read, and may be of any size Redis takes (512
// MB).
//
// Redis is an optimisation, never a dependency: with REDIS_URL unset every
// call loads; with Redis down or hung a call spends at most the operation
// timeout (100ms by default) on it before it loads (twice that on the call
// that finds Redis hung, which asks whether the entry was merely large),
// the outage is logged once when it starts and once when it ends, and the
// cache is used again when Redis comes back.
//
// An Observer is told of every hit, miss, load and error, with its latency:
// package cacheprom exports them to Prometheus. Package cachetest runs a
// throwaway redis-server for tests.
package cache
