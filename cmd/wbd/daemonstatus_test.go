package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/reconcile"
)

// A status file left by a daemon that stopped, whose PID now belongs to
// another live process (here the test), is not shown as a running daemon.
func TestDaemonStatusOfAStaleFile(t *testing.T) {
	root := t.TempDir()
	status := fmt.Sprintf(`{"pid": %d, "file": "/etc/wbd/instances.yaml", "instances": [{"instance": "testing", "result": "in-sync"}]}`, os.Getpid())
	if err := os.WriteFile(reconcile.StatusPath(root), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, reconcile.DaemonLockFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if s := daemonStatus(root); s != nil {
		t.Fatalf("daemonStatus=%+v, want none: no daemon holds the root", s)
	}
}

// With the file invalid, wbd status still shows what the daemon of its
// root runs (its last valid configuration), says the file is invalid, and
// exits 1; --json carries the error and the engine per instance.
func TestStatusOfAnInvalidFileShowsTheDaemon(t *testing.T) {
	root := filepath.Join(t.TempDir(), "srv")
	os.Mkdir(root, 0o755)
	unlock, err := instdir.LockFile(root, filepath.Join(root, reconcile.DaemonLockFile), "wbd run")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	now := time.Now()
	st := reconcile.Status{PID: 4242, File: "/etc/wbd/instances.yaml", Updated: now,
		Config: reconcile.ConfigStatus{Loaded: now.Add(-time.Hour), Error: "instances.yaml:4:9: port: oops", ErrorSince: &now},
		Hosts:  []reconcile.HostStatus{{Host: "", Known: true, Up: true}},
		Instances: []reconcile.InstanceStatus{{Instance: "testing", InFile: true, InSync: true, Result: reconcile.ResultInSync, Revision: 3, Ready: true,
			InProgress: &reconcile.Progress{Step: "applying", Since: now, StepSince: now, Detail: "Container testing Started"}}}}
	data, _ := json.Marshal(st)
	os.WriteFile(reconcile.StatusPath(root), data, 0o644)
	file := filepath.Join(t.TempDir(), "instances.yaml")
	os.WriteFile(file, []byte("version: 1\nroot: "+root+"  # the host's\ninstances:\n  testing:\n    port: [\n"), 0o644)

	var out, errOut strings.Builder
	if code := run(t.Context(), []string{"-f", file, "status"}, &out, &errOut); code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
	for _, want := range []string{"is invalid; the daemon goes on with the last valid configuration", "DAEMON (pid 4242",
		"in progress: testing applying since", "Container testing Started", "testing   in-sync  yes"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errOut.String(), "instances.yaml:5:") {
		t.Errorf("stderr does not name the file's error: %s", errOut.String())
	}

	out.Reset()
	run(t.Context(), []string{"-f", file, "status", "--json"}, &out, &errOut)
	var sts []instanceStatus
	if err := json.Unmarshal([]byte(out.String()), &sts); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(sts) != 1 || sts[0].ConfigError == "" || sts[0].Engine == nil || !sts[0].Engine.Up || sts[0].Daemon.InProgress == nil || sts[0].Revision != 3 {
		t.Fatalf("status --json = %+v", sts)
	}
	// The default engine is "local", as in the metrics and on the page.
	if sts[0].Host != "local" || sts[0].Engine.Host != "local" || sts[0].Daemon.Host != "local" {
		t.Errorf("status --json names the engine %q (engine %q, daemon %q), want local", sts[0].Host, sts[0].Engine.Host, sts[0].Daemon.Host)
	}

	// A file that parses but whose template no longer renders is invalid
	// to the daemon too.
	tmpl := filepath.Join(t.TempDir(), "templates")
	os.Mkdir(tmpl, 0o755)
	os.WriteFile(filepath.Join(tmpl, "compose.yaml.tmpl"), []byte("name: {{ .NoSuchField }}\n"), 0o644)
	os.WriteFile(file, []byte("version: 1\nroot: "+root+"\ntemplates: "+tmpl+"\ninstances:\n  testing:\n    port: 8001\n    images: {app: \"wbd.local/app:1\"}\n"), 0o644)
	out.Reset()
	errOut.Reset()
	if code := run(t.Context(), []string{"-f", file, "status"}, &out, &errOut); code != exitFailed || !strings.Contains(out.String(), "DAEMON (pid 4242") {
		t.Errorf("a template that does not render: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "NoSuchField") {
		t.Errorf("stderr does not name the template's error: %s", errOut.String())
	}

	// No daemon on that root: only the error.
	unlock()
	out.Reset()
	if code := run(t.Context(), []string{"-f", file, "status"}, &out, &errOut); code != exitFailed || out.Len() != 0 {
		t.Errorf("without a daemon: exit %d, stdout %q", code, out.String())
	}
}

// The next attempt of a failing instance is a time to come; once it is due
// (the status file is written after the pass that makes it) it is now.
func TestDaemonStatusNextAttempt(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   time.Duration
		want string
	}{{18 * time.Second, "in 18s"}, {-3 * time.Second, "now"}} {
		next := now.Add(c.in)
		var out strings.Builder
		printDaemonStatus(&out, &reconcile.Status{PID: 1, Updated: now, Instances: []reconcile.InstanceStatus{
			{Instance: "testing", InFile: true, Result: reconcile.ResultFailed, LastError: "port 8001 is taken", NextAttempt: &next}}}, now)
		if !regexp.MustCompile(`testing +failed +no +- +` + c.want + ` +port 8001`).MatchString(out.String()) {
			t.Errorf("next attempt %s from now:\n%s", c.in, out.String())
		}
	}
}

// An engine that does not answer is named as everywhere else, the default
// one "local".
func TestDaemonStatusNamesTheEngineDown(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	since := now.Add(-time.Minute)
	var out strings.Builder
	printDaemonStatus(&out, &reconcile.Status{PID: 1, Updated: now, Hosts: []reconcile.HostStatus{
		{Host: "", Known: true, Since: &since, Error: "dial unix /var/run/docker.sock: connect: no such file"},
		{Host: "tcp://box:2375", Known: true, Up: true}}}, now)
	if !strings.Contains(out.String(), "engine local does not answer since 1m0s ago: dial unix") || strings.Contains(out.String(), "box") {
		t.Errorf("printed:\n%s", out.String())
	}
}

// wbd status reads times as the status page does: to the minute past an
// hour, and a time a moment ahead of this clock as 0s ago, not -2s ago.
func TestDaemonStatusReadsTimesAsThePage(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	began := now.Add(-(time.Hour + 2*time.Minute + 3*time.Second))
	var out strings.Builder
	printDaemonStatus(&out, &reconcile.Status{PID: 1, Updated: now.Add(2 * time.Second), Instances: []reconcile.InstanceStatus{
		{Instance: "testing", InFile: true, Result: reconcile.ResultInSync, LastReconcile: &began,
			InProgress: &reconcile.Progress{Step: "pulling", Since: began, StepSince: began}}}}, now)
	for _, want := range []string{"updated 0s ago)", "in progress: testing pulling since 1h2m0s ago (began 1h2m0s ago)",
		"testing   in-sync  no            1h2m0s ago      -"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("wbd status lacks %q:\n%s", want, out.String())
		}
	}
}
