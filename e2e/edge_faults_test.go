package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// What goes wrong around the edge, each on one instance under a steady
// client: a new app the edge cannot reach, a port someone holds, wbd killed
// in the middle of a rollout, the edge killed or removed, the edge turned
// off and on. Each either loses no request and keeps the old app serving,
// or loses requests only while something is down.
func TestEdgeFaults(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	app1, app2 := edgeApps(t)
	requireImages(t, app1, app2, imageAppOtherPort, imageAppCloseEarly)
	in := o.declare(func(in *instance) { in.Images.App = app1; in.Edge = "{drain: 500ms}" })
	o.mustWbd("apply", in.Name, "--steady", edgeSteady)
	waitForVersionWithin(t, in, "1", time.Minute)
	l := startLoad(t, in.Port, 4, 15, 100*time.Millisecond)
	l.waitFor(t, "1", time.Now(), 10*time.Second)
	version := "1"

	apply := func(args ...string) result {
		t.Helper()
		return o.wbd(append([]string{"apply", in.Name, "--steady", edgeSteady}, args...)...)
	}
	// refused: an image the edge cannot reach is rolled back, nothing fails.
	refused := func(image, why string) {
		t.Helper()
		from := time.Now()
		in.Images.App = image
		o.writeFile()
		r := apply()
		if r.code != exitRolledBack || !strings.Contains(r.stderr, why) || !strings.Contains(r.stderr, in.Name+" kept serving") {
			t.Errorf("apply of %s: want exit %d saying %q and that %s kept serving\n%s", image, exitRolledBack, why, in.Name, r)
		}
		requireNoFailures(t, l, "apply of "+image, from, time.Now())
		if v := appVersion(in); v != version {
			t.Errorf("after the apply of %s the app answers as version %q, want %s", image, v, version)
		}
	}

	t.Run("app on another port", func(t *testing.T) {
		refused(imageAppOtherPort, "does the app listen on another port?")
	})
	t.Run("app closing connections early", func(t *testing.T) {
		refused(imageAppCloseEarly, "the app closed the connection before it answered")
	})
	in.Images.App = app1
	o.writeFile()

	t.Run("port taken", func(t *testing.T) {
		ln, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		old := in.Port
		in.Port = ln.Addr().(*net.TCPAddr).Port
		o.writeFile()
		from := time.Now()
		r := o.wbd("apply", in.Name)
		in.Port = old
		o.writeFile()
		want := fmt.Sprintf("instance %s: edge would publish port %d, which a process on this machine already holds", in.Name, ln.Addr().(*net.TCPAddr).Port)
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("apply onto a port taken: want exit 1 saying %q\n%s", want, r)
		}
		requireNoFailures(t, l, "apply onto a port taken", from, time.Now())
	})

	t.Run("wbd killed after the switch", func(t *testing.T) {
		// A longer drain: the kill lands in it, streams still open on
		// the old app.
		in.Images.App, in.Edge = app2, "{drain: 3s}"
		o.writeFile()
		from := time.Now()
		before := edgeTarget(t, in)
		cmd := o.startWbd("apply", in.Name, "--steady", edgeSteady)
		eventually(t, time.Minute, "the edge switches to the new app container", func() error {
			if tgt := edgeTarget(t, in); tgt == before {
				return fmt.Errorf("target %s", tgt)
			}
			return nil
		})
		killWbd(t, cmd)
		requireSettle(t, o, in)
		r := apply()
		if r.code != 0 || !strings.Contains(r.stdout, "removed (the edge sends requests to ") {
			t.Errorf("apply after wbd was killed mid-rollout: want exit 0, the old container removed, the one the edge sends requests to kept\n%s", r)
		}
		version = "2"
		requireOneApp(t, in, app2)
		requireNoFailures(t, l, "a rollout cut short after the switch", from, time.Now())
	})
	in.Edge = "{drain: 500ms}"
	o.writeFile()

	t.Run("wbd killed before the switch", func(t *testing.T) {
		in.Images.App = app1
		o.writeFile()
		from := time.Now()
		cmd := o.startWbd("apply", in.Name, "--steady", "5s")
		eventually(t, time.Minute, "the new app container runs beside the old one", func() error {
			out, err := dockerTry("ps", "--filter", "name=_"+in.Name+"$", "--filter", "status=running", "--format", "{{.Names}}")
			if err != nil || out == "" {
				return fmt.Errorf("none yet: %v %s", err, out)
			}
			return nil
		})
		killWbd(t, cmd)
		requireSettle(t, o, in)
		if v := appVersion(in); v != "2" {
			t.Errorf("after wbd was killed before the switch the app answers as version %q, want 2", v)
		}
		r := apply()
		if r.code != 0 || !strings.Contains(r.stdout, "removed (the edge sends requests to "+in.Name+")") || !strings.Contains(r.stdout, "app recreated") {
			t.Errorf("apply after wbd was killed before the switch: want exit 0, the new container removed, then the rollout made again\n%s", r)
		}
		version = "1"
		requireOneApp(t, in, app1)
		requireNoFailures(t, l, "a rollout cut short before the switch", from, time.Now())
	})

	t.Run("edge killed", func(t *testing.T) {
		// A target of its own, which it must keep: the app by its ID.
		id := inspect(t, in.Name).ID[:12]
		docker(t, "exec", in.Name+"-edge", "/wbd", "edge", "ctl", "switch", "--to", id+":8000", "--keep")
		target := edgeTarget(t, in)
		if target != id+":8000" {
			t.Fatalf("the edge's target %q, want %s:8000", target, id)
		}
		edge := inspect(t, in.Name+"-edge")
		pid, _ := strconv.Atoi(docker(t, "inspect", "-f", "{{.State.Pid}}", in.Name+"-edge"))
		from := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		var up time.Time
		eventually(t, time.Minute, "the engine restarts the edge", func() error {
			c := inspect(t, in.Name+"-edge")
			if c.RestartCount <= edge.RestartCount || c.State.Status != "running" {
				return fmt.Errorf("%s, %d restarts", c.State.Status, c.RestartCount)
			}
			up = time.Now()
			return nil
		})
		l.waitFor(t, version, up, 10*time.Second)
		requireFailuresOnlyWhileDown(t, l, "the edge killed", from, up.Add(time.Second))
		if got := edgeTarget(t, in); got != target {
			t.Errorf("the restarted edge's target is %q, want the one it kept, %q", got, target)
		}
	})

	t.Run("edge removed, the daemon recreates it", func(t *testing.T) {
		d := o.startDaemon("--resync", "2s")
		defer func() {
			_ = d.cmd.Process.Signal(syscall.SIGTERM)
			<-d.done
		}()
		time.Sleep(time.Second) // its first pass: nothing to do
		from := time.Now()
		docker(t, "rm", "-f", in.Name+"-edge")
		var up time.Time
		eventually(t, time.Minute, "the daemon recreates the edge", func() error {
			if c, ok := lookup(t, in.Name+"-edge"); !ok || c.State.Status != "running" {
				return fmt.Errorf("no running edge")
			}
			up = time.Now()
			return nil
		})
		l.waitFor(t, version, up, 10*time.Second)
		requireFailuresOnlyWhileDown(t, l, "the edge removed", from, up.Add(time.Second))
	})

	t.Run("edge off and on", func(t *testing.T) {
		for _, edge := range []string{"false", "{drain: 500ms}"} {
			in.Edge = edge
			o.writeFile()
			from := time.Now()
			r := apply()
			if r.code != 0 {
				t.Fatalf("%s", r)
			}
			// The interruption is over once the apply is: after the
			// first answer since, nothing fails.
			up := l.waitFor(t, version, time.Now(), 10*time.Second).at
			time.Sleep(time.Second)
			// The app itself speaks no HTTP/2 without TLS: while the
			// edge is off, only HTTP/1.1 counts.
			var during, after []answer
			for _, a := range l.failures(from, time.Now()) {
				switch {
				case a.via == "h2c" && edge == "false":
				case a.at.After(up):
					after = append(after, a)
				default:
					during = append(during, a)
				}
			}
			if len(after) > 0 {
				t.Errorf("edge: %s: requests failed after the apply was done and the app answered:\n%s", edge, joinAnswers(after, 10))
			}
			f := during
			t.Logf("edge: %s: %d failed requests over %s; %s", edge, len(f), span(f), summaryLine(r, in))
			_, hasEdge := lookup(t, in.Name+"-edge")
			if hasEdge != (edge != "false") {
				t.Errorf("edge: %s: an edge container is there: %v", edge, hasEdge)
			}
		}
	})
}

