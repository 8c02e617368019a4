package reconcile

import (
	"testing"
	"time"

	"github.com/wbd-dev/wbd/rollout"
)

// While an apply runs, the daemon's view (and its status file, which wbd
// status reads) says which instance, at which step, since when; once done,
// nothing is in progress and the instance is ready.
func TestWhatIsInProgressIsShown(t *testing.T) {
	e := newEnv(t, Config{})
	e.local.block = make(chan struct{})
	e.local.started = make(chan string, 1)
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
