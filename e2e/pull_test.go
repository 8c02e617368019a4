package e2e

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// The operator's images live in a registry, as in production: wbd pull
// fetches every image the named instances use, each once, and apply pulls
// a tag the engine lacks before it recreates the app. The registry is an
// in-memory one on loopback (the engine trusts 127.0.0.0/8 over plain
// HTTP), filled from the stand-in images with docker push.
func TestPullFromARegistry(t *testing.T) {
	t.Parallel()
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	repo := strings.TrimPrefix(reg.URL, "http://") + "/" + uniqueName("e2e")
	var pushed []string
	t.Cleanup(func() {
		for _, ref := range pushed {
			_, _ = dockerTry("rmi", ref)
		}
	})
	// push puts imageApp in the registry as ref, and leaves no local copy
	// of that name, so that only a pull can bring it back.
	push := func(name string) string {
		t.Helper()
		ref := repo + "/" + name
		docker(t, "tag", imageApp, ref)
		docker(t, "push", ref)
		docker(t, "rmi", ref)
		pushed = append(pushed, ref)
		return ref
	}
	// Pulling does not care what an image holds: the small app image
	// stands in for all four names of the first two instances.
	app2, pg, redis, admin := push("app:2"), push("postgres:fake"), push("redis:fake"), push("admin:fake")
	o := newOperator(t)
	fromRegistry := func(in *instance) {
		in.Images = images{App: app2, Postgres: pg, Redis: redis, Admin: admin}
		o.withAdmin(in)
	}
	a, b := o.declare(fromRegistry), o.declare(fromRegistry)

	r := o.mustWbd("pull", a.Name, b.Name)
	for _, ref := range []string{app2, pg, redis, admin} {
		if n := strings.Count(r.stdout+r.stderr, "Image "+ref+"  Pulled"); n != 1 {
			t.Errorf("wbd pull: %s pulled %d times, want once\n%s", ref, n, r)
		}
		if _, err := dockerTry("image", "inspect", ref); err != nil {
			t.Errorf("%s not on the engine after wbd pull", ref)
		}
	}

	// apply pulls what is missing: the app image, removed again, and then
	// a new tag the operator rolls out.
	docker(t, "rmi", app2)
	c := o.declare(func(in *instance) { in.Images.App = app2 })
	o.apply(c)
	if img := inspect(t, c.Name).Config.Image; img != app2 {
		t.Fatalf("%s runs %s, want %s pulled by apply", c.Name, img, app2)
	}
	pgID := inspect(t, c.Name+"-postgres").ID
	c.Images.App = push("app:3")
	o.writeFile()
	o.apply(c)
	if img := inspect(t, c.Name).Config.Image; img != c.Images.App {
		t.Errorf("%s runs %s after the rollout, want %s", c.Name, img, c.Images.App)
	}
	if id := inspect(t, c.Name+"-postgres").ID; id != pgID {
		t.Errorf("postgres recreated by an app rollout from the registry")
	}

	// An image the registry does not hold fails the pull, naming it.
	b.Images.Redis = repo + "/redis:missing"
	o.writeFile()
	fail := o.wbd("pull", b.Name)
	if fail.code != 1 || !strings.Contains(fail.stderr, "pull "+b.Images.Redis) {
		t.Errorf("wbd pull of a missing image: want exit 1 naming it\n%s", fail)
	}
}
