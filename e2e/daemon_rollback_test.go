package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Safe rollouts under the daemon: a bad edit is tried once and rolled back,
// not retried at every resync; a pinned instance stays pinned.

// resync is the daemon's --resync in these tests: short, so that several
// periods pass quickly.
const resync = 2 * time.Second

// A bad app image saved in the file is applied once, rolled back to app:1,
// and left alone through several resync periods; the next good edit rolls out.
func TestDaemonRollsBackABadImageOnce(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	requireImages(t, imageAppCrash, imageApp2)
	in := o.declare(nil)
	o.startDaemon("--resync", resync.String())
	waitForVersionWithin(t, in, "1", 3*time.Minute)
	// The first apply may have needed more than one attempt (a failed
	// revision below the healthy one).
	n0 := waitForHealthyRevision(t, o, in)
	data := dataIDs(t, in)

	crashes := watchCreates(t, imageAppCrash)
	in.Images.App = imageAppCrash
	o.writeFile()
	var h history
	eventually(t, 3*time.Minute, "the daemon rolls the crashing app back", func() error {
		if h = o.history(in); len(h) != n0+1 || h[0].Verdict != "rolled back" {
			return fmt.Errorf("history: %v", verdicts(h))
		}
		return nil
	})
	badHash := h[0].SpecHash
	if h[0].Restored != h[1].Revision || h[0].Reason == "" {
		t.Errorf("the rolled back revision: %+v; want restored %d and a reason", h[0], h[1].Revision)
	}
	waitForVersion(t, in, "1")
	rolledBack := time.Now()

	// Several resync periods later: not tried again.
	eventually(t, time.Minute, "three resync periods after the rollback", func() error {
		st := o.instanceStatus(in)
		if st.Daemon == nil || st.Daemon.LastReconcile == nil || !st.Daemon.LastReconcile.After(rolledBack.Add(3*resync)) {
			return fmt.Errorf("daemon status: %+v", st.Daemon)
		}
		return nil
	})
	if st := o.instanceStatus(in); st.Daemon == nil || !regexp.MustCompile(`rolled[ -]back`).MatchString(st.Daemon.Result+" "+st.Daemon.Detail) {
		t.Errorf("wbd status: the daemon's view %+v does not say rolled back", st.Daemon)
	}
	n := 0
	for _, r := range o.history(in) {
		if r.SpecHash == badHash {
			n++
		}
	}
	if n != 1 {
		t.Errorf("history holds %d revisions of the bad spec %s, want 1 (applied once)", n, badHash)
	}
	if n := crashes.created(in.Name); n != 1 {
		t.Errorf("app containers of %s created from %s since the edit: %d, want one", in.Name, imageAppCrash, n)
	}
	if v := appVersion(in); v != "1" {
		t.Errorf("after the resync periods the app answers as version %q, want 1", v)
	}
	requireSameIDs(t, "the daemon's rollback", data, dataIDs(t, in))

	// A good edit rolls out.
	in.Images.App = imageApp2
	o.writeFile()
	waitForVersionWithin(t, in, "2", 2*time.Minute)
	eventually(t, time.Minute, "the daemon records app:2 healthy", func() error {
		if h := o.history(in); len(h) != n0+2 || h[0].Verdict != "healthy" {
			return fmt.Errorf("history: %v", verdicts(h))
		}
		return nil
	})
	requireSameIDs(t, "the daemon's rollout of app:2", data, dataIDs(t, in))
}

// `wbd rollback` while the daemon runs pins the instance: the daemon leaves
// it at the old revision for a full resync period and more, until --release.
func TestDaemonKeepsAPinnedInstancePinned(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	requireImages(t, imageApp2)
	in := o.declare(nil)
	o.startDaemon("--resync", resync.String())
	waitForVersionWithin(t, in, "1", 3*time.Minute)
	waitForHealthyRevision(t, o, in)
	app1 := o.history(in)[0].Revision
	in.Images.App = imageApp2
	o.writeFile()
	waitForVersionWithin(t, in, "2", 2*time.Minute)
	waitForHealthyRevision(t, o, in)

	o.wbdBesideDaemon("rollback", in.Name)
	waitForVersion(t, in, "1")
	app := inspect(t, in.Name).ID
	pinned := time.Now()
	eventually(t, time.Minute, "two resync periods after the rollback", func() error {
		st := o.instanceStatus(in)
		if st.Daemon == nil || st.Daemon.LastReconcile == nil || !st.Daemon.LastReconcile.After(pinned.Add(2*resync)) {
			return fmt.Errorf("daemon status: %+v", st.Daemon)
		}
		return nil
	})
	requirePinnedTo(t, o, in, app1)
	if got := inspect(t, in.Name).ID; got != app {
		t.Errorf("the daemon replaced the pinned app container (%.12s -> %.12s)", app, got)
	}
	if v := appVersion(in); v != "1" {
		t.Errorf("the pinned app answers as version %q, want 1", v)
	}

	o.wbdBesideDaemon("rollback", in.Name, "--release")
	waitForVersion(t, in, "2")
	if st := o.instanceStatus(in); st.Pinned {
		t.Errorf("wbd status after --release: still pinned (revision %d)", st.Revision)
	}
}

