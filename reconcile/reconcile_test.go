package reconcile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/lifecycle"
)

var (
	a1 = inst{name: "alpha", app: "wbd.local/app:1", port: 40001}
	b1 = inst{name: "beta", app: "wbd.local/app:1", port: 40002}
	c1 = inst{name: "gamma", app: "wbd.local/app:1", port: 40003}
)

func TestReconcileAppliesOnlyWhatChanged(t *testing.T) {
	e := newEnv(t, Config{})
	if err := e.r.Reconcile(t.Context(), desired(t, e.root, a1, b1, c1)); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"alpha", "beta", "gamma"} {
		if got, want := e.local.count(n), 1; got != want {
			t.Fatalf("applies of %s=%d, want %d", n, got, want)
		}
		if st := e.status(n); st.Result != ResultApplied || !st.InSync {
			t.Fatalf("status of %s=%+v, want applied and in sync", n, st)
		}
		if _, err := os.Stat(filepath.Join(e.root, n, instdir.ComposeFile)); err != nil {
			t.Fatalf("compose file of %s: %v", n, err)
		}
	}
	// Nothing changed: nothing applied.
	if err := e.r.Reconcile(t.Context(), desired(t, e.root, a1, b1, c1)); err != nil {
		t.Fatal(err)
	}
	// b's image changes: only b is applied.
	b2 := b1
	b2.app = "wbd.local/app:2"
	if err := e.r.Reconcile(t.Context(), desired(t, e.root, a1, b2, c1)); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[string]int{"alpha": 1, "beta": 2, "gamma": 1} {
		if got := e.local.count(n); got != want {
			t.Errorf("applies of %s=%d, want %d", n, got, want)
		}
	}
	if st := e.status("alpha"); st.Result != ResultInSync {
		t.Errorf("alpha: result=%s, want in-sync", st.Result)
	}
	if got := e.logs.grep(`msg=applying instance=beta changes="app recreate"`); len(got) != 1 {
		t.Errorf("log lines applying b=%q, want one", got)
	}
}

