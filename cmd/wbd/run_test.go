package main

import (
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/spec"
	"github.com/wbd-dev/wbd/templates"
)

// TestRunRolloutStory is the operator's day with the daemon: a rollout is
// an edit, a bad edit changes nothing, a removed container comes back, an
// instance removed from the file goes away and keeps its data.
func TestRunRolloutStory(t *testing.T) {
	requireEngineForRun(t)
	w := newDaemonWorld(t)
	x := daemonInst{name: uniqueName(t), app: "wbd.local/app:1", port: freeHostPort(t)}
	y := daemonInst{name: uniqueName(t), app: "wbd.local/app:1", port: freeHostPort(t)}
	w.save(x, y)
	d := startDaemon(t, w.file)
	pg, redis, app := waitRunning(t, "", x.name, 2*time.Minute)
	ypg, _, yapp := waitRunning(t, "", y.name, 2*time.Minute)

	// A rollout is an edit: a new tag, saved by rename, recreates x's app
	// and nothing else.
	var took []time.Duration
	for range 3 {
		x.app = retagApp(t, "")
		at := w.save(x, y)
		waitUntil(t, time.Minute, "x's new app container running", func() bool {
			c := inspectCtr(t, "", x.name)
			return c.ID != app.ID && c.State == "running" && c.Image == x.app
		})
		took = append(took, time.Since(at))
		var npg, nredis ctrState
		npg, nredis, app = waitRunning(t, "", x.name, time.Minute)
		if npg.ID != pg.ID || nredis.ID != redis.ID {
			t.Fatalf("postgres or redis recreated by an app rollout: %v %v -> %v %v", pg, redis, npg, nredis)
		}
	}
	slices.Sort(took)
	t.Logf("rename -> new app container running: %v (median %v)", took, took[len(took)/2])
	d.waitLog(`msg=applying instance=`+x.name+` changes="app recreate \(image: wbd.local/app:`, time.Second)
	if c := inspectCtr(t, "", y.name); c.ID != yapp.ID || inspectCtr(t, "", y.name+"-postgres").ID != ypg.ID {
		t.Fatal("y was touched by x's rollout")
	}

	// A bad edit is logged with its position and changes nothing.
	w.saveRaw(strings.Replace(w.yaml(x, y), "port: ", "port: [", 1))
	d.waitLog(`instances file is invalid; the last valid configuration stays in force" file=\S+ error="\S*instances.yaml:\d+:\d+: `, 10*time.Second)
	waitUntil(t, 10*time.Second, "the status file to show the error", func() bool {
		s, err := reconcile.ReadStatus(w.root)
		return err == nil && strings.Contains(s.Config.Error, "instances.yaml:")
	})
	if c := inspectCtr(t, "", x.name); c.ID != app.ID {
		t.Fatal("an invalid file changed x")
	}
	// Fixed, with a change: applied.
	x.env = map[string]string{"WBD_TEST": "fixed"}
	w.save(x, y)
	waitUntil(t, time.Minute, "x's app recreated with its new environment", func() bool {
		return inspectCtr(t, "", x.name).ID != app.ID
	})
	_, _, app = waitRunning(t, "", x.name, time.Minute)
	waitUntil(t, 10*time.Second, "the status to clear the error", func() bool {
		s, err := reconcile.ReadStatus(w.root)
		return err == nil && s.Config.Error == "" && s.Instance(x.name).InSync
	})

	// A removed container comes back.
	dockerCLI(t, "rm", "-f", x.name+"-redis")
	waitUntil(t, time.Minute, "x's redis back", func() bool {
		c := inspectCtr(t, "", x.name+"-redis")
		return c.ID != "" && c.ID != redis.ID && c.State == "running"
	})
	d.waitLog(`msg=applying instance=`+x.name+` changes="redis create"`, 10*time.Second)

	// y leaves the file: its containers and network go, its data stays.
	w.save(x)
	waitUntil(t, time.Minute, "y taken down", func() bool {
		return inspectCtr(t, "", y.name).ID == "" && inspectCtr(t, "", y.name+"-postgres").ID == "" &&
			inspectCtr(t, "", y.name+"-redis").ID == "" && exec.Command("docker", "network", "inspect", y.name).Run() != nil
	})
	dir := filepath.Join(w.root, y.name)
	d.waitLog(`instance taken down; its directory and data stay on disk" instance=`+y.name+` dir=`+dir, 5*time.Second)
	for _, sub := range []string{"databases/PG_VERSION", "redis", "secrets/postgres-password"} {
		if _, err := os.Stat(filepath.Join(dir, sub)); err != nil {
			t.Errorf("y's data: %v", err)
		}
	}
	if c := inspectCtr(t, "", x.name); c.ID != app.ID {
		t.Fatal("x was touched by y's removal")
	}
	// The status file is written when the pass ends, after the log line.
	waitUntil(t, 30*time.Second, "the status file to show y removed", func() bool {
		st := w.status(y.name)
		return st != nil && st.Result == reconcile.ResultRemoved
	})

	// The operator takes the template into a directory of their own: the
	// same rendered project, so nothing is touched. Then saving an edit of
	// the template is a rollout, as saving the file is.
	w.templates = filepath.Join(w.dir, "templates")
	tmpl := filepath.Join(w.templates, templates.Main)
	builtin, err := fs.ReadFile(templates.FS, templates.Main)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(builtin), `      PORT: "{{.AppPort}}"`, "      PORT: \"{{.AppPort}}\"\n      TEMPLATE_EDIT: \"1\"", 1)
	if edited == string(builtin) {
		t.Fatal("the built-in template no longer sets PORT as this test expects")
	}
	writeByRename(t, tmpl, builtin)
	pg, redis, app = waitRunning(t, "", x.name, time.Minute)
	mark := d.mark()
	w.save(x)
	d.waitLogSince(mark, `msg="configuration loaded"(?s:.*)msg="pass done"`, time.Minute)
	if c := inspectCtr(t, "", x.name); c.ID != app.ID {
		t.Fatal("the same template, from a directory, recreated x's app")
	}
	mark = d.mark()
	writeByRename(t, tmpl, []byte(edited))
	waitUntil(t, time.Minute, "x's app recreated from the saved template", func() bool {
		return inspectCtr(t, "", x.name).ID != app.ID
	})
	d.waitLogSince(mark, `msg=applying instance=`+x.name+` changes="app recreate \(environment`, 10*time.Second)
	if npg, nredis, _ := waitRunning(t, "", x.name, time.Minute); npg.ID != pg.ID || nredis.ID != redis.ID {
		t.Fatal("a template edit of the app recreated postgres or redis")
	}
	if n := strings.Count(d.out.String()[mark:], "msg=applying "); n != 1 {
		t.Errorf("the template edit made %d applies, want 1:\n%s", n, d.out.String()[mark:])
	}
}

