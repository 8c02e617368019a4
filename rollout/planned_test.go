package rollout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/subnets"
)

func TestApplyTakesThePlanItIsGiven(t *testing.T) {
	s := newStory(t)
	if _, err := s.apply("app:1", Options{}); err != nil {
		t.Fatal(err)
	}
	in, res := s.file("app:2")
	plan, err := s.eng.Plan(t.Context(), res.Project)
	if err != nil {
		t.Fatal(err)
	}
	s.eng.plans = 0
	out, err := Apply(t.Context(), s.eng, in, res, Options{Planned: &plan})
	if err != nil || out.Result != Applied {
		t.Fatalf("apply: %+v, %v", out, err)
	}
	if s.eng.plans != 0 {
		t.Errorf("Apply planned %d times with a plan given, want none", s.eng.plans)
	}
	if r := s.history().Current(); r == nil || r.Changes != "app recreate (image: app:1 -> app:2)" {
		t.Errorf("revision %+v, want the given plan's changes", r)
	}

	t.Run("an empty plan given is confirmed, not applied", func(t *testing.T) {
		in, res := s.file("app:2")
		empty := lifecycle.Plan{Instance: "alpha", Services: []lifecycle.ServicePlan{{Service: "app", Action: lifecycle.ActionUnchanged}}}
		before := len(s.eng.applies)
		out, err := Apply(t.Context(), s.eng, in, res, Options{Planned: &empty})
		if err != nil || out.Result != Unchanged || len(s.eng.applies) != before {
			t.Fatalf("apply: %+v, %v, applies %v", out, err, s.eng.applies[before:])
		}
	})
}

func TestApplyRecordsTheSubnetItApplies(t *testing.T) {
	s := newStory(t)
	in, res := s.file("app:1")
	in.Subnet = "10.213.7.0/26"
	if _, err := Apply(t.Context(), s.eng, in, res, Options{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(s.root, "alpha", subnets.File))
	if err != nil || !strings.Contains(string(data), `"10.213.7.0/26"`) {
		t.Fatalf("record %q, %v: want the subnet applied", data, err)
	}
	// Another instance rendered with the same subnet meanwhile is refused
	// before anything is touched.
	other, changed := s.file("app:2")
	other.Name, other.Dir, other.Subnet = "beta", filepath.Join(s.root, "beta"), in.Subnet
	before := len(s.eng.applies)
	_, err = Apply(t.Context(), s.eng, other, changed, Options{})
	if err == nil || !strings.Contains(err.Error(), "which alpha has since taken") || len(s.eng.applies) != before {
		t.Fatalf("apply of another instance on alpha's subnet: %v (applies %v)", err, s.eng.applies[before:])
	}
}
