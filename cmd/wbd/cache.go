package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/cache"
)

func newCacheCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Look into or empty an instance's Redis cache",
		Long: `The cache commands talk to an instance's redis container over the instance's
Docker network, so the instance must run on this machine's engine. Redis
holds only the app's cache (keys cache:{prefix}:{hash}): flushing it loses
nothing but warm-up time.`,
	}
	cmd.AddCommand(newCacheFlushCmd(g), newCacheStatsCmd(g))
	return cmd
}

func newCacheFlushCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "flush NAME",
		Short: "Empty an instance's cache (FLUSHDB)",
		Long: `Flush empties the instance's Redis database, as the app's "Clear cache"
button does through POST /caches/flush-all. The next requests are computed
from Postgres again and fill the cache as they go.`,
		Example: `  wbd cache flush testing`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withRedis(cmd.Context(), g, args[0], func(ctx context.Context, rdb *redis.Client) error {
				if err := cache.Flush(ctx, rdb); err != nil {
					return fmt.Errorf("flush %s: %w", args[0], err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: cache flushed\n", args[0])
				return nil
			})
		},
	}
}

func newCacheStatsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats NAME",
		Short: "Count an instance's cache keys per prefix, with memory and TTL",
		Example: `  wbd cache stats testing
  wbd cache stats testing --json | jq .by_prefix`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withRedis(cmd.Context(), g, args[0], func(ctx context.Context, rdb *redis.Client) error {
				s, err := cache.Stats(ctx, rdb)
				if err != nil {
					return fmt.Errorf("stats %s: %w", args[0], err)
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), cacheStatsJSON{
						Instance: args[0], Keys: s.Keys, ByPrefix: s.ByPrefix, UsedMemory: s.UsedMemory,
						MinTTLSeconds: int64(s.MinTTL / time.Second), NoTTL: s.NoTTL,
					})
				}
				printCacheStats(cmd.OutOrStdout(), args[0], s)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

type cacheStatsJSON struct {
	Instance      string         `json:"instance"`
	Keys          int            `json:"keys"`
	ByPrefix      map[string]int `json:"by_prefix"`
	UsedMemory    int64          `json:"used_memory_bytes"`
	MinTTLSeconds int64          `json:"min_ttl_seconds"`
	NoTTL         int            `json:"keys_without_ttl"`
}

func printCacheStats(w io.Writer, name string, s cache.Summary) {
	fmt.Fprintf(w, "%s: %d cache keys, %.1f MiB used", name, s.Keys, float64(s.UsedMemory)/(1<<20))
	if s.Keys > 0 {
		fmt.Fprintf(w, ", the first to expire in %s", s.MinTTL.Round(time.Minute))
	}
	if s.NoTTL > 0 {
		fmt.Fprintf(w, ", %d without TTL", s.NoTTL)
	}
	fmt.Fprintln(w)
	prefixes := make([]string, 0, len(s.ByPrefix))
	for p := range s.ByPrefix {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)
	tw := newTable(w)
	fmt.Fprintln(tw, "PREFIX\tKEYS")
	for _, p := range prefixes {
		fmt.Fprintf(tw, "%s\t%d\n", p, s.ByPrefix[p])
	}
	tw.Flush()
}

// withRedis connects to instance name's redis over its network and runs fn.
func withRedis(ctx context.Context, g *globals, name string, fn func(context.Context, *redis.Client) error) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	ins, err := selectInstances(cfg, []string{name}, false)
	if err != nil {
		return err
	}
	es := newEngines(io.Discard)
	defer es.close()
	eng, err := es.get(ctx, ins[0].Host)
	if err != nil {
		return err
	}
	addr, err := eng.ServiceAddress(ctx, name, "redis", 6379)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 3 * time.Second, MaxRetries: -1})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%s: redis at %s does not answer from this machine (is the instance on this machine's engine?): %w", name, addr, err)
	}
	return fn(ctx, rdb)
}
