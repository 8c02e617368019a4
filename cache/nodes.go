package cache

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// forEachNode runs fn on each Redis server that holds keys of rdb: every
// master of a cluster, every shard of a ring, or rdb itself. SCAN, INFO
// and FLUSHDB each see one server, so a command over the whole keyspace
// must visit them all.
func forEachNode(ctx context.Context, rdb redis.UniversalClient, fn func(context.Context, redis.UniversalClient) error) error {
	adapt := func(ctx context.Context, node *redis.Client) error { return fn(ctx, node) }
	switch cl := rdb.(type) {
	case *redis.ClusterClient:
		return cl.ForEachMaster(ctx, adapt)
	case *redis.Ring:
		return cl.ForEachShard(ctx, adapt)
	}
	return fn(ctx, rdb)
}
