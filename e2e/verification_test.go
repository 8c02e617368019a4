package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPlanVerification walks the Verification section of the Redis cache
// plan on a real engine: the first load computes from Postgres, the cache
// fills Redis, a restart keeps it warm, an update is served fresh, and a
// flush empties it.
func TestPlanVerification(t *testing.T) {
	o := newOperator(t)
	in := o.declare(nil)

	// 1. wbd apply testing (the plan says wb restart; apply starts it).
	o.apply(in)
	waitForHealth(t, in, "ok")

	// 2. Load the dataset: the first load hits the database.
	cold := loadDataset(t, in)
	if cold.Source != "database" {
		t.Fatalf("first load came from %q, want the database", cold.Source)
	}

	// 3. docker exec testing-redis redis-cli KEYS "cache:*": keys populated.
	// The app stores after it answers (a request in between shares the
	// load in flight), so the key is waited for.
	eventually(t, 10*time.Second, "the first load is stored in redis", func() error {
		if keys := redisCLI(t, in, "KEYS", "cache:*"); !strings.Contains(keys, "cache:datasets:hmis") {
			return fmt.Errorf("KEYS cache:* = %q, want cache:datasets:hmis", keys)
		}
		return nil
	})
	if warm := loadDataset(t, in); warm.Source != "cache" {
		t.Fatalf("load after the store came from %q, want the cache", warm.Source)
	}
	stats := o.mustWbd("cache", "stats", in.Name, "--json")
	if !strings.Contains(stats.stdout, `"datasets": 1`) {
		t.Errorf("wbd cache stats: want 1 key under datasets\n%s", stats)
	}

	// 4. wbd restart testing: no warming; the first load after it is warm.
	o.restart(in)
	waitForHealth(t, in, "ok")
	after := loadDataset(t, in)
	if after.Source != "cache" {
		t.Fatalf("first load after restart came from %q, want the cache", after.Source)
	}
	t.Logf("first load before the restart %.1f ms (database), after it %.1f ms (cache)", cold.ElapsedMs, after.ElapsedMs)

	// 5. Update the data: the new version is served fresh, not the cached
	// one. The app learns of the update by a notification from Postgres
	// (or, at the latest, once the version it holds is a second old), so
	// until then it may still answer the old version from the cache; the
	// first answer at the new version is computed from the database.
	psql(t, in, "UPDATE datasets SET version = version + 1 WHERE id = 'hmis'")
	eventually(t, 10*time.Second, "the update is served", func() error {
		d := loadDataset(t, in)
		switch {
		case d.Version == cold.Version+1 && d.Source == "database":
			return nil
		case d.Version == cold.Version+1:
			t.Fatalf("the first answer at the new version came from %q, want the database", d.Source)
		case d.Version != cold.Version || d.Source != "cache":
			t.Fatalf("after an update: source %q version %d, want the cache at version %d or the database at %d", d.Source, d.Version, cold.Version, cold.Version+1)
		}
		return fmt.Errorf("still the cached version %d", d.Version)
	})

	// 6. Clear the cache: wbd cache flush, then the app's own endpoint.
	o.mustWbd("cache", "flush", in.Name)
	if keys := redisCLI(t, in, "KEYS", "cache:*"); keys != "" {
		t.Fatalf("after wbd cache flush, KEYS cache:* = %q, want none", keys)
	}
	if again := loadDataset(t, in); again.Source != "database" {
		t.Fatalf("load after flush came from %q, want the database", again.Source)
	}
	// The app stores after it answers: wait for the key, so the endpoint
	// has something to flush.
	eventually(t, 10*time.Second, "the reload is stored", func() error {
		if keys := redisCLI(t, in, "KEYS", "cache:*"); keys == "" {
			return fmt.Errorf("no keys yet")
		}
		return nil
	})
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/caches/flush-all", in.Port), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var flushed struct{ Success bool }
	err = json.NewDecoder(resp.Body).Decode(&flushed)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !flushed.Success {
		t.Fatalf("POST /caches/flush-all: %d %+v %v", resp.StatusCode, flushed, err)
	}
	if keys := redisCLI(t, in, "KEYS", "cache:*"); keys != "" {
		t.Fatalf("after POST /caches/flush-all, KEYS cache:* = %q, want none", keys)
	}
}

// dataset is the reference app's answer to GET /datasets/hmis.
type dataset struct {
	Version   int     `json:"version"`
	Source    string  `json:"source"` // database or cache
	ElapsedMs float64 `json:"elapsedMs"`
}

func loadDataset(t *testing.T, in *instance) dataset {
	t.Helper()
	start := time.Now()
	code, body, err := httpGet(in.Port, "/datasets/hmis")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /datasets/hmis: %d %s %v", code, body, err)
	}
	var d dataset
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("GET /datasets/hmis: %v: %s", err, body)
	}
	t.Logf("GET /datasets/hmis: %s, version %d, %.1f ms in the app, %v in all", d.Source, d.Version, d.ElapsedMs, time.Since(start).Round(time.Millisecond))
	return d
}
