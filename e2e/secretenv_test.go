package e2e

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The operator's app reads its database password from PGPASSWORD and
// DATABASE_URL. secret_env gives it both from the password wbd generated,
// and the password is still only in the secrets directory and the
// container: not in what wbd prints, not in compose.yaml, not in a label.
func TestSecretEnvReachesTheAppAndNothingElse(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	in := o.declare(nil)
	// Values compose would interpolate, were they not escaped.
	const greeting = `cost $PORT ${HOME} $$ "quoted" # not a comment`
	o.addToInstance(in, "    env:\n      GREETING: '"+greeting+"'\n")
	o.apply(in)

	// secret_env comes to a running instance: its file is written only
	// when apply prepares the instance, so the plan names it as the reason.
	o.addToInstance(in, "    secret_env: {PGPASSWORD: postgres_password, DATABASE_URL: postgres_url}\n")
	envFile := o.dirOf(in, "secrets", "app.env")
	actions, _ := o.plan(in)
	if app := actions["app"]; app.Action != "recreate" || len(app.Changes) == 0 || app.Changes[0].Field != "env_file" ||
		app.Changes[0].Detail != envFile+" does not exist yet; apply writes it, then compares" {
		t.Errorf("plan of app after adding secret_env: %+v, want recreate because %s does not exist yet", app, envFile)
	}
	for _, svc := range []string{"postgres", "redis"} {
		if a := actions[svc].Action; a != "unchanged" {
			t.Errorf("plan of %s after adding secret_env: %s, want unchanged", svc, a)
		}
	}
	applied := o.apply(in)

	pwFile := o.dirOf(in, "secrets", "postgres-password")
	pw, err := os.ReadFile(pwFile)
	if err != nil {
		t.Fatal(err)
	}
	password := strings.TrimSuffix(string(pw), "\n")
	if len(password) < 16 {
		t.Fatalf("postgres password %q: too short to be generated", password)
	}

	t.Run("the app's environment holds the password, the URL and every $ as written", func(t *testing.T) {
		app := inspect(t, in.Name)
		for name, want := range map[string]string{
			"PGPASSWORD":   password,
			"DATABASE_URL": "postgres://postgres:" + password + "@" + in.Name + "-postgres:5432/postgres",
			"GREETING":     greeting,
		} {
			if got, ok := app.env(name); !ok || got != want {
				t.Errorf("app %s=%q (set: %v), want %q", name, got, ok, want)
			}
		}
		for _, name := range []string{in.Name + "-postgres", in.Name + "-redis"} {
			if v, ok := inspect(t, name).env("PGPASSWORD"); ok {
				t.Errorf("%s has PGPASSWORD=%q, want it on the app alone", name, v)
			}
		}
	})

	t.Run("the env file is read-only in a directory of its owner's", func(t *testing.T) {
		fi, err := os.Stat(envFile)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o444 {
			t.Errorf("%s: mode %v, want 0444", envFile, got)
		}
		if fi, err := os.Stat(filepath.Dir(envFile)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, %v; want mode 0700", filepath.Dir(envFile), fi.Mode(), err)
		}
	})

	t.Run("the password is in no output, file, label or plan of wbd's", func(t *testing.T) {
		rendered := o.mustWbd("render", in.Name)
		if !strings.Contains(rendered.stdout, o.dirOf(in, "secrets", "app.env")) {
			t.Errorf("wbd render does not name the env file:\n%s", rendered.stdout)
		}
		planText := o.mustWbd("plan", in.Name)
		planJSON := o.mustWbd("plan", in.Name, "--json")
		status := o.mustWbd("status", in.Name, "--json")
		labels := docker(t, append([]string{"container", "inspect", "--format", "{{json .Config.Labels}}"},
			in.Name, in.Name+"-postgres", in.Name+"-redis")...)
		netLabels := docker(t, "network", "inspect", "--format", "{{json .Labels}}", in.Name)
		texts := map[string]string{
			"wbd apply":         applied.stdout + applied.stderr,
			"wbd render":        rendered.stdout + rendered.stderr,
			"wbd plan":          planText.stdout + planText.stderr,
			"wbd plan --json":   planJSON.stdout + planJSON.stderr,
			"wbd status --json": status.stdout + status.stderr,
			"container labels":  labels,
			"network labels":    netLabels,
		}
		// compose.yaml, the revisions and whatever else wbd keeps in the
		// instance directory; the secrets are where the password belongs,
		// and postgres's own data is postgres's.
		dir := o.dirOf(in)
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			if d.IsDir() && (rel == "secrets" || rel == "databases") {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() {
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				texts[filepath.Join("{root}/NAME", rel)] = string(data)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := texts["{root}/NAME/compose.yaml"]; !ok {
			t.Fatal("apply did not write compose.yaml")
		}
		for _, what := range slices.Sorted(maps.Keys(texts)) {
			if strings.Contains(texts[what], password) {
				t.Errorf("the postgres password is in %s", what)
			}
		}
	})

	t.Run("a second apply changes nothing: the config hash is stable", func(t *testing.T) {
		before := takeSnapshot(t, containerNames(in)...)
		actions, _ := o.plan(in)
		for svc, sp := range actions {
			if sp.Action != "unchanged" {
				t.Errorf("plan after apply: %s %s %v, want unchanged", svc, sp.Action, sp.Changes)
			}
		}
		o.apply(in)
		requireUnchanged(t, "a second wbd apply", before, takeSnapshot(t, containerNames(in)...))
	})

	t.Run("docker compose up by hand on compose.yaml recreates nothing", func(t *testing.T) {
		requireComposePlugin(t)
		before := takeSnapshot(t, containerNames(in)...)
		docker(t, "compose", "-f", o.dirOf(in, "compose.yaml"), "up", "-d", "--no-build", "--pull", "never")
		requireUnchanged(t, "docker compose up", before, takeSnapshot(t, containerNames(in)...))
	})
}

// addToInstance writes lines into in's entry of instances.yaml, beside
// what writeFile puts there.
func (o *operator) addToInstance(in *instance, lines ...string) {
	o.t.Helper()
	data, err := os.ReadFile(o.file)
	if err != nil {
		o.t.Fatal(err)
	}
	head := "  " + in.Name + ":\n"
	text := string(data)
	if !strings.Contains(text, head) {
		o.t.Fatalf("%s has no entry %q:\n%s", o.file, head, text)
	}
	text = strings.Replace(text, head, head+strings.Join(lines, ""), 1)
	if err := os.WriteFile(o.file, []byte(text), 0o644); err != nil {
		o.t.Fatal(err)
	}
}
