package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The point of the plan: the cache redis keeps on disk survives a restart
// and a down followed by an apply, and down never deletes data.
func TestCacheSurvivesRestartAndDown(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	in := o.declare(nil)
	o.apply(in)

	key, value := "cache:e2e:"+in.Name, "kept-"+in.Name
	if got := redisCLI(t, in, "SET", key, value); got != "OK" {
		t.Fatalf("redis SET = %q", got)
	}
	cacheIsThere := func(after string) {
		t.Helper()
		if got := redisCLI(t, in, "GET", key); got != value {
			t.Errorf("after %s: GET %s = %q, want %q", after, key, got, value)
		}
	}

	o.restart(in)
	cacheIsThere("wbd restart")
	waitForHealth(t, in, "ok")

	o.down(in)
	for _, name := range containerNames(in) {
		if _, ok := lookup(t, name); ok {
			t.Errorf("container %s still there after wbd down", name)
		}
	}
	if _, err := dockerTry("network", "inspect", in.Name); err == nil {
		t.Errorf("network %s still there after wbd down", in.Name)
	}
	for _, dir := range []string{"databases", "redis", "secrets"} {
		entries, err := os.ReadDir(o.dirOf(in, dir))
		if err != nil || len(entries) == 0 {
			t.Errorf("after wbd down, %s is gone or empty (%v): down must keep data", o.dirOf(in, dir), err)
		}
	}
	if aof, _ := filepath.Glob(o.dirOf(in, "redis", "appendonlydir", "*")); len(aof) == 0 {
		t.Errorf("no appendonly files under %s", o.dirOf(in, "redis"))
	}

	o.apply(in)
	cacheIsThere("wbd down and wbd apply")
}

// wbd down stops an instance in the plan's order, as the engine's events
// record it: app, admin, redis, then postgres.
func TestDownStopsInThePlansOrder(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	in := o.declare(o.withAdmin)
	o.apply(in)

	since := time.Now()
	o.down(in)
	until := time.Now()

	got := stopEvents(t, in, since, until)
	want := containerNames(in) // app, admin, redis, postgres
	if !slices.Equal(got, want) {
		t.Errorf("containers stopped in the order %v, want %v", got, want)
	}
	if entries, err := os.ReadDir(o.dirOf(in, "databases")); err != nil || len(entries) == 0 {
		t.Errorf("wbd down emptied the database directory (%v)", err)
	}
}

// A redis that cannot start is a warning, not a failure: the app runs
// without its cache and says so.
func TestRedisThatCannotStartOnlyWarns(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	in := o.declare(func(in *instance) { in.Images.Redis = imageRedisBroken })

	r := o.wbd("apply", in.Name)
	if r.code != 0 {
		t.Fatalf("apply with a broken redis must succeed:\n%s", r)
	}
	warned := false
	for _, line := range strings.Split(r.stderr, "\n") {
		warned = warned || (strings.Contains(line, "warning") && strings.Contains(line, "redis"))
	}
	if !warned {
		t.Errorf("no warning naming redis on stderr:\n%s", r.stderr)
	}
	if c := inspect(t, in.Name); c.State.Status != "running" {
		t.Errorf("app %s after apply, want running", c.State.Status)
	}
	if c, ok := lookup(t, in.Name+"-redis"); ok && c.State.Status == "running" {
		t.Errorf("the broken redis runs?")
	}
	waitForHealth(t, in, "down")
	code, body, err := httpGet(in.Port, "/datasets/hmis")
	if err != nil || code != 200 {
		t.Errorf("GET /datasets/hmis without redis: %d %s %v, want 200 from the database", code, body, err)
	}

	// The operator fixes the redis image: redis is recreated, the app keeps
	// running and finds its cache.
	app := inspect(t, in.Name).ID
	in.Images.Redis = imageRedis
	o.writeFile()
	if plan, _ := o.plan(in); plan["redis"].Action != "recreate" || plan["app"].Action != "unchanged" {
		t.Errorf("plan after fixing the redis image: redis %s, app %s; want recreate, unchanged", plan["redis"].Action, plan["app"].Action)
	}
	r = o.apply(in)
	if strings.Contains(r.stderr, "warning") {
		t.Errorf("apply with a good redis still warns:\n%s", r.stderr)
	}
	if got := inspect(t, in.Name).ID; got != app {
		t.Errorf("fixing redis recreated the app (%.12s -> %.12s)", app, got)
	}
	waitForHealth(t, in, "ok")
}

// A name that is neither in the file nor a wbd instance on the engine is a
// mistake: down says so and leaves nothing behind.
func TestDownOfAnUnknownNameChangesNothing(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	known := o.declare(nil)
	typo := uniqueName("e2e")

	r := o.wbd("down", typo)
	if r.code != 1 || !strings.Contains(r.stderr, typo) || !strings.Contains(r.stderr, known.Name) {
		t.Errorf("wbd down of an unknown name: want exit 1 naming it and the file's instances, got\n%s", r)
	}
	r = o.wbd("down", "../"+typo)
	if r.code != 2 {
		t.Errorf("wbd down of a path: want exit 2, got\n%s", r)
	}
	for _, dir := range []string{filepath.Join(o.root, typo), filepath.Join(o.dir, typo)} {
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("wbd down of an unknown name created %s", dir)
		}
	}
}