// waitForHealthyRevision waits until the newest revision in the instance's
// history is healthy, and returns how many there are.
func waitForHealthyRevision(t *testing.T, o *operator, in *instance) int {
	t.Helper()
	var h history
	eventually(t, time.Minute, in.Name+"'s newest revision is healthy", func() error {
		if h = o.history(in); len(h) == 0 || h[0].Verdict != "healthy" {
			return fmt.Errorf("history: %v", verdicts(h))
		}
		return nil
	})
	return len(h)
}

// daemon is a `wbd run` on the operator's file.
type daemon struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

// startDaemon runs `wbd run` on the operator's file until the test ends;
// its log is shown when the test fails. Started after declare, it is
// stopped before the instances are taken down.
func (o *operator) startDaemon(args ...string) *daemon {
	o.t.Helper()
	full := append([]string{"-f", o.file, "run"}, args...)
	d := &daemon{cmd: exec.Command(wbdBin, full...), out: &lockedBuffer{}, done: make(chan struct{})}
	d.cmd.Dir = o.dir
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	d.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET=")
	if err := d.cmd.Start(); err != nil {
		o.t.Fatal(err)
	}
	go func() {
		_ = d.cmd.Wait()
		close(d.done)
	}()
	o.t.Cleanup(func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(45 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.done
		}
		if o.t.Failed() {
			o.t.Logf("wbd %s log:\n%s", strings.Join(full, " "), d.out.String())
		}
	})
	return d
}

// wbdBesideDaemon runs a wbd command that must exit 0 while the daemon
// runs; it tries again while the daemon holds the instance's lock. As
// operator.rollback, it goes on after an exit code other than 0, 1 and 2.
func (o *operator) wbdBesideDaemon(args ...string) result {
	o.t.Helper()
	var r result
	eventually(o.t, time.Minute, "wbd "+strings.Join(args, " "), func() error {
		r = o.wbd(args...)
		if r.code != 0 && (strings.Contains(r.stderr, "lock") || strings.Contains(r.stderr, "wbd run")) {
			return fmt.Errorf("%s", r)
		}
		return nil
	})
	switch r.code {
	case 0:
	case 1, 2:
		o.t.Fatalf("%s", r)
	default:
		o.t.Errorf("want exit 0: %s", r)
	}
	return r
}

// waitForVersionWithin waits until the instance's app answers /health
// healthy as the given version within timeout.
func waitForVersionWithin(t *testing.T, in *instance, version string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("%s answers as version %s", in.Name, version), func() error {
		h, err := appHealth(in.Port)
		if err != nil {
			return err
		}
		if h["postgres"] != "ok" || h["version"] != version {
			return fmt.Errorf("/health = %v", h)
		}
		return nil
	})
}

// createWatch follows the engine's create events of containers of an
// image as they happen: the engine keeps only its last 256 events, too few
// to ask afterwards while other tests run.
type createWatch struct {
	cmd *exec.Cmd
	out *lockedBuffer
}

// watchCreates starts the watch and returns once docker events reports: a
// create of the test's own, at once removed, is the proof.
func watchCreates(t *testing.T, image string) *createWatch {
	t.Helper()
	w := &createWatch{out: &lockedBuffer{}}
	w.cmd = exec.Command("docker", "events",
		"--filter", "type=container", "--filter", "event=create", "--filter", "image="+image,
		"--format", "{{.Actor.Attributes.name}}")
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		_ = w.cmd.Wait()
	})
	// Until it has subscribed, probes go unseen: one more each time.
	var probes []string
	eventually(t, time.Minute, "docker events reports creates", func() error {
		for _, p := range probes {
			if w.created(p) > 0 {
				return nil
			}
		}
		probe := uniqueName("e2e-probe")
		docker(t, "create", "--name", probe, image)
		docker(t, "rm", probe)
		probes = append(probes, probe)
		return fmt.Errorf("docker events: %q", w.out.String())
	})
	return w
}

// created counts the containers named name the watch saw created. A
// recreated container is created under a temporary name, ID_NAME, then
// renamed: those count too.
func (w *createWatch) created(name string) int {
	n := 0
	for _, line := range strings.Fields(w.out.String()) {
		if line == name || strings.HasSuffix(line, "_"+name) {
			n++
		}
	}
	return n
}
