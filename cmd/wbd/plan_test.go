package main

import (
	"bytes"
	"testing"

	"github.com/wbd-dev/wbd/lifecycle"
)

// Scripts read `wbd plan --json` with jq as the help shows: lower-case keys
// as in every --json output of wbd, and empty lists rather than null.
func TestPlanJSON(t *testing.T) {
	plans := []lifecycle.Plan{{
		Instance: "testing",
		Services: []lifecycle.ServicePlan{
			{Service: "postgres", Container: "testing-postgres", Action: lifecycle.ActionUnchanged},
			{Service: "app", Container: "testing", Action: lifecycle.ActionRecreate,
				Changes: []lifecycle.Change{{Field: "image", Detail: "wbd.local/app:1 -> wbd.local/app:2"}}},
		},
		Renames: []lifecycle.Misnamed{{Container: lifecycle.Container{ID: "abc", Name: "abc_testing-redis", Service: "redis"}, Want: "testing-redis"}},
		Pull:    []string{"timroberton/comb:wb-hmis-r-linux"},
	}, {Instance: "nigeria"}}
	var buf bytes.Buffer
	out := make([]planJSON, len(plans))
	for i, p := range plans {
		out[i] = toPlanJSON(p)
	}
	if err := writeJSON(&buf, out); err != nil {
		t.Fatal(err)
	}
	want := `[
  {
    "instance": "testing",
    "in_file": true,
    "services": [
      {
        "service": "postgres",
        "container": "testing-postgres",
        "action": "unchanged",
        "changes": []
      },
      {
        "service": "app",
        "container": "testing",
        "action": "recreate",
        "changes": [
          {
            "field": "image",
            "detail": "wbd.local/app:1 -> wbd.local/app:2"
          }
        ]
      }
    ],
    "legacy": [],
    "renames": [
      {
        "service": "redis",
        "from": "abc_testing-redis",
        "to": "testing-redis",
        "id": "abc"
      }
    ],
    "pull": [
      "timroberton/comb:wb-hmis-r-linux"
    ]
  },
  {
    "instance": "nigeria",
    "in_file": true,
    "services": [],
    "legacy": [],
    "renames": [],
    "pull": []
  }
]
`
	if got := buf.String(); got != want {
		t.Errorf("plan JSON =\n%s\nwant\n%s", got, want)
	}
}
