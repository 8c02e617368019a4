// Package cache keeps computed values in Redis so that a restarted app
// answers from them instead of recomputing: the Go realisation of the
// TimCacheC of the Redis cache plan, able to share one Redis with the
// TypeScript version.
//
// A Conn is the process's Redis connection (OpenEnv reads REDIS_URL); a
// Cache[U, V, T] is one kind of value on it, under its own prefix:
//
//	datasets := cache.New(conn, "ds_hmis", cache.Hashes[string, int, Dataset]{
//		UniquenessHash: func(id string) string { return id },
//		VersionHash:    func(v int) string { return strconv.Itoa(v) },
//	})
//	ds, src, err := datasets.GetOrLoad(ctx, id, version, func(ctx context.Context) (Dataset, error) {
//		return computeDataset(ctx, id)
//	})
//
// Entries are stored under cache:{prefix}:{uniqueness hash} as
// {"versionHash":"...","data":...}, byte for byte what JSON.stringify writes
// (see JSONCodec). An entry at another version than the one asked for is a
// miss. Entries live 15 to 30 days after a write and 30 days after a read.
//
// Redis is an optimisation, never a dependency: with REDIS_URL unset every
// call loads; with Redis down or hung a call spends at most the operation
// timeout (100ms by default) on it and loads, the outage is logged once when
// it starts and once when it ends, and the cache is used again when Redis
// comes back.
package cache
