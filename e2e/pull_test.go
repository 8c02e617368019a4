package e2e

import (
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// The operator's images live in a registry, as in production: wbd pull
// fetches every image the named instances use, each once, their pull lists
// included, and apply pulls a tag the engine lacks before it recreates the
// app, and an image of the pull list the engine lacks even when nothing
// else changes. The registry is an in-memory one on loopback (the engine
// trusts 127.0.0.0/8 over plain HTTP), filled from the stand-in images with
// docker push. On the way: progress as JSON, quiet, and on a terminal, one
// display for two instances applied at once; plan's exit code, and what
// it says the daemon would take down.
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
	present := func(ref string) bool { _, err := dockerTry("image", "inspect", ref); return err == nil }
	// Pulling does not care what an image holds: the small app image
	// stands in for all four names of the first two instances, and for
	// hmis, an image the app needs that no container runs.
	app2, pg, redis, admin, hmis := push("app:2"), push("postgres:fake"), push("redis:fake"), push("admin:fake"), push("hmis:1")
	o := newOperator(t)
	fromRegistry := func(in *instance) {
		in.Images = images{App: app2, Postgres: pg, Redis: redis, Admin: admin}
		in.Pull = []string{hmis}
		o.withAdmin(in)
	}
	a, b := o.declare(fromRegistry), o.declare(fromRegistry)

	r := o.mustWbd("pull", a.Name, b.Name)
	for _, ref := range []string{app2, pg, redis, admin, hmis} {
		if n := strings.Count(r.stdout+r.stderr, "Image "+ref+"  Pulled"); n != 1 {
			t.Errorf("wbd pull: %s pulled %d times, want once\n%s", ref, n, r)
		}
		if !present(ref) {
			t.Errorf("%s not on the engine after wbd pull", ref)
		}
	}
	if got := pullStatus(t, o, a); !slices.Equal(got, []string{hmis + " present"}) {
		t.Errorf("wbd status %s: pull list %q, want %s present", a.Name, got, hmis)
	}

	// Progress for programs: a JSON object per event; or none at all.
	r = o.mustWbd("pull", a.Name, "--progress", "json")
	pulled := false
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		var ev struct{ ID, Status, Text string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("wbd pull --progress json: %q is not a JSON event\n%s", line, r)
		}
		pulled = pulled || ev.ID == "Image "+hmis && ev.Text == "Pulled"
	}
	if !pulled {
		t.Errorf("wbd pull --progress json: no Pulled event for %s\n%s", hmis, r)
	}
	if r = o.mustWbd("pull", a.Name, "--progress", "quiet"); r.stderr != "" {
		t.Errorf("wbd pull --progress quiet wrote progress\n%s", r)
	}

	// apply pulls what is missing: the app image, removed again, and the
	// pull list's image. Two instances at once on a terminal make one
	// display: a header, and a line for each container, in its last state.
	docker(t, "rmi", app2, hmis)
	c := o.declare(func(in *instance) { in.Images.App, in.Pull = app2, []string{hmis} })
	d := o.declare(nil)
	screen, code := o.onTerminal(50, 150, "apply", c.Name, d.Name, "--parallel", "2")
	text := strings.Join(screen, "\n")
	if code != 0 {
		t.Fatalf("wbd apply %s %s --parallel 2 on a terminal: exit %d\n%s", c.Name, d.Name, code, text)
	}
	if n := strings.Count(text, "[+] apply"); n != 1 {
		t.Errorf("%d progress headers on the terminal, want one display:\n%s", n, text)
	}
	for _, in := range []*instance{c, d} {
		for _, name := range []string{in.Name + "-postgres", in.Name + "-redis", in.Name} {
			re := regexp.MustCompile(`(?m)^ . Container ` + regexp.QuoteMeta(name) + ` +(\S+)`)
			if m := re.FindAllStringSubmatch(text, -1); len(m) != 1 || (m[0][1] != "Healthy" && m[0][1] != "Started") {
				t.Errorf("container %s on %d lines of the terminal (%q), want one, healthy or started:\n%s", name, len(m), m, text)
			}
		}
	}
	for _, ref := range []string{app2, hmis} {
		if n := strings.Count(text, "Image "+ref+" "); n != 1 || !present(ref) {
			t.Errorf("%s on %d lines of the terminal, present %v; want pulled once:\n%s", ref, n, present(ref), text)
		}
	}
	if img := inspect(t, c.Name).Config.Image; img != app2 {
		t.Fatalf("%s runs %s, want %s pulled by apply", c.Name, img, app2)
	}

	// An image of the pull list gone from the engine is a change: plan
	// says so, exit code 2, and apply pulls it and touches no container.
	docker(t, "rmi", hmis)
	if r := o.wbd("plan", c.Name, "--exit-code"); r.code != 2 || !strings.Contains(r.stdout, "image "+hmis) {
		t.Errorf("wbd plan --exit-code with %s missing: want exit 2 and a pull line\n%s", hmis, r)
	}
	ids := containerIDs(t, c)
	if r := o.apply(c); !present(hmis) || !strings.Contains(r.stdout, "unchanged; pulled "+hmis) {
		t.Errorf("%s not pulled by apply, or not said so\n%s", hmis, r)
	}
	if now := containerIDs(t, c); !slices.Equal(now, ids) {
		t.Errorf("containers %v became %v: pulling an image nothing runs recreated some", ids, now)
	}
	if r := o.wbd("plan", c.Name, "--exit-code"); r.code != 0 {
		t.Errorf("wbd plan --exit-code after apply: want 0, nothing to do\n%s", r)
	}

	// A new app tag rolls out from the registry, recreating only the app.
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

	// d leaves the file: plan, of everything without a name, says the
	// daemon would take it down, every container of it.
	o.instances = slices.DeleteFunc(o.instances, func(in *instance) bool { return in == d })
	o.writeFile()
	r = o.wbd("plan", "--exit-code")
	for _, name := range []string{d.Name, d.Name + "-redis", d.Name + "-postgres", "network " + d.Name} {
		if !regexp.MustCompile(`(?m)^` + d.Name + ` .* ` + regexp.QuoteMeta(name) + ` +remove +not in the file`).MatchString(r.stdout) {
			t.Errorf("wbd plan: no line taking down %s\n%s", name, r)
		}
	}
	if r.code != 2 {
		t.Errorf("wbd plan --exit-code with an instance to take down: exit %d, want 2\n%s", r.code, r)
	}
	var plans []struct {
		Instance string `json:"instance"`
		InFile   bool   `json:"in_file"`
	}
	if err := json.Unmarshal([]byte(o.mustWbd("plan", "--json").stdout), &plans); err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(plans, func(p struct {
		Instance string `json:"instance"`
		InFile   bool   `json:"in_file"`
	}) bool {
		return p.Instance == d.Name
	}); i < 0 || plans[i].InFile {
		t.Errorf("wbd plan --json: want %s with in_file false, got %+v", d.Name, plans)
	}

	// An image the registry does not hold fails the pull, naming it.
	b.Images.Redis = repo + "/redis:missing"
	o.writeFile()
	fail := o.wbd("pull", b.Name)
	if fail.code != 1 || !strings.Contains(fail.stderr, "pull "+b.Images.Redis) {
		t.Errorf("wbd pull of a missing image: want exit 1 naming it\n%s", fail)
	}
}

// pullStatus is what `wbd status NAME --json` says of in's pull list:
// "IMAGE present" or "IMAGE missing" for each.
func pullStatus(t *testing.T, o *operator, in *instance) []string {
	t.Helper()
	var st []struct {
		Pull []struct {
			Image   string `json:"image"`
			Present bool   `json:"present"`
		} `json:"pull"`
	}
	if err := json.Unmarshal([]byte(o.mustWbd("status", in.Name, "--json").stdout), &st); err != nil || len(st) != 1 {
		t.Fatalf("wbd status %s --json: %v", in.Name, err)
	}
	var out []string
	for _, p := range st[0].Pull {
		out = append(out, p.Image+map[bool]string{true: " present", false: " missing"}[p.Present])
	}
	return out
}

// containerIDs are the IDs of in's postgres, redis and app containers.
func containerIDs(t *testing.T, in *instance) []string {
	t.Helper()
	var ids []string
	for _, name := range []string{in.Name + "-postgres", in.Name + "-redis", in.Name} {
		ids = append(ids, inspect(t, name).ID)
	}
	return ids
}
