package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The operator declares an instance and applies it: it runs as the plan's
// imperative CLI ran it, with its data and secrets where the plan says.
func TestApplyRunsAnInstanceAsThePlanNamesIt(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	in := o.declare(o.withAdmin)

	o.apply(in)

	t.Run("containers carry the plan's names and run on the instance's network", func(t *testing.T) {
		for _, name := range containerNames(in) {
			c := inspect(t, name)
			if c.State.Status != "running" {
				t.Errorf("%s: state %s, want running", name, c.State.Status)
			}
			if _, ok := c.NetworkSettings.Networks[in.Name]; !ok {
				t.Errorf("%s: networks %v, want %s", name, keys(c.NetworkSettings.Networks), in.Name)
			}
		}
	})

	t.Run("data is bind-mounted from the instance directory", func(t *testing.T) {
		for _, m := range []struct{ container, target, dir string }{
			{in.Name + "-postgres", "/var/lib/postgresql/data", "databases"},
			{in.Name + "-redis", "/data", "redis"},
			{in.Name, "/data/sandbox", "sandbox"},
			{in.Name, "/data/exports", "exports"},
			{in.Name, "/data/assets", "assets"},
		} {
			if got, want := inspect(t, m.container).mountAt(m.target), o.dirOf(in, m.dir); got != want {
				t.Errorf("%s: bind mount at %s from %q, want %q", m.container, m.target, got, want)
			}
			if fi, err := os.Stat(o.dirOf(in, m.dir)); err != nil || !fi.IsDir() {
				t.Errorf("subdirectory %s not created: %v", m.dir, err)
			}
		}
	})

	t.Run("redis runs with appendonly and the app is pointed at it", func(t *testing.T) {
		if got, want := redisCLI(t, in, "CONFIG", "GET", "appendonly"), "appendonly\nyes"; got != want {
			t.Errorf("redis CONFIG GET appendonly = %q, want %q", got, want)
		}
		got, _ := inspect(t, in.Name).env("REDIS_URL")
		if want := "redis://" + in.Name + "-redis:6379"; got != want {
			t.Errorf("app REDIS_URL = %q, want %q", got, want)
		}
	})

	t.Run("the app reaches redis and fills the cache on a miss", func(t *testing.T) {
		waitForHealth(t, in, "ok")
		if got := redisCLI(t, in, "KEYS", "cache:*"); got != "" {
			t.Fatalf("KEYS cache:* before any request = %q, want none", got)
		}
		code, body, err := httpGet(in.Port, "/datasets/hmis")
		if err != nil || code != 200 {
			t.Fatalf("GET /datasets/hmis: %d %s %v", code, body, err)
		}
		eventually(t, 10*time.Second, "the dataset is cached in redis", func() error {
			keys := strings.Fields(redisCLI(t, in, "KEYS", "cache:*"))
			if !slices.ContainsFunc(keys, func(k string) bool { return strings.Contains(k, "hmis") }) {
				return fmt.Errorf("KEYS cache:* = %v", keys)
			}
			return nil
		})
	})

	t.Run("the admin, running as pgAdmin's uid 5050, read its password and answers", func(t *testing.T) {
		if c := inspect(t, in.Name+"-admin"); c.Config.User != "5050:5050" || c.RestartCount != 0 {
			t.Errorf("%s-admin: user %q, %d restarts; want 5050:5050 and none", in.Name, c.Config.User, c.RestartCount)
		}
		eventually(t, 10*time.Second, "the admin answers /misc/ping", func() error {
			code, body, err := httpGet(in.AdminPort, "/misc/ping")
			if err != nil || code != 200 || string(body) != "PING" {
				return fmt.Errorf("GET /misc/ping: %d %q %v", code, body, err)
			}
			return nil
		})
	})

	t.Run("secrets are read-only files in a root-only directory, and nowhere else", func(t *testing.T) {
		secret := o.dirOf(in, "secrets", "postgres-password")
		fi, err := os.Stat(secret)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o444 {
			t.Errorf("%s: mode %v, want 0444", secret, got)
		}
		if fi, err := os.Stat(filepath.Dir(secret)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, %v; want mode 0700", filepath.Dir(secret), fi.Mode(), err)
		}
		pw, err := os.ReadFile(secret)
		if err != nil {
			t.Fatal(err)
		}
		password := strings.TrimSpace(string(pw))
		if len(password) < 16 {
			t.Fatalf("postgres password %q: too short to be generated", password)
		}
		inspected := docker(t, append([]string{"container", "inspect"}, containerNames(in)...)...)
		rendered := o.mustWbd("render", in.Name).stdout
		composeFile, err := os.ReadFile(o.dirOf(in, "compose.yaml"))
		if err != nil {
			t.Fatalf("apply did not write compose.yaml: %v", err)
		}
		for what, text := range map[string]string{
			"docker inspect (labels, env)": inspected,
			"wbd render":                   rendered,
			"{root}/NAME/compose.yaml":     string(composeFile),
		} {
			if strings.Contains(text, password) {
				t.Errorf("the postgres password is in %s", what)
			}
		}
		if !strings.Contains(rendered, secret) {
			t.Errorf("wbd render does not name the secret file %s:\n%s", secret, rendered)
		}
	})

	t.Run("docker compose sees the project from its compose.yaml", func(t *testing.T) {
		requireComposePlugin(t)
		out := docker(t, "compose", "-f", o.dirOf(in, "compose.yaml"), "-p", in.Name, "ps", "--format", "{{.Name}} {{.State}}")
		for _, name := range containerNames(in) {
			if !slices.Contains(strings.Split(out, "\n"), name+" running") {
				t.Errorf("docker compose -p %s ps does not list %s running:\n%s", in.Name, name, out)
			}
		}
	})
}