// writeByRename saves path as editors do, creating its directory.
func writeByRename(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := path + ".swp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestRunSignals: SIGTERM lets the apply in flight finish and exits 0
// without stopping anything; the next start converges; a second signal
// exits at once.
func TestRunSignals(t *testing.T) {
	requireEngineForRun(t)
	w := newDaemonWorld(t)
	x := daemonInst{name: uniqueName(t), app: "wbd.local/app:1", port: freeHostPort(t)}
	w.save(x)
	d := startDaemon(t, w.file, "--shutdown-timeout", "30s")
	d.waitLog(`msg=applying instance=`+x.name, time.Minute)
	sent := time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.wait(40 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, d.out)
	}
	t.Logf("exited %v after SIGTERM", time.Since(sent).Round(time.Millisecond))
	d.waitLog(`stopping: letting the operation in flight finish`, 0)
	d.waitLog(`wbd run stopped; the instances keep running`, 0)
	if c := inspectCtr(t, "", x.name+"-postgres"); c.State != "running" {
		t.Fatalf("postgres %+v after the daemon stopped, want running", c)
	}

	// The next start converges.
	d = startDaemon(t, w.file)
	waitRunning(t, "", x.name, 2*time.Minute)
	waitUntil(t, 30*time.Second, "x in sync", func() bool {
		st := w.status(x.name)
		return st != nil && st.InSync
	})

	// A second signal exits at once, in the middle of an apply: one whose
	// healthcheck never passes, so that the apply is still waiting when
	// the signals come, however quickly wbd sees an app ready.
	x.app = retagApp(t, "")
	x.healthcheck = []string{"/refapp", "unhealthy"}
	// Only a line logged after the save says the rollout began: the pass
	// that converged the instance logged one of its own.
	mark := d.mark()
	w.save(x)
	d.waitLogSince(mark, `msg=applying instance=`+x.name+` changes="app recreate`, 30*time.Second)
	d.cmd.Process.Signal(syscall.SIGTERM)
	// The kernel merges a signal into one still pending: wait until the
	// first is taken.
	d.waitLogSince(mark, `signal received" signal=terminated`, 5*time.Second)
	sent = time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.wait(5 * time.Second); code != 1 {
		t.Fatalf("exit code %d after two signals, want 1", code)
	}
	d.waitLog(`second signal: exiting now`, 0)
	t.Logf("exited %v after the second signal", time.Since(sent).Round(time.Millisecond))

	// And the next start finishes the rollout, under the plan's names even
	// if the recreate was cut off half-way.
	x.healthcheck = nil
	w.save(x)
	d = startDaemon(t, w.file)
	waitUntil(t, time.Minute, "x's app on the new tag, under its name", func() bool {
		c := inspectCtr(t, "", x.name)
		names := dockerCLI(t, "ps", "-a", "--filter", "label=com.docker.compose.project="+x.name, "--format", "{{.Names}}")
		return c.Image == x.app && c.Health == "healthy" && len(strings.Fields(names)) == 3
	})
	if line := d.out.String(); strings.Contains(line, "renamed containers") {
		t.Logf("the abandoned recreate left a temporary name, repaired: %s", d.waitLog(`.*renamed containers.*`, 0))
	}
}

