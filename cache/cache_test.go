package cache

import (
	"context"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

func TestGetOrLoadMissThenHit(t *testing.T) {
	c, rdb, _ := newItems(t)
	ctx := t.Context()
	want := item{ID: "a", Version: 1, Body: "<b>&</b>"}
	loads := 0

	for i, wantSrc := range []Source{SourceLoad, SourceCache, SourceCache} {
		got, src, err := c.GetOrLoad(ctx, "a", "v1", loader(want, &loads))
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if got != want || src != wantSrc {
			t.Errorf("call %d = %+v, %v; want %+v, %v", i, got, src, want, wantSrc)
		}
		if i == 0 {
			waitSettled(t, c)
		}
	}
	if loads != 1 {
		t.Errorf("loads = %d, want 1", loads)
	}
	raw, err := rdb.Get(ctx, "cache:items:a").Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"versionHash":"v1","data":{"id":"a","version":1,"body":"<b>&</b>"}}`; raw != want {
		t.Errorf("stored %s, want %s", raw, want)
	}
	n := c.Counters()
	if n.Hits != 2 || n.Misses != 1 || n.Loads != 1 || n.Stores != 1 || n.RedisErrors != 0 {
		t.Errorf("counters = %+v", n)
	}
}

// waitSettled waits until c runs no flight: GetOrLoad returns the loaded
// value before storing it.
func waitSettled[U, V, T any](t testing.TB, c *Cache[U, V, T]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := c.Wait(ctx); err != nil {
		t.Fatalf("flights still running after 10s: %v", err)
	}
}

func TestTTL(t *testing.T) {
	c, rdb, _ := newItems(t)
	ctx := t.Context()

	// Written entries live 15 to 30 days, spread out.
	seen := map[time.Duration]bool{}
	for i := range 20 {
		id := string(rune('a' + i))
		if _, err := c.Set(ctx, id, "v1", func(context.Context) (item, error) { return item{ID: id}, nil }); err != nil {
			t.Fatal(err)
		}
		ttl := rdb.TTL(ctx, c.Key(id)).Val()
		if ttl < 15*day-time.Minute || ttl > 30*day {
			t.Errorf("TTL after write = %v, want between 15 and 30 days", ttl)
		}
		seen[ttl] = true
	}
	if len(seen) < 2 {
		t.Errorf("20 writes all got the TTL %v: no jitter", seen)
	}

	// A read hit puts it back to 30 days, in the same round trip.
	rdb.Expire(ctx, c.Key("a"), time.Hour)
	if _, ok, err := c.Get(ctx, "a", "v1"); !ok || err != nil {
		t.Fatalf("Get = %v, %v", ok, err)
	}
	if ttl := rdb.TTL(ctx, c.Key("a")).Val(); ttl < 30*day-time.Minute || ttl > 30*day {
		t.Errorf("TTL after read = %v, want 30 days", ttl)
	}
}

func TestVersions(t *testing.T) {
	c, _, _ := newItems(t)
	ctx := t.Context()
	v1 := item{ID: "a", Version: 1}
	v2 := item{ID: "a", Version: 2}
	if _, err := c.Set(ctx, "a", "v1", func(context.Context) (item, error) { return v1, nil }); err != nil {
		t.Fatal(err)
	}

	// Another version is a miss, and its load replaces the entry.
	loads := 0
	got, src, err := c.GetOrLoad(ctx, "a", "v2", loader(v2, &loads))
	if err != nil || got != v2 || src != SourceLoad {
		t.Fatalf("GetOrLoad(v2) = %+v, %v, %v; want a load of v2", got, src, err)
	}
	if n := c.Counters(); n.StaleMisses != 1 {
		t.Errorf("StaleMisses = %d, want 1", n.StaleMisses)
	}
	waitSettled(t, c)
	if _, ok, _ := c.Get(ctx, "a", "v1"); ok {
		t.Error("Get(v1) hit after v2 was stored")
	}
	if got, ok, _ := c.Get(ctx, "a", "v2"); !ok || got != v2 {
		t.Errorf("Get(v2) = %+v, %v", got, ok)
	}

	// any_version takes whatever is there.
	if got, ok, err := c.GetAnyVersion(ctx, "a"); !ok || err != nil || got != v2 {
		t.Errorf("GetAnyVersion = %+v, %v, %v; want v2", got, ok, err)
	}
	if _, ok, err := c.GetAnyVersion(ctx, "missing"); ok || err != nil {
		t.Errorf("GetAnyVersion(missing) = %v, %v; want a miss", ok, err)
	}
}

func TestParseData(t *testing.T) {
	for _, tc := range []struct {
		name      string
		parse     func(item) Parsed
		storedKey string // "" when nothing may be stored
		logged    string
	}{
		{
			name:      "stores under the parsed uniqueness hash",
			parse:     func(it item) Parsed { return Parsed{true, "parsed-" + it.ID, "v1"} },
			storedKey: "cache:items:parsed-a",
		},
		{
			name:  "shouldStore false",
			parse: func(item) Parsed { return Parsed{ShouldStore: false} },
		},
		{
			name:   "version mismatch",
			parse:  func(item) Parsed { return Parsed{true, "a", "v0"} },
			logged: "version hashes don't match",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := itemHashes
			h.ParseData = tc.parse
			base, rdb, recs := newItems(t)
			c := New(base.conn, "items", h)
			ctx := t.Context()
			got, err := c.Set(ctx, "a", "v1", func(context.Context) (item, error) { return item{ID: "a"}, nil })
			if err != nil || got.ID != "a" {
				t.Fatalf("Set = %+v, %v; want the value whether stored or not", got, err)
			}
			keys := rdb.Keys(ctx, "*").Val()
			if tc.storedKey == "" && len(keys) != 0 || tc.storedKey != "" && (len(keys) != 1 || keys[0] != tc.storedKey) {
				t.Errorf("keys = %q, want %q", keys, tc.storedKey)
			}
			if tc.logged != "" && recs.count(tc.logged) != 1 {
				t.Errorf("log lacks %q:\n%s", tc.logged, recs)
			}
		})
	}
}

func TestMaxValueSize(t *testing.T) {
	c, rdb, recs := newItems(t, WithMaxValueSize(1000))
	ctx := t.Context()
	big := item{ID: "big", Body: strings.Repeat("x", 1000)}
	if got, err := c.Set(ctx, "big", "v1", func(context.Context) (item, error) { return big, nil }); err != nil || got != big {
		t.Fatalf("Set = %v; want the value returned though not stored", err)
	}
	if n := rdb.Exists(ctx, c.Key("big")).Val(); n != 0 {
		t.Error("oversized value was stored")
	}
	if n := c.Counters().Oversized; n != 1 {
		t.Errorf("Oversized = %d, want 1", n)
	}
	if recs.count("too large") != 1 {
		t.Errorf("oversized value not logged:\n%s", recs)
	}
	if _, err := c.Set(ctx, "small", "v1", func(context.Context) (item, error) { return item{ID: "small"}, nil }); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, c.Key("small")).Val(); n != 1 {
		t.Error("small value was not stored")
	}
}

func TestUnreadableEntryIsAMiss(t *testing.T) {
	c, rdb, recs := newItems(t)
	ctx := t.Context()
	rdb.Set(ctx, c.Key("a"), `{"versionHash":"v1","data":{"id":1}}`, 0) // id is not a string
	loads := 0
	got, src, err := c.GetOrLoad(ctx, "a", "v1", loader(item{ID: "a"}, &loads))
	if err != nil || src != SourceLoad || got.ID != "a" {
		t.Errorf("GetOrLoad = %+v, %v, %v; want a load", got, src, err)
	}
	if recs.count("unreadable") != 1 {
		t.Errorf("unreadable entry not logged:\n%s", recs)
	}
}

func TestDisabled(t *testing.T) {
	conn, recs := open(t, "")
	if recs.count("caching disabled") != 1 {
		t.Errorf("disabled cache not logged:\n%s", recs)
	}
	for name, conn := range map[string]*Conn{"Open(\"\")": conn, "nil Conn": nil} {
		t.Run(name, func(t *testing.T) {
			c := New(conn, "items", itemHashes)
			ctx := t.Context()
			loads := 0
			for range 3 {
				if _, src, err := c.GetOrLoad(ctx, "a", "v1", loader(item{ID: "a"}, &loads)); err != nil || src != SourceLoad {
					t.Fatalf("GetOrLoad = %v, %v; want a load", src, err)
				}
				waitSettled(t, c) // else the next call may share this load
			}
			if loads != 3 {
				t.Errorf("loads = %d, want 3: every call goes to the loader", loads)
			}
			if _, ok, err := c.Get(ctx, "a", "v1"); ok || err != nil {
				t.Errorf("Get = %v, %v; want a miss", ok, err)
			}
			if err := c.Clear(ctx, "a"); err != nil {
				t.Error(err)
			}
			if err := c.ClearAll(ctx); err != nil {
				t.Error(err)
			}
			if err := conn.Ping(ctx); err != ErrDisabled {
				t.Errorf("Ping = %v, want ErrDisabled", err)
			}
		})
	}
}

func TestNewRejectsBadPrefix(t *testing.T) {
	for _, prefix := range []string{"", "a:b"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%q) did not panic", prefix)
				}
			}()
			New(nil, prefix, itemHashes)
		}()
	}
}