func TestReconcileBringsBackDrift(t *testing.T) {
	e := newEnv(t, Config{})
	d := desired(t, e.root, a1, b1)
	if err := e.r.Reconcile(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	e.local.mu.Lock()
	e.local.projects["alpha"].running = false
	e.local.mu.Unlock()
	if err := e.r.Reconcile(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if got, want := e.local.count("alpha"), 2; got != want {
		t.Errorf("applies of a=%d, want %d", got, want)
	}
	if got, want := e.local.count("beta"), 1; got != want {
		t.Errorf("applies of b=%d, want %d", got, want)
	}
}

func TestReconcilePrunesOnlyItsRoot(t *testing.T) {
	e := newEnv(t, Config{})
	if err := e.r.Reconcile(t.Context(), desired(t, e.root, a1, b1)); err != nil {
		t.Fatal(err)
	}
	// Another instances file's project on the same engine.
	e.local.mu.Lock()
	e.local.projects["other"] = &fakeProject{running: true, workDir: "/srv/elsewhere/other"}
	e.local.mu.Unlock()
	if err := e.r.Reconcile(t.Context(), desired(t, e.root, a1)); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(e.local.downed(), ","), "beta"; got != want {
		t.Fatalf("taken down=%s, want %s", got, want)
	}
	st := e.status("beta")
	if st.Result != ResultRemoved || st.InFile {
		t.Errorf("status of b=%+v, want removed", st)
	}
	if _, err := os.Stat(filepath.Join(e.root, "beta", "redis")); err != nil {
		t.Errorf("b's data: %v", err)
	}
	if got := e.logs.grep(`instance taken down; its directory and data stay on disk" instance=beta dir=` + filepath.Join(e.root, "beta")); len(got) != 1 {
		t.Errorf("log of the removal: %q", got)
	}
}

func TestReconcileBoundsFailedAttempts(t *testing.T) {
	e := newEnv(t, Config{Retry: RetryPolicy{Base: time.Second, Max: time.Minute, Attempts: 3, Window: 10 * time.Minute}})
	e.local.failApply["alpha"] = errors.New("image not found")
	d := desired(t, e.root, a1, b1)
	start := e.now
	var times []time.Time
	for e.now.Sub(start) < 25*time.Minute {
		before := e.local.count("alpha")
		e.r.Reconcile(t.Context(), d)
		if e.local.count("alpha") > before {
			times = append(times, e.now)
		}
		step := time.Second
		if e.now.Sub(start) > time.Minute {
			step = 10 * time.Second
		}
		e.now = e.now.Add(step)
	}
	// Never more than 3 attempts in any 10 minutes.
	for i := range times {
		if i >= 3 && times[i].Sub(times[i-3]) < 10*time.Minute {
			t.Fatalf("attempts at %v: 4 within 10 minutes", times)
		}
	}
	if len(times) < 5 {
		t.Fatalf("attempts at %v: want retries after the window", times)
	}
	// Backoff between the first ones: 1s, then 2s.
	if got, want := times[1].Sub(times[0]), time.Second; got != want {
		t.Errorf("first backoff=%v, want %v", got, want)
	}
	if got, want := times[2].Sub(times[1]), 2*time.Second; got != want {
		t.Errorf("second backoff=%v, want %v", got, want)
	}
	st := e.status("alpha")
	if st.Result != ResultHeld && st.Result != ResultFailed {
		t.Errorf("result=%s, want held or failed", st.Result)
	}
	if !strings.Contains(st.LastError, "image not found") || st.NextAttempt == nil {
		t.Errorf("status=%+v, want the error and the next attempt", st)
	}
	if got := e.logs.grep(`instance keeps failing; holding off" instance=alpha`); len(got) == 0 {
		t.Error("no log line says a is held")
	}
	// b is not held back by a.
	if got, want := e.local.count("beta"), 1; got != want {
		t.Errorf("applies of b=%d, want %d", got, want)
	}
	// A fix in the file is tried at once.
	delete(e.local.failApply, "alpha")
	a2 := a1
	a2.app = "wbd.local/app:2"
	if err := e.r.Reconcile(t.Context(), desired(t, e.root, a2, b1)); err != nil {
		t.Fatalf("after the fix: %v", err)
	}
	if st := e.status("alpha"); st.Result != ResultApplied || st.Failures != 0 {
		t.Errorf("after the fix: %+v", st)
	}
}

func TestReconcileWaitsForTheShellsLock(t *testing.T) {
	e := newEnv(t, Config{})
	d := desired(t, e.root, a1)
	unlock, err := instdir.Lock(d.Config.Instance("alpha"), "wbd apply")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.r.Reconcile(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if got := e.local.count("alpha"); got != 0 {
		t.Fatalf("applied %d times while locked", got)
	}
	st := e.status("alpha")
	if st.Result != ResultLocked || !strings.Contains(st.Detail, "wbd apply (pid") {
		t.Fatalf("status=%+v, want locked by wbd apply", st)
	}
	if got := e.logs.grep(`instance is locked by another wbd; retrying later" instance=alpha holder="wbd apply (pid`); len(got) != 1 {
		t.Errorf("log lines=%q", got)
	}
	unlock()
	e.r.Reconcile(t.Context(), d) // too soon: waits DefaultRetry.Locked
	if got := e.local.count("alpha"); got != 0 {
		t.Fatalf("applied %d times before the retry", got)
	}
	e.now = e.now.Add(DefaultRetry.Locked)
	e.r.Reconcile(t.Context(), d)
	if got := e.local.count("alpha"); got != 1 {
		t.Fatalf("applied %d times after the lock was freed, want 1", got)
	}
}

func TestReconcileUnreachableHostAffectsOnlyItsInstances(t *testing.T) {
	e := newEnv(t, Config{})
	remote := newFakeEngine("tcp://box:2375")
	remote.down = true
	e.hosts.engines["tcp://box:2375"] = remote
	far := inst{name: "far", app: "wbd.local/app:1", port: 40009, host: "tcp://box:2375"}
	d := desired(t, e.root, a1, far)
	err := e.r.Reconcile(t.Context(), d)
	if !errors.Is(err, lifecycle.ErrUnreachable) {
		t.Fatalf("err=%v, want unreachable", err)
	}
	if got := e.local.count("alpha"); got != 1 {
		t.Fatalf("a applied %d times, want 1", got)
	}
	st := e.status("far")
	if st.Result != ResultUnreachable || st.Failures != 0 {
		t.Fatalf("far=%+v, want unreachable, no failure counted", st)
	}
	// Retried only once its backoff passed, and logged once.
	e.r.Reconcile(t.Context(), d)
	e.r.Reconcile(t.Context(), d)
	if got := e.hosts.connects["tcp://box:2375"]; got != 1 {
		t.Errorf("connection attempts=%d, want 1 within the backoff", got)
	}
	remote.setDown(false)
	e.now = e.now.Add(time.Minute)
	if err := e.r.Reconcile(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if got := remote.count("far"); got != 1 {
		t.Fatalf("far applied %d times once its host answers, want 1", got)
	}
	if got := e.logs.grep("docker engine does not answer"); len(got) != 1 {
		t.Errorf("unreachable logged %d times, want once: %q", len(got), got)
	}
	if got := e.logs.grep(`docker engine answers again" host=tcp://box:2375`); len(got) != 1 {
		t.Errorf("comeback logged: %q", got)
	}
}

func TestReconcileEngineGoneMidway(t *testing.T) {
	e := newEnv(t, Config{})
	d := desired(t, e.root, a1)
	if err := e.r.Reconcile(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	e.local.setDown(true)
	e.r.Reconcile(t.Context(), d)
	if st := e.status("alpha"); st.Result != ResultUnreachable || st.Failures != 0 {
		t.Fatalf("status=%+v, want unreachable without a failure", st)
	}
	e.local.setDown(false)
	e.local.mu.Lock()
	e.local.projects["alpha"].running = false // stopped with its engine
	e.local.mu.Unlock()
	e.now = e.now.Add(time.Minute)
	if err := e.r.Reconcile(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if got := e.local.count("alpha"); got != 2 {
		t.Fatalf("applies=%d, want 2", got)
	}
}

func TestReconcileMovedHostIsPrunedFromTheOld(t *testing.T) {
	e := newEnv(t, Config{})
	remote := newFakeEngine("tcp://box:2375")
	e.hosts.engines["tcp://box:2375"] = remote
	if err := e.r.Reconcile(t.Context(), desired(t, e.root, a1, b1)); err != nil {
		t.Fatal(err)
	}
	moved := a1
	moved.host = "tcp://box:2375"
	d := desired(t, e.root, moved, b1)
	// First pass: the new host is not known yet when pruning, so a stays.
	if err := e.r.Reconcile(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Reconcile(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(e.local.downed(), ","), "alpha"; got != want {
		t.Fatalf("taken down locally=%q, want %q", got, want)
	}
	if got := remote.count("alpha"); got != 1 {
		t.Fatalf("a applied on the new host %d times, want 1", got)
	}
}

func TestReconcileSameEngineTwoSpellings(t *testing.T) {
	e := newEnv(t, Config{})
	// Two spellings of the local engine: never a reason to prune.
	e.hosts.engines["unix:///fake.sock"] = e.local
	b := b1
	b.host = "unix:///fake.sock"
	d := desired(t, e.root, a1, b)
	for range 3 {
		if err := e.r.Reconcile(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.local.downed(); len(got) != 0 {
		t.Fatalf("taken down: %v", got)
	}
}

func TestReconcileParallelKeepsEachInstanceSerial(t *testing.T) {
	e := newEnv(t, Config{Parallel: 2})
	e.local.block = make(chan struct{})
	e.local.started = make(chan string, 10)
	d := desired(t, e.root, a1, b1, c1)
	done := make(chan error, 1)
	go func() { done <- e.r.Reconcile(t.Context(), d) }()
	<-e.local.started
	<-e.local.started // two in flight at once
	close(e.local.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if e.local.overlap {
		t.Fatal("two operations overlapped on one instance")
	}
	if got, want := e.local.maxBusy, 2; got != want {
		t.Fatalf("at most %d at once, want %d", got, want)
	}
}

func TestReconcileRefusesASecondDaemonOnTheRoot(t *testing.T) {
	e := newEnv(t, Config{})
	if err := e.r.Reconcile(t.Context(), desired(t, e.root, a1)); err != nil {
		t.Fatal(err)
	}
	other, err := New(Config{Connect: e.hosts.connect})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	err = other.Reconcile(t.Context(), desired(t, e.root, b1))
	if err == nil || !strings.Contains(err.Error(), "reconciled by another daemon: wbd run (pid") {
		t.Fatalf("err=%v, want the root's holder", err)
	}
	if got := e.local.downed(); len(got) != 0 {
		t.Fatalf("taken down: %v", got)
	}
}

func TestStatusFileRoundTrip(t *testing.T) {
	e := newEnv(t, Config{File: "instances.yaml"})
	if err := e.r.Reconcile(t.Context(), desired(t, e.root, a1)); err != nil {
		t.Fatal(err)
	}
	s, err := ReadStatus(e.root)
	if err != nil {
		t.Fatal(err)
	}
	if !Running(e.root) {
		t.Error("Running()=false while this process holds the root")
	}
	in := s.Instance("alpha")
	if in == nil || in.Result != ResultApplied || !in.InSync || in.LastReconcile == nil {
		t.Fatalf("status of a=%+v", in)
	}
	if got, want := s.File, "instances.yaml"; got != want {
		t.Errorf("file=%q, want %q", got, want)
	}
	if _, err := ReadStatus(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no daemon: err=%v, want not exist", err)
	}
}

func TestRetryPolicy(t *testing.T) {
	p := RetryPolicy{Base: time.Second, Max: 8 * time.Second, Attempts: 4, Window: time.Minute}
	var s retryState
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	var waits []time.Duration
	var held []bool
	for range 6 {
		h := p.fail(&s, now)
		waits = append(waits, s.next.Sub(now))
		held = append(held, h)
		now = s.next
	}
	// 1s 2s 4s, then the 4th attempt within a minute: held until t0+1m.
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, time.Minute - 7*time.Second}
	for i, w := range want {
		if waits[i] != w {
			t.Fatalf("waits=%v, want %v first", waits, want)
		}
	}
	if !held[3] || held[0] {
		t.Fatalf("held=%v", held)
	}
	if !s.due(s.next) || s.due(s.next.Add(-time.Nanosecond)) {
		t.Fatal("due is wrong at next")
	}
	s.reset()
	if !s.due(t0) {
		t.Fatal("reset: not due")
	}
}

func TestReconcileRenamesWhatAnInterruptedRecreateLeft(t *testing.T) {
	e := newEnv(t, Config{})
	d := desired(t, e.root, a1)
	if err := e.r.Reconcile(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	e.local.mu.Lock()
	e.local.projects["alpha"].tmpName = "71f8d780b19e_alpha"
	e.local.mu.Unlock()
	if err := e.r.Reconcile(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if got := e.local.renames; got != 1 {
		t.Fatalf("renames=%d, want 1", got)
	}
	if got := e.local.count("alpha"); got != 1 {
		t.Fatalf("applies=%d, want 1: a name is not a reason to recreate", got)
	}
	if st := e.status("alpha"); !strings.Contains(st.Detail, "renamed 71f8d780b19e_alpha -> alpha") {
		t.Fatalf("status=%+v", st)
	}
}

func TestReconcileKeepsTheComposeFileCurrent(t *testing.T) {
	e := newEnv(t, Config{})
	d := desired(t, e.root, a1)
	if err := e.r.Reconcile(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(e.root, "alpha", instdir.ComposeFile)
	os.WriteFile(path, []byte("# edited by hand\n"), 0o644)
	if err := e.r.Reconcile(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != string(d.Result("alpha").YAML) {
		t.Fatalf("compose file=%q, want the render", got)
	}
	if n := e.local.count("alpha"); n != 1 {
		t.Fatalf("applies=%d, want 1", n)
	}
}