// TestRunAndShellNeverActTogether: the daemon and wbd in a shell take the
// instance's lock; whoever finds it taken says who holds it.
func TestRunAndShellNeverActTogether(t *testing.T) {
	requireEngineForRun(t)
	w := newDaemonWorld(t)
	x := daemonInst{name: uniqueName(t), app: "wbd.local/app:1", port: freeHostPort(t)}
	w.save(x)
	d := startDaemon(t, w.file)
	_, _, app := waitRunning(t, "", x.name, 2*time.Minute)

	// The daemon applies: wbd apply from a shell is refused, naming it.
	x.app = retagApp(t, "")
	mark := d.mark() // the create logged an applying line already
	w.save(x)
	d.waitLogSince(mark, `msg=applying instance=`+x.name, 30*time.Second)
	out, err := exec.Command("wbd", "apply", "-f", w.file, x.name).CombinedOutput()
	if err == nil {
		t.Fatalf("wbd apply succeeded while the daemon applied:\n%s", out)
	}
	if want := "instance " + x.name + " is busy: wbd run (pid "; !strings.Contains(string(out), want) {
		t.Fatalf("wbd apply said:\n%s\nwant %q", out, want)
	}
	waitUntil(t, time.Minute, "the daemon's rollout", func() bool {
		c := inspectCtr(t, "", x.name)
		return c.Image == x.app && c.Health == "healthy"
	})
	app = inspectCtr(t, "", x.name)

	// A shell command holds the instance: the daemon waits and says so.
	var unlock func()
	waitUntil(t, time.Minute, "the daemon to let go of x", func() bool {
		var err error
		unlock, err = instdir.Lock(&spec.Instance{Name: x.name, Dir: filepath.Join(w.root, x.name)}, "wbd apply")
		return err == nil
	})
	dockerCLI(t, "rm", "-f", x.name)
	d.waitLog(`instance is locked by another wbd; retrying later" instance=`+x.name+` holder="wbd apply \(pid \d+`, 30*time.Second)
	if c := inspectCtr(t, "", x.name); c.ID != "" {
		t.Fatalf("the daemon acted on a locked instance: %+v", c)
	}
	waitUntil(t, 30*time.Second, "the status file to show x locked", func() bool {
		st := w.status(x.name)
		return st != nil && st.Result == reconcile.ResultLocked
	})
	unlock()
	waitUntil(t, time.Minute, "x's app back once the lock is free", func() bool {
		c := inspectCtr(t, "", x.name)
		return c.ID != "" && c.ID != app.ID && c.State == "running"
	})
}

