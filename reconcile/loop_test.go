package reconcile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wbd-dev/wbd/spec"
	"github.com/wbd-dev/wbd/watch"
)

// loop runs Run in the bubble of synctest with the clock of the bubble.
type loop struct {
	*env
	updates chan watch.Update
	tick    chan time.Time
	cancel  context.CancelFunc
	done    chan error
}

func startLoop(t *testing.T, cfg Config) *loop {
	t.Helper()
	cfg.Now = time.Now // the bubble's
	tick := make(chan time.Time)
	cfg.Tick = tick
	l := &loop{env: newEnv(t, cfg), updates: make(chan watch.Update), tick: tick, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go func() { l.done <- l.r.Run(ctx, l.updates) }()
	t.Cleanup(func() {
		cancel()
		<-l.done
	})
	return l
}

// send hands the loop a new state of the file and waits until it is idle.
func (l *loop) send(u watch.Update) {
	l.updates <- u
	synctest.Wait()
}

func (l *loop) config(ins ...inst) watch.Update {
	return watch.Update{Config: parse(l.t, l.root, ins...)}
}

func (l *loop) wantApplies(name string, want int) {
	l.t.Helper()
	synctest.Wait()
	if got := l.local.count(name); got != want {
		l.t.Fatalf("applies of %s=%d, want %d", name, got, want)
	}
}

func TestRunInvalidEditKeepsLastConfig(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := startLoop(t, Config{File: "instances.yaml"})
		l.send(l.config(a1))
		l.wantApplies("alpha", 1)

		// A syntax error: logged with its position, nothing changes.
		bad := strings.Replace(fileYAML(l.root, a1), "port: 40001", "port: [", 1)
		_, err := spec.ParseFile("instances.yaml", []byte(bad))
		l.send(watch.Update{Err: err})
		if got := l.logs.grep(`instances file is invalid; the last valid configuration stays in force" file=instances.yaml error="instances.yaml:`); len(got) != 1 {
			t.Fatalf("log=%q", l.logs.lines)
		}
		s := l.r.Snapshot()
		if !strings.HasPrefix(s.Config.Error, "instances.yaml:") || s.Config.ErrorSince == nil {
			t.Fatalf("config status=%+v", s.Config)
		}
		// The last valid configuration is still in force: drift is fixed.
		l.local.kill("alpha")
		time.Sleep(2 * time.Second)
		l.wantApplies("alpha", 2)

		// A template error: the same.
		tmpl := t.TempDir()
		os.WriteFile(filepath.Join(tmpl, "compose.yaml.tmpl"), []byte("name: {{.Nope}}\n"), 0o644)
		u := l.config(a1)
		u.Config.Templates = tmpl
		l.send(u)
		if got := l.logs.grep(`instances file does not render; the last valid configuration stays in force`); len(got) != 1 || !strings.Contains(got[0], "compose.yaml.tmpl:1") {
			t.Fatalf("log=%q", got)
		}
		l.wantApplies("alpha", 2)

		// Fixed: applied, and the error is gone.
		a2 := a1
		a2.app = "wbd.local/app:2"
		l.send(l.config(a2))
		l.wantApplies("alpha", 3)
		if s := l.r.Snapshot(); s.Config.Error != "" {
			t.Fatalf("error still set: %s", s.Config.Error)
		}
	})
}

func TestRunInvalidFileAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sums summaries
		l := startLoop(t, Config{OnState: sums.add})
		_, err := spec.ParseFile("instances.yaml", []byte("version: 2\n"))
		l.send(watch.Update{Err: err})
		if got := l.logs.grep("instances file is invalid; waiting for a valid one"); len(got) != 1 {
			t.Fatalf("log=%q", l.logs.lines)
		}
		states := sums.get()
		if len(states) != 1 || states[0].Valid || !strings.Contains(states[0].String(), "no valid configuration: instances.yaml:1:") {
			t.Fatalf("states=%+v", states)
		}
		l.send(l.config(a1))
		l.wantApplies("alpha", 1)
		states = sums.get()
		last := states[len(states)-1]
		if got, want := last.String(), "1 instances, 1 in sync"; got != want {
			t.Fatalf("status line=%q, want %q", got, want)
		}
	})
}

