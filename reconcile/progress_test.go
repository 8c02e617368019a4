package reconcile

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/rollout"
)

// While an apply runs, the daemon's view (and its status file, which wbd
// status reads) says which instance, at which step, since when; once done,
// nothing is in progress and the instance is ready.
func TestWhatIsInProgressIsShown(t *testing.T) {
	var clock atomic.Int64 // the test moves it while the apply runs
	clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	e := newEnv(t, Config{Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	e.local.block = make(chan struct{})
	e.local.started = make(chan string, 1)
	e.local.progress = make(chan lifecycle.Progress)
	d := desired(t, e.root, inst{name: "alpha", app: "app:1", port: 40001})
	done := make(chan error, 1)
	go func() { done <- e.r.Reconcile(t.Context(), d) }()
	select {
	case <-e.local.started:
	case <-time.After(10 * time.Second):
		t.Fatal("apply never started")
	}
	st := e.status("alpha")
	if st.InProgress == nil || st.InProgress.Step != rollout.StepApplying || st.InProgress.Since.IsZero() || st.Ready {
		t.Fatalf("during the apply: in progress %+v, ready %v", st.InProgress, st.Ready)
	}
	file, err := ReadStatus(e.root)
	if err != nil {
		t.Fatal(err)
	}
	if in := file.Instance("alpha"); in == nil || in.InProgress == nil || in.InProgress.Step != rollout.StepApplying {
		t.Fatalf("the status file does not say alpha is being applied: %+v", in)
	}
	// However long the operation takes, the engine's progress is a sign of
	// life for the watchdog: every pulled layer too; the detail of the
	// step is the engine's last word about a container or image.
	e.local.progress <- lifecycle.Progress{Resource: "Container " + "alpha", Text: "Recreate"}
	e.local.progress <- lifecycle.Progress{Resource: "Image app:1", Text: "Downloading", Layer: true}
	later := clock.Add(int64(30 * time.Minute))
	e.local.progress <- lifecycle.Progress{Resource: "Image app:1", Text: "Extracting", Layer: true}
	waitFor(t, "the layer's progress to count", func() bool { return e.r.Heartbeat().UnixNano() == later })
	if p := e.status("alpha").InProgress; p == nil || p.Detail != "Container alpha Recreate" {
		t.Errorf("in progress %+v, want the container's last word as its detail", p)
	}
	close(e.local.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st = e.status("alpha")
	if st.InProgress != nil || !st.Ready || st.Revision != 1 {
		t.Fatalf("after the apply: in progress %+v, ready %v, revision %d", st.InProgress, st.Ready, st.Revision)
	}
	file, _ = ReadStatus(e.root)
	if in := file.Instance("alpha"); in.InProgress != nil || !in.Ready {
		t.Fatalf("status file after the apply: %+v", in)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
