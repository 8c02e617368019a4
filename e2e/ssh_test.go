package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// An instance whose host is ssh:// is applied, planned, shown and taken
// down through the operator's ssh: a key in their HOME, their ssh config,
// and nothing else. The engine behind the ssh server is this machine's,
// so the instance can be looked at here, and so can the processes ssh
// leaves. Both spellings of an endpoint reach it: the ssh config's alias,
// and user@address:port.
func TestSSHHostRunsAnInstanceThroughTheOperatorsSSH(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	s := startSSHServer(t)
	in := &instance{
		Name: uniqueName("e2e"),
		Port: freePort(t),
		Host: "ssh://" + sshAlias,
		Images: images{
			App: imageApp, Postgres: imagePostgres, Redis: imageRedis, Admin: imageAdmin,
		},
	}
	o.instances = append(o.instances, in)
	o.writeFile()
	down := false
	t.Cleanup(func() {
		if !down {
			if r := s.wbd(t, o, "down", in.Name); r.code != 0 {
				t.Logf("cleanup: %s", r)
			}
		}
		removeInstance(t, in)
	})

	// run runs one wbd command, which must succeed, log in through the
	// server and leave none of its ssh processes behind.
	run := func(t *testing.T, args ...string) result {
		t.Helper()
		before, start := s.logins(), time.Now()
		r := s.wbd(t, o, args...)
		t.Logf("wbd %s: exit %d in %.1fs", strings.Join(args, " "), r.code, time.Since(start).Seconds())
		if r.code != 0 {
			t.Fatalf("%s", r)
		}
		// sshd logs a login as it lets it in; its log is copied here
		// a moment later.
		eventually(t, 5*time.Second, "sshd logs a login of wbd "+strings.Join(args, " "), func() error {
			if s.logins() == before {
				return fmt.Errorf("no login in sshd's log:\n%s", s.log)
			}
			return nil
		})
		s.requireNoLeftovers(t, "wbd "+strings.Join(args, " "))
		return r
	}

	helpers := watchHelpers(t)
	r := run(t, "apply", in.Name)
	helpers.sync(t)
	helpers.stop()
	runs(t, in)
	waitForHealth(t, in, "ok")

	t.Run("files are written on this machine, where the engine behind ssh finds them", func(t *testing.T) {
		// wbd asks the engine whether it sees a marker wbd wrote under
		// root, through a helper container; only if it did not would it
		// write the instance's files through such containers.
		if helpers.created() == 0 {
			t.Errorf("no helper container was created during the apply: wbd did not ask the engine behind %s where the files are", in.Host)
		}
		if n := helpers.extracted(); n > 0 {
			t.Errorf("%d files were unpacked through helper containers: wbd wrote the instance's files through the engine behind %s, not here", n, in.Host)
		}
		// Only wbd run logs how it decided; should apply ever say so,
		// it must not say the files are elsewhere.
		if text := r.stdout + r.stderr; strings.Contains(text, "instance directories are on the docker host") {
			t.Errorf("wbd apply says the files are on the docker host:\n%s", r)
		}
		for _, f := range []string{"compose.yaml", "secrets/postgres-password"} {
			if _, err := os.Stat(o.dirOf(in, f)); err != nil {
				t.Errorf("apply did not write %s here: %v", f, err)
			}
		}
	})

	t.Run("plan through the alias says nothing would change", func(t *testing.T) {
		text := run(t, "plan", in.Name).stdout
		for _, svc := range []string{"postgres", "redis", "app"} {
			if row := rowOf(text, in.Name, svc); !slices.Contains(row, "unchanged") {
				t.Errorf("wbd plan: %s row %q, want unchanged:\n%s", svc, row, text)
			}
		}
	})

	t.Run("status through the alias shows every service running", func(t *testing.T) {
		text := run(t, "status", in.Name).stdout
		for _, svc := range []string{"postgres", "redis", "app"} {
			if row := rowOf(text, in.Name, svc); !slices.Contains(row, "running") {
				t.Errorf("wbd status: %s row %q, want running:\n%s", svc, row, text)
			}
		}
	})

	// The same engine, written as user@address:port.
	in.Host = fmt.Sprintf("ssh://%s@127.0.0.1:%d", s.user, s.port)
	o.writeFile()

	t.Run("plan through user@address:port finds the same containers unchanged", func(t *testing.T) {
		var plans []struct {
			Instance string        `json:"instance"`
			Services []servicePlan `json:"services"`
		}
		r := run(t, "plan", in.Name, "--json")
		if err := json.Unmarshal([]byte(r.stdout), &plans); err != nil || len(plans) != 1 || len(plans[0].Services) != 3 {
			t.Fatalf("wbd plan --json: want one plan of three services, got %v\n%s", err, r)
		}
		for _, sp := range plans[0].Services {
			if sp.Action != "unchanged" {
				t.Errorf("wbd plan --json: %s %s, want unchanged", sp.Service, sp.Action)
			}
		}
	})

	t.Run("status --json names the host without its user and every service running", func(t *testing.T) {
		var sts []struct {
			Instance string          `json:"instance"`
			Host     string          `json:"host"`
			Services []serviceStatus `json:"services"`
		}
		r := run(t, "status", "--json")
		if err := json.Unmarshal([]byte(r.stdout), &sts); err != nil || len(sts) != 1 || sts[0].Instance != in.Name {
			t.Fatalf("wbd status --json: want %s alone, got %v\n%s", in.Name, err, r)
		}
		if got, want := sts[0].Host, fmt.Sprintf("ssh://127.0.0.1:%d", s.port); got != want {
			t.Errorf("wbd status --json: host %q, want %q: no user or password of an endpoint is ever shown", got, want)
		}
		if len(sts[0].Services) != 3 {
			t.Errorf("wbd status --json: services %+v, want postgres, redis and app", sts[0].Services)
		}
		for _, st := range sts[0].Services {
			if st.State != "running" || st.Matches == nil || !*st.Matches {
				t.Errorf("wbd status --json: %s %+v, want running and matching the file", st.Service, st)
			}
		}
	})

	run(t, "down", in.Name)
	down = true
	for _, name := range containerNames(in) {
		if _, ok := lookup(t, name); ok {
			t.Errorf("container %s still there after wbd down", name)
		}
	}
	if _, err := dockerTry("network", "inspect", in.Name); err == nil {
		t.Errorf("network %s still there after wbd down", in.Name)
	}
	for _, f := range []string{"databases/PG_VERSION", "secrets/postgres-password", "compose.yaml"} {
		if _, err := os.Stat(o.dirOf(in, f)); err != nil {
			t.Errorf("after wbd down, %s is gone: down must keep data: %v", f, err)
		}
	}
}

