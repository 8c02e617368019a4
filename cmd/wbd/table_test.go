package main

import (
	"strings"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/lifecycle"
)

// wbd's tables line up in columns and end each line at its last
// character, though a line's last cell be empty.
func TestTablesEndAtTheirLastCharacter(t *testing.T) {
	var plan strings.Builder
	printPlans(&plan, []instancePlan{{Plan: lifecycle.Plan{Instance: "testing", Services: []lifecycle.ServicePlan{
		{Service: "postgres", Container: "testing-postgres", Action: lifecycle.ActionUnchanged},
		{Service: "app", Container: "testing", Action: lifecycle.ActionRecreate,
			Changes: []lifecycle.Change{{Field: "image", Detail: "wbd.local/app:1 -> wbd.local/app:2"}}},
	}}}})
	var outcomes strings.Builder
	printOutcomes(&outcomes, "restart", []outcome{{Instance: "testing", Result: "restarted", Duration: time.Second}, {Instance: "kenya", Result: "restarted"}})
	for name, got := range map[string]string{"plan": plan.String(), "restart": outcomes.String()} {
		lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		for _, l := range lines {
			if strings.HasSuffix(l, " ") {
				t.Errorf("%s: line %q ends in spaces", name, l)
			}
		}
		if len(lines) < 2 {
			t.Errorf("%s printed %q", name, got)
		}
	}
	want := "INSTANCE  SERVICE   CONTAINER         ACTION     WHY\n" +
		"testing   postgres  testing-postgres  unchanged\n" +
		"testing   app       testing           recreate   image: wbd.local/app:1 -> wbd.local/app:2\n"
	if got := plan.String(); got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
}
