package e2e

import (
	"testing"
)

// Whatever the operator does to one instance leaves its neighbours alone:
// another instance of the same file, and a container wbd does not own.
func TestCommandsOnOneInstanceLeaveTheOthersAlone(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	mine := o.declare(nil)
	neighbour := o.declare(nil)
	// On a network of its own, which wbd must leave alone too.
	foreign := uniqueName("e2e-foreign")
	t.Cleanup(func() {
		_, _ = dockerTry("rm", "-f", foreign)
		_, _ = dockerTry("network", "rm", foreign)
	})
	docker(t, "network", "create", foreign)
	docker(t, "run", "-d", "--name", foreign, "--network", foreign, imageAdmin)
	foreignNetwork := docker(t, "network", "inspect", "--format", "{{.Id}}", foreign)

	o.mustWbd("apply", "--all", "--parallel", "2")
	others := []string{neighbour.Name, neighbour.Name + "-redis", neighbour.Name + "-postgres", foreign}
	before := takeSnapshot(t, others...)
	for name, state := range before {
		if state == "missing" {
			t.Fatalf("%s is missing after apply --all", name)
		}
	}
	networkBefore := docker(t, "network", "inspect", "--format", "{{.Id}}", neighbour.Name)

	for _, step := range [][]string{
		{"apply", mine.Name},
		{"plan", mine.Name},
		{"restart", mine.Name},
		{"down", mine.Name},
		{"apply", mine.Name},
	} {
		o.mustWbd(step...)
		requireUnchanged(t, "wbd "+step[0]+" "+mine.Name, before, takeSnapshot(t, others...))
		if got, _ := dockerTry("network", "inspect", "--format", "{{.Id}}", neighbour.Name); got != networkBefore {
			t.Errorf("after wbd %s: network %s changed", step[0], neighbour.Name)
		}
		if got, _ := dockerTry("network", "inspect", "--format", "{{.Id}}", foreign); got != foreignNetwork {
			t.Errorf("after wbd %s: network %s changed", step[0], foreign)
		}
	}
	if c := inspect(t, foreign); c.State.Status != "running" {
		t.Errorf("foreign container %s: %s, want running", foreign, c.State.Status)
	}
}
