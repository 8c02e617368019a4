package cache

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/cache/cachetest"
)

func TestRedisOptions(t *testing.T) {
	for _, tc := range []struct {
		url                         string
		addr                        string
		db                          int
		tls                         bool
		maxRetries                  int
		dial, read, write, poolWait time.Duration
	}{
		{
			url: "redis://127.0.0.1:6380/2", addr: "127.0.0.1:6380", db: 2,
			maxRetries: -1, dial: time.Second, read: 30 * time.Second, write: 30 * time.Second, poolWait: time.Second,
		},
		{
			url: "rediss://user:pw@cache.internal", addr: "cache.internal:6379", tls: true,
			maxRetries: -1, dial: time.Second, read: 30 * time.Second, write: 30 * time.Second, poolWait: time.Second,
		},
		{ // the URL's own options win
			url:  "redis://localhost/0?max_retries=2&dial_timeout=3s&read_timeout=250ms&write_timeout=2s&pool_timeout=4s",
			addr: "localhost:6379", maxRetries: 2,
			dial: 3 * time.Second, read: 250 * time.Millisecond, write: 2 * time.Second, poolWait: 4 * time.Second,
		},
	} {
		o, err := redisOptions(tc.url)
		if err != nil {
			t.Errorf("redisOptions(%q): %v", tc.url, err)
			continue
		}
		if o.Addr != tc.addr || o.DB != tc.db || (o.TLSConfig != nil) != tc.tls || o.MaxRetries != tc.maxRetries ||
			o.DialTimeout != tc.dial || o.ReadTimeout != tc.read || o.WriteTimeout != tc.write || o.PoolTimeout != tc.poolWait {
			t.Errorf("redisOptions(%q) = addr %s db %d tls %v retries %d dial %v read %v write %v pool %v",
				tc.url, o.Addr, o.DB, o.TLSConfig != nil, o.MaxRetries, o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout)
		}
		if o.DialerRetries != 1 || !o.ContextTimeoutEnabled {
			t.Errorf("redisOptions(%q): DialerRetries %d, ContextTimeoutEnabled %v; want 1, true", tc.url, o.DialerRetries, o.ContextTimeoutEnabled)
		}
	}

	for _, bad := range []string{"http://localhost", "redis://:secret@host:port", "redis://localhost/notadb"} {
		_, err := Open(t.Context(), bad)
		if err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) error shows the password: %v", bad, err)
		}
	}
}

// callTimed calls GetOrLoad and marks t failed unless it answers with the
// loader's value within bound. It may run on any goroutine.
func callTimed(t *testing.T, c *Cache[string, string, item], id string, bound time.Duration) {
	t.Helper()
	start := time.Now()
	got, src, err := c.GetOrLoad(t.Context(), id, "v1", func(context.Context) (item, error) { return item{ID: id}, nil })
	took := time.Since(start)
	if err != nil || got.ID != id {
		t.Errorf("GetOrLoad(%s) = %+v, %v, %v; want the loader's value", id, got, src, err)
	}
	if took > bound {
		t.Errorf("GetOrLoad(%s) took %v with Redis unavailable, want under %v", id, took, bound)
	}
}

// The bound on a call while Redis is unavailable: the 100ms operation
// timeout plus a wide margin for a loaded CI machine. What it rules out is
// go-redis's default of retrying for about 1.7s.
const outageBound = time.Second