// The operator points an instance at a new app image: plan says only the
// app is recreated, and apply replaces only the app's container.
func TestNewAppImageRecreatesOnlyTheApp(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	in := o.declare(nil)
	o.apply(in)
	before := map[string]string{}
	for _, n := range []string{in.Name, in.Name + "-postgres", in.Name + "-redis"} {
		before[n] = inspect(t, n).ID
	}

	newTag := "wbd.local/app:" + uniqueName("e2e")[len("e2e-"):]
	docker(t, "tag", imageApp, newTag)
	t.Cleanup(func() { _, _ = dockerTry("rmi", newTag) }) // only the tag: the image stays
	in.Images.App = newTag
	o.writeFile()

	// Before the apply, status says which service no longer matches the file.
	for service, want := range map[string]bool{"app": false, "postgres": true, "redis": true} {
		if got := o.status(in)[service]; got.State != "running" || got.Matches == nil || *got.Matches != want {
			t.Errorf("wbd status before apply: %s %+v, want running, matches the file: %v", service, got, want)
		}
	}

	plan, _ := o.plan(in)
	for service, want := range map[string]string{"app": "recreate", "postgres": "unchanged", "redis": "unchanged"} {
		if got := plan[service].Action; got != want {
			t.Errorf("plan: %s %s, want %s", service, got, want)
		}
	}
	if ch := plan["app"].Changes; len(ch) != 1 || ch[0].Field != "image" || !strings.Contains(ch[0].Detail, newTag) {
		t.Errorf("plan: app changes %+v, want one image change naming %s", ch, newTag)
	}
	if text := o.mustWbd("plan", in.Name).stdout; !strings.Contains(text, "recreate") || !strings.Contains(text, newTag) {
		t.Errorf("wbd plan does not tell the operator why the app is recreated:\n%s", text)
	}

	o.apply(in)

	for name, id := range before {
		c := inspect(t, name)
		switch name {
		case in.Name:
			if c.ID == id {
				t.Errorf("app container %s was not recreated", name)
			}
			if c.Config.Image != newTag {
				t.Errorf("app runs %s, want %s", c.Config.Image, newTag)
			}
		default:
			if c.ID != id {
				t.Errorf("%s was recreated (%.12s -> %.12s), want untouched", name, id, c.ID)
			}
		}
		if c.State.Status != "running" {
			t.Errorf("%s: %s after apply, want running", name, c.State.Status)
		}
	}
	plan, _ = o.plan(in)
	for service, p := range plan {
		if p.Action != "unchanged" {
			t.Errorf("plan after apply: %s %s, want unchanged", service, p.Action)
		}
	}
	if got := o.status(in)["app"]; got.Image != newTag || got.Matches == nil || !*got.Matches {
		t.Errorf("wbd status after apply: app %+v, want %s matching the file", got, newTag)
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