func TestPrintDaemonStatus(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	next := now.Add(40 * time.Second)
	s := &reconcile.Status{
		PID: 42, File: "/etc/wbd/instances.yaml", Updated: now.Add(-3 * time.Second),
		Config: reconcile.ConfigStatus{Loaded: now.Add(-time.Hour), Error: "instances.yaml:7:3: instances.x.port: must be 1-65535, got 0", ErrorSince: ago(time.Minute)},
		Hosts:  []reconcile.HostStatus{{Host: "tcp://box:2375", Known: true, Error: "connection refused", Since: ago(2 * time.Minute)}},
		Instances: []reconcile.InstanceStatus{
			{Instance: "testing", Result: reconcile.ResultInSync, InFile: true, InSync: true, LastReconcile: ago(3 * time.Second), Detail: "matches the file"},
			{Instance: "nigeria", Result: reconcile.ResultFailed, InFile: true, LastReconcile: ago(time.Second), LastError: "nigeria: image not found", NextAttempt: &next},
			{Instance: "old", Result: reconcile.ResultRemoved, Detail: "taken down; its directory and data stay in /srv/wbd/old"},
		},
	}
	var b strings.Builder
	printDaemonStatus(&b, s, now)
	for _, want := range []string{
		"DAEMON (pid 42, file /etc/wbd/instances.yaml, updated 3s ago)",
		"file invalid since 1m0s ago, last valid configuration (read 1h0m0s ago) in force: instances.yaml:7:3:",
		"engine tcp://box:2375 does not answer since 2m0s ago: connection refused",
		"testing   in-sync  yes",
		"nigeria   failed   no",
		"in 40s",
		"nigeria: image not found",
		"old       removed  not in file",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

// TestRunTalksToSystemd: READY=1 once the file has been looked at (here it
// is invalid, so no engine is needed), STATUS= lines, WATCHDOG=1 at half
// WATCHDOG_USEC, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM.
func TestRunTalksToSystemd(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	file := filepath.Join(dir, "instances.yaml")
	os.WriteFile(file, []byte("version: 2\n"), 0o644)
	d := &daemonProc{t: t, out: &lockedBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command("wbd", "run", "-f", file)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	d.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=200000")
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	defer d.cmd.Process.Kill()

	got := map[string]string{}
	read := func(want string) {
		t.Helper()
		buf := make([]byte, 4096)
		for got[want] == "" {
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("waiting for %s: %v; got %q\n%s", want, err, got, d.out)
			}
			for _, line := range strings.Split(string(buf[:n]), "\n") {
				if k, v, ok := strings.Cut(line, "="); ok {
					got[k] = v
				}
			}
		}
	}
	read("READY")
	if !strings.HasPrefix(got["STATUS"], "no valid configuration: "+file+":1:") {
		t.Errorf("STATUS=%q", got["STATUS"])
	}
	read("WATCHDOG")
	// A reload: RELOADING=1 with the time, and READY=1 once done, so that
	// systemctl reload returns after it.
	clear(got)
	d.cmd.Process.Signal(syscall.SIGHUP)
	read("RELOADING")
	if n, err := strconv.ParseInt(got["MONOTONIC_USEC"], 10, 64); err != nil || n <= 0 {
		t.Errorf("MONOTONIC_USEC=%q beside RELOADING=1", got["MONOTONIC_USEC"])
	}
	delete(got, "READY")
	read("READY")
	d.cmd.Process.Signal(syscall.SIGTERM)
	read("STOPPING")
	if code := d.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d\n%s", code, d.out)
	}
}
