package revision

import "testing"

// h builds a history, newest first, from "verdict:spec" pairs numbered from
// len down to 1.
func h(rs ...Revision) History {
	for i := range rs {
		rs[i].Number = len(rs) - i
		if rs[i].Project == "" {
			rs[i].Project = "project " + rs[i].SpecHash
		}
	}
	return History(rs)
}

func TestHistoryDecisions(t *testing.T) {
	tests := []struct {
		name     string
		h        History
		spec     string
		current  int
		previous int
		held     int
		pin      int
	}{
		{name: "empty", h: nil, spec: "a"},
		{
			name: "one healthy",
			h:    h(Revision{Verdict: Healthy, SpecHash: "a"}),
			spec: "a", current: 1,
		},
		{
			name: "two healthy: previous is the older",
			h:    h(Revision{Verdict: Healthy, SpecHash: "b"}, Revision{Verdict: Healthy, SpecHash: "a"}),
			spec: "b", current: 2, previous: 1,
		},
		{
			name: "rolled back spec is held while the file asks for it",
			h:    h(Revision{Verdict: RolledBack, SpecHash: "b", Restored: 1}, Revision{Verdict: Healthy, SpecHash: "a"}),
			spec: "b", current: 1, held: 2,
		},
		{
			name: "a new spec is not held",
			h:    h(Revision{Verdict: RolledBack, SpecHash: "b", Restored: 1}, Revision{Verdict: Healthy, SpecHash: "a"}),
			spec: "c", current: 1,
		},
		{
			name: "back to a spec held before, after another was applied: tried again",
			h: h(Revision{Verdict: Healthy, SpecHash: "c"}, Revision{Verdict: RolledBack, SpecHash: "b", Restored: 1},
				Revision{Verdict: Healthy, SpecHash: "a"}),
			spec: "b", current: 3, previous: 1,
		},
		{
			name: "a failed rollback holds nothing: the daemon's backoff applies",
			h:    h(Revision{Verdict: Failed, SpecHash: "b"}, Revision{Verdict: Healthy, SpecHash: "a"}),
			spec: "b", current: 1,
		},
		{
			name: "rolled back and failed revisions are never previous",
			h: h(Revision{Verdict: Healthy, SpecHash: "d"}, Revision{Verdict: RolledBack, SpecHash: "c"},
				Revision{Verdict: Failed, SpecHash: "b"}, Revision{Verdict: Healthy, SpecHash: "a"}),
			spec: "d", current: 4, previous: 1,
		},
		{
			name: "previous skips revisions with the current project",
			h: h(Revision{Verdict: Healthy, SpecHash: "a"}, Revision{Verdict: Healthy, SpecHash: "a"},
				Revision{Verdict: Healthy, SpecHash: "z"}),
			spec: "a", current: 3, previous: 1,
		},
		{
			name: "pinned while the file says what it said",
			h:    h(Revision{Verdict: Healthy, SpecHash: "a", Cause: CauseRollback, Pinned: true, PinnedWhile: "b"}, Revision{Verdict: Healthy, SpecHash: "b"}, Revision{Verdict: Healthy, SpecHash: "a"}),
			spec: "b", current: 3, previous: 2, pin: 3,
		},
		{
			name: "an edit of the file ends the pin",
			h:    h(Revision{Verdict: Healthy, SpecHash: "a", Pinned: true, PinnedWhile: "b"}, Revision{Verdict: Healthy, SpecHash: "b"}),
			spec: "c", current: 2, previous: 1,
		},
		{
			name: "a released pin holds nothing",
			h:    h(Revision{Verdict: Healthy, SpecHash: "a", Pinned: true, PinnedWhile: "b", Released: true}, Revision{Verdict: Healthy, SpecHash: "b"}),
			spec: "b", current: 2, previous: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := revNumber(tt.h.Current()); got != tt.current {
				t.Errorf("Current=%d, want %d", got, tt.current)
			}
			if got := revNumber(tt.h.Previous()); got != tt.previous {
				t.Errorf("Previous=%d, want %d", got, tt.previous)
			}
			if got := revNumber(tt.h.Held(tt.spec)); got != tt.held {
				t.Errorf("Held(%s)=%d, want %d", tt.spec, got, tt.held)
			}
			if got := revNumber(tt.h.Pin(tt.spec)); got != tt.pin {
				t.Errorf("Pin(%s)=%d, want %d", tt.spec, got, tt.pin)
			}
		})
	}
}

func revNumber(r *Revision) int {
	if r == nil {
		return 0
	}
	return r.Number
}