func TestOutage(t *testing.T) {
	srv := cachetest.NewServer(t)
	conn, recs := open(t, srv.URL) // default operation timeout
	c := New(conn, "items", itemHashes)
	ctx := t.Context()
	if _, err := c.Set(ctx, "warm", "v1", func(context.Context) (item, error) { return item{ID: "warm"}, nil }); err != nil {
		t.Fatal(err)
	}

	// Callers keep coming while Redis dies under them and comes back: a
	// bounded number each, every one answered, none slowly.
	var calls atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := "warm"
				if i%2 == 1 {
					id = fmt.Sprintf("k%d-%d", g, i)
				}
				callTimed(t, c, id, outageBound)
				calls.Add(1)
				time.Sleep(time.Millisecond) // a steady trickle, not a busy loop
			}
		}()
	}
	waitFor(t, "calls before the kill", func() bool { return calls.Load() > 20 })
	srv.Kill()
	waitFor(t, "the outage to be noticed", func() bool { return !conn.Available() })
	n := calls.Load()
	waitFor(t, "calls during the outage", func() bool { return calls.Load() > n+50 })

	// Back on the same port: the cache is used again, no restart needed.
	srv.Restart()
	waitFor(t, "the cache to be used again", func() bool {
		_, _ = c.Set(ctx, "back", "v1", func(context.Context) (item, error) { return item{ID: "back"}, nil })
		_, src, err := c.GetOrLoad(ctx, "back", "v1", func(context.Context) (item, error) { return item{ID: "back"}, nil })
		return err == nil && src == SourceCache
	})
	n = calls.Load()
	waitFor(t, "calls after the recovery", func() bool { return calls.Load() > n+20 })
	close(stop)
	wg.Wait()

	if n := recs.count("redis unavailable"); n != 1 {
		t.Errorf("outage logged %d times, want once:\n%s", n, recs)
	}
	if n := recs.count("redis available again"); n != 1 {
		t.Errorf("recovery logged %d times, want once:\n%s", n, recs)
	}
	if !conn.Available() {
		t.Error("not Available() after recovery")
	}
	if c.Counters().RedisErrors == 0 {
		t.Error("no Redis errors counted during the outage")
	}
}

func TestHungRedis(t *testing.T) {
	srv := cachetest.NewServer(t)
	conn, recs := open(t, srv.URL)
	c := New(conn, "items", itemHashes)
	if _, err := c.Set(t.Context(), "a", "v1", func(context.Context) (item, error) { return item{ID: "a"}, nil }); err != nil {
		t.Fatal(err)
	}

	// A Redis that accepts but never answers costs a call the operation
	// timeout, not go-redis's 3s read timeout.
	srv.Pause()
	for _, id := range []string{"a", "b", "a"} {
		callTimed(t, c, id, outageBound)
	}
	srv.Resume()
	if n := recs.count("redis unavailable"); n != 1 {
		t.Errorf("hang logged %d times, want once:\n%s", n, recs)
	}
	waitFor(t, "the cache to be used again", func() bool {
		_, src, err := c.GetOrLoad(t.Context(), "a", "v1", func(context.Context) (item, error) { return item{ID: "a"}, nil })
		return err == nil && src == SourceCache
	})
}

func TestOpenWhileRedisDown(t *testing.T) {
	srv := cachetest.NewServer(t)
	srv.Kill()
	start := time.Now()
	conn, recs := open(t, srv.URL)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Open took %v with Redis down", took)
	}
	if recs.count("redis unavailable") != 1 || conn.Available() {
		t.Errorf("Open with Redis down: Available %v, log:\n%s", conn.Available(), recs)
	}
	c := New(conn, "items", itemHashes)
	callTimed(t, c, "a", outageBound)

	// Redis comes up after the app: it is used without a restart.
	srv.Restart()
	waitFor(t, "Ping to succeed", func() bool { return conn.Ping(t.Context()) == nil })
	if recs.count("redis available again") != 1 {
		t.Errorf("recovery not logged:\n%s", recs)
	}
	if _, err := c.Set(t.Context(), "a", "v1", func(context.Context) (item, error) { return item{ID: "a"}, nil }); err != nil {
		t.Fatal(err)
	}
	if _, src, _ := c.GetOrLoad(t.Context(), "a", "v1", nil); src != SourceCache {
		t.Errorf("GetOrLoad after Redis came up: source %v, want cache", src)
	}
}