// rowOf returns the fields of the first line of a wbd table that names
// instance and service.
func rowOf(table, instance, service string) []string {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if slices.Contains(f, instance) && slices.Contains(f, service) {
			return f
		}
	}
	return nil
}

// removeInstance removes what is left of an instance under its names,
// unique to the test, on the local engine.
func removeInstance(t *testing.T, in *instance) {
	for _, c := range containerNames(in) {
		if _, err := dockerTry("inspect", "--type", "container", c); err == nil {
			if out, err := dockerTry("rm", "-f", "-v", c); err != nil {
				t.Logf("cleanup: docker rm %s: %v: %s", c, err, out)
			}
		}
	}
	if _, err := dockerTry("network", "inspect", in.Name); err == nil {
		_, _ = dockerTry("network", "rm", in.Name)
	}
}

// helperLabel marks the containers through which wbd reaches a Docker
// host's files (package lifecycle): created, never started.
const helperLabel = "io.wbd.helper=files"

// helperWatch follows the engine's events about wbd's helper containers as
// they happen: the engine keeps only its last 256 events, too few to ask
// afterwards while other tests run.
type helperWatch struct {
	cmd    *exec.Cmd
	out    *lockedBuffer
	probes []string
}

// watchHelpers starts the watch and returns once docker events reports: a
// container of the test's own with the helper label, created and at once
// removed, is the proof.
func watchHelpers(t *testing.T) *helperWatch {
	t.Helper()
	w := &helperWatch{out: &lockedBuffer{}}
	w.cmd = exec.Command("docker", "events", "--filter", "type=container", "--filter", "label="+helperLabel,
		"--format", "{{.Action}} {{.Actor.Attributes.name}}")
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.stop)
	w.sync(t)
	return w
}

// sync returns once a probe created now is reported: the engine reports
// in order, so all that happened before has been reported too.
func (w *helperWatch) sync(t *testing.T) {
	t.Helper()
	seen := len(w.probes)
	eventually(t, time.Minute, "docker events reports helper containers", func() error {
		for _, p := range w.probes[seen:] {
			if strings.Contains(w.out.String(), "create "+p+"\n") {
				return nil
			}
		}
		probe := uniqueName("e2e-probe")
		docker(t, "create", "--name", probe, "--label", helperLabel, imageApp)
		docker(t, "rm", probe)
		w.probes = append(w.probes, probe)
		return fmt.Errorf("docker events: %q", w.out.String())
	})
}

// stop ends the watch; what it saw stays.
func (w *helperWatch) stop() {
	if w.cmd.ProcessState == nil {
		_ = w.cmd.Process.Kill()
		_ = w.cmd.Wait()
	}
}

// created counts the helper containers wbd created.
func (w *helperWatch) created() int { return w.count("create") }

// extracted counts the archives wbd unpacked into helper containers: the
// files it wrote through the engine.
func (w *helperWatch) extracted() int { return w.count("extract-to-dir") }

func (w *helperWatch) count(action string) int {
	n := 0
	for _, line := range strings.Split(w.out.String(), "\n") {
		a, name, _ := strings.Cut(line, " ")
		if a == action && !slices.Contains(w.probes, name) {
			n++
		}
	}
	return n
}