// startWbd starts wbd on the operator's file, for a test that kills it.
func (o *operator) startWbd(args ...string) *exec.Cmd {
	o.t.Helper()
	cmd := exec.Command(wbdBin, append([]string{"-f", o.file}, args...)...)
	cmd.Dir, cmd.Env = o.dir, o.env
	if err := cmd.Start(); err != nil {
		o.t.Fatal(err)
	}
	o.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func killWbd(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// requireSettle fails the test unless plan says that two app containers
// are to be settled, as an interrupted start-first rollout leaves them.
func requireSettle(t *testing.T, o *operator, in *instance) {
	t.Helper()
	r := o.mustWbd("plan", in.Name, "--json")
	var plans []struct {
		Renames []struct {
			Service string `json:"service"`
			Overlap bool   `json:"overlap"`
		} `json:"renames"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &plans); err != nil || len(plans) != 1 ||
		len(plans[0].Renames) != 1 || !plans[0].Renames[0].Overlap || plans[0].Renames[0].Service != "app" {
		t.Errorf("plan after wbd was killed mid-rollout: want two app containers to settle (renames: one app, overlap), got %v\n%s", err, r)
	}
}

// requireOneApp fails the test unless the instance has one app container,
// named for it, running image.
func requireOneApp(t *testing.T, in *instance, image string) {
	t.Helper()
	ps := docker(t, "ps", "-a", "--filter", "label=com.docker.compose.project="+in.Name, "--filter", "label=com.docker.compose.service=app", "--format", "{{.Names}} {{.Image}} {{.State}}")
	if want := in.Name + " " + image + " running"; ps != want {
		t.Errorf("app containers: %q, want %q", ps, want)
	}
}

// edgeTarget is what the edge says it sends requests to.
func edgeTarget(t *testing.T, in *instance) string {
	t.Helper()
	out, err := dockerTry("exec", in.Name+"-edge", "/wbd", "edge", "ctl", "status")
	if err != nil {
		return ""
	}
	var st struct{ Target string }
	_ = json.Unmarshal([]byte(out), &st)
	return st.Target
}

// requireFailuresOnlyWhileDown fails the test when a request failed
// outside from..until, the time something was down.
func requireFailuresOnlyWhileDown(t *testing.T, l *load, what string, from, until time.Time) {
	t.Helper()
	answers, _ := l.snapshot()
	var outside []answer
	n := 0
	for _, a := range answers {
		if !a.failed() || a.at.Before(from) {
			continue
		}
		n++
		if a.at.After(until) {
			outside = append(outside, a)
		}
	}
	if len(outside) > 0 {
		t.Errorf("%s: %d requests failed after it was up again:\n%s", what, len(outside), joinAnswers(outside, 10))
	}
	t.Logf("%s: %d failed requests while it was down (%s)", what, n, until.Sub(from).Round(time.Millisecond))
}

func span(as []answer) time.Duration {
	if len(as) == 0 {
		return 0
	}
	return as[len(as)-1].at.Sub(as[0].at).Round(time.Millisecond)
}
