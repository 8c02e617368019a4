package rollout

import (
	"fmt"
	"testing"

	"github.com/wbd-dev/wbd/events"
)

// Every operation that acts on the engine, or fails, is one event with the
// revisions it went from and to; finding an instance as asked is none.
func TestEventsOfAStory(t *testing.T) {
	s := newStory(t)
	s.eng.bad["app:bad"] = true
	s.eng.missing["app:gone"] = true
	log := events.Open(s.root, events.Actor{User: "ops", PID: 7, Command: "wbd apply"}, events.Options{})
	var steps []string
	opts := Options{Events: log, OnStep: func(st string) { steps = append(steps, st) }}
	s.apply("app:1", opts)     // applied: - -> 1
	s.apply("app:1", opts)     // unchanged: no event
	s.apply("app:bad", opts)   // rolled back: 1 -> 1, 2 failed
	s.apply("app:bad", opts)   // held, nothing to do: no event
	s.eng.stopped = true       // the app died
	s.apply("app:bad", opts)   // held and repaired: 1 -> 1, ok
	s.apply("app:gone", opts)  // fails before touching: failed, 1 -> 1
	in, res := s.file("app:2") // an edit, then a rollback and a release
	Apply(t.Context(), s.eng, in, res, opts)
	Rollback(t.Context(), s.eng, in, res, 0, opts)
	Release(t.Context(), s.eng, in, res, opts)

	evs, err := events.Read(s.root, events.Filter{}, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s %s %d>%d failed=%d", e.Action, e.Result, e.From, e.To, e.Failed))
		if e.Instance != "alpha" || e.Actor.User != "ops" || e.Time.IsZero() || e.Duration < 0 {
			t.Errorf("event %+v", e)
		}
		if e.Result != events.OK && e.Detail == "" {
			t.Errorf("%s %s without a reason", e.Action, e.Result)
		}
	}
	want := []string{
		"apply ok 0>1 failed=0",
		"apply rolled_back 1>1 failed=2",
		"apply ok 1>1 failed=0",
		"apply failed 1>1 failed=0",
		"apply ok 1>4 failed=0",
		"rollback ok 4>5 failed=0",
		"release ok 5>6 failed=0",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events:\n%q\nwant\n%q", got, want)
	}
	if len(steps) == 0 || steps[0] != StepPlanning {
		t.Errorf("steps = %q", steps)
	}
	var rolling bool
	for _, st := range steps {
		rolling = rolling || st == StepRollingBack
	}
	if !rolling {
		t.Errorf("no rolling back step in %q", steps)
	}
}