func TestRunEventBringsBackADeadContainer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := startLoop(t, Config{EventDelay: time.Second})
		l.send(l.config(a1, b1))
		l.wantApplies("alpha", 1)
		l.local.kill("alpha")
		time.Sleep(999 * time.Millisecond)
		l.wantApplies("alpha", 1) // gathering the burst
		time.Sleep(time.Millisecond)
		l.wantApplies("alpha", 2)
		l.wantApplies("beta", 1)
		// An event about an instance that is not in the file changes nothing.
		l.local.events <- eventFor("someone-elses")
		time.Sleep(2 * time.Second)
		l.wantApplies("alpha", 2)
	})
}

func TestRunResyncFindsDriftWithoutEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := startLoop(t, Config{})
		l.send(l.config(a1))
		l.wantApplies("alpha", 1)
		l.local.mu.Lock()
		l.local.projects["alpha"].running = false
		l.local.mu.Unlock()
		l.tick <- time.Now()
		l.wantApplies("alpha", 2)
		l.tick <- time.Now()
		l.wantApplies("alpha", 2)
	})
}

func TestRunRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := startLoop(t, Config{Retry: RetryPolicy{Base: 5 * time.Second}})
		l.local.mu.Lock()
		l.local.failApply["alpha"] = os.ErrPermission
		l.local.mu.Unlock()
		l.send(l.config(a1))
		l.wantApplies("alpha", 1)
		time.Sleep(4 * time.Second)
		l.wantApplies("alpha", 1)
		time.Sleep(time.Second)
		l.wantApplies("alpha", 2) // after 5s
		l.local.mu.Lock()
		delete(l.local.failApply, "alpha")
		l.local.mu.Unlock()
		time.Sleep(9 * time.Second)
		l.wantApplies("alpha", 2)
		time.Sleep(time.Second)
		l.wantApplies("alpha", 3) // after 10s more
		if st := l.status("alpha"); st.Result != ResultApplied {
			t.Fatalf("status=%+v", st)
		}
		time.Sleep(time.Hour)
		l.wantApplies("alpha", 3)
	})
}

func TestRunReloadRetriesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := startLoop(t, Config{Retry: RetryPolicy{Base: time.Hour}})
		l.local.failApply["alpha"] = os.ErrPermission
		u := l.config(a1)
		l.send(u)
		l.wantApplies("alpha", 1)
		u.Reload = true
		l.send(u)
		l.wantApplies("alpha", 2)
		if got := l.logs.grep(`configuration reloaded`); len(got) != 1 {
			t.Fatalf("log=%q", got)
		}
	})
}

func TestRunShutdownLetsTheApplyFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := startLoop(t, Config{ShutdownTimeout: 30 * time.Second})
		l.local.block = make(chan struct{})
		l.local.started = make(chan string, 1)
		go func() { l.updates <- l.config(a1, b1) }()
		<-l.local.started
		l.cancel()
		time.Sleep(20 * time.Second)
		synctest.Wait()
		select {
		case <-l.done:
			t.Fatal("Run returned with the apply in flight")
		default:
		}
		close(l.local.block)
		if err := <-l.done; err != nil {
			t.Fatal(err)
		}
		l.done <- nil // for the cleanup
		l.wantApplies("alpha", 1)
		l.wantApplies("beta", 0) // not started after the signal
	})
}

func TestRunShutdownDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := startLoop(t, Config{ShutdownTimeout: 30 * time.Second})
		l.local.block = make(chan struct{}) // never released
		l.local.started = make(chan string, 1)
		go func() { l.updates <- l.config(a1) }()
		<-l.local.started
		start := time.Now()
		l.cancel()
		if err := <-l.done; err != nil {
			t.Fatal(err)
		}
		l.done <- nil
		if got, want := time.Since(start), 30*time.Second; got != want {
			t.Errorf("returned after %v, want %v", got, want)
		}
		if st := l.status("alpha"); st.Result != ResultInterrupted {
			t.Errorf("status=%+v, want interrupted", st)
		}
		if got := l.logs.grep(`shutdown deadline passed; interrupting the operation" instance=alpha`); len(got) != 1 {
			t.Errorf("log=%q", l.logs.lines)
		}
	})
}

func TestRunEngineDownAtStartThenBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var states summaries
		l := startLoop(t, Config{OnState: states.add})
		l.local.setDown(true)
		l.hosts.timeout = 10 * time.Second // it takes long to fail
		l.send(l.config(a1))
		time.Sleep(10 * time.Second) // the first attempt
		synctest.Wait()
		if st := l.status("alpha"); st.Result != ResultUnreachable {
			t.Fatalf("status=%+v", st)
		}
		ready := states.get()
		if len(ready) == 0 || ready[0].Passes != 1 || len(ready[0].HostsDown) != 1 {
			t.Fatalf("summaries=%+v, want a first pass with the engine down", ready)
		}
		time.Sleep(2 * time.Minute)
		l.wantApplies("alpha", 0)
		if n := len(states.get()); n > 3 {
			t.Errorf("%d passes in 2 minutes with the engine down: the loop should wait for it", n)
		}
		l.local.setDown(false)
		// At worst: the attempt in flight fails, then the longest backoff.
		time.Sleep(l.hosts.timeout + DefaultRetry.HostMax + time.Second)
		l.wantApplies("alpha", 1)
		if got := l.logs.grep(`docker engine does not answer`); len(got) != 1 {
			t.Errorf("unreachable logged %d times: %q", len(got), got)
		}
		if got := l.logs.grep(`docker engine answers again`); len(got) != 1 {
			t.Errorf("comeback logged %d times: %q", len(got), got)
		}
	})
}

func TestRunEngineRestartedUnderTheDaemon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := startLoop(t, Config{})
		l.send(l.config(a1, b1))
		l.wantApplies("alpha", 1)
		l.wantApplies("beta", 1)
		synctest.Wait()
		// dockerd stops: the event stream breaks, the containers stop.
		l.local.setDown(true)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := l.logs.grep(`docker engine does not answer`); len(got) != 1 {
			t.Fatalf("log=%q", l.logs.lines)
		}
		l.local.setDown(false)
		time.Sleep(DefaultRetry.HostMax + 2*time.Second)
		l.wantApplies("alpha", 2)
		l.wantApplies("beta", 2)
		if st := l.status("beta"); !st.InSync {
			t.Fatalf("status=%+v", st)
		}
		l.local.mu.Lock()
		streams := l.local.streams
		l.local.mu.Unlock()
		if streams != 1 {
			t.Fatalf("event streams open=%d, want 1", streams)
		}
	})
}

// summaries records what OnState is told.
type summaries struct {
	mu  sync.Mutex
	all []Summary
}

func (s *summaries) add(sum Summary) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, sum)
}

func (s *summaries) get() []Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.all)
}

// A file emptied of instances (truncated, or half of a merge) would take
// down the whole host: it is refused like an invalid file unless the
// daemon runs with --allow-empty.
func TestRunRefusesAnEmptyFileUnlessAllowed(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("AllowEmpty=%v", allow), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := startLoop(t, Config{File: "instances.yaml", AllowEmpty: allow})
				l.send(l.config(a1, b1))
				l.wantApplies("alpha", 1)
				empty, err := spec.ParseFile("instances.yaml", []byte("version: 1\nroot: "+l.root+"\ninstances: {}\n"))
				if err != nil {
					t.Fatal(err)
				}
				l.send(watch.Update{Config: empty})
				downed := l.local.downed()
				slices.Sort(downed)
				errText := l.r.Snapshot().Config.Error
				if allow {
					if got := strings.Join(downed, ","); got != "alpha,beta" || errText != "" {
						t.Fatalf("taken down=%q, config error=%q; want alpha,beta and none", got, errText)
					}
					return
				}
				if len(downed) != 0 {
					t.Fatalf("taken down=%q by an empty file", downed)
				}
				if !strings.Contains(errText, "lists no instances") || !strings.Contains(errText, "--allow-empty") {
					t.Fatalf("config error=%q, want it to say the file is empty and how to allow it", errText)
				}
				if got := l.logs.grep(`instances file lists no instances; the last valid configuration stays in force`); len(got) != 1 {
					t.Fatalf("log=%q", l.logs.lines)
				}
				// The last valid configuration is still in force: drift is fixed.
				l.local.kill("alpha")
				time.Sleep(2 * time.Second)
				l.wantApplies("alpha", 2)
			})
		})
	}
}
