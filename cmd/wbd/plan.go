package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/lifecycle"
)

func newPlanCmd(g *globals) *cobra.Command {
	var (
		all    bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "plan NAME...|--all",
		Short: "Show what apply would do, changing nothing",
		Long: `Plan compares each named instance as the file renders it with what its
Docker engine runs, and says per service what apply would do: create,
recreate (and which settings changed: image, environment, mounts, command,
ports, ...), start, unchanged or remove. It also lists containers of the
old imperative CLI that stand in the way (see apply --adopt), and
containers an interrupted recreate left under a temporary name, which apply
renames. Environment
values are never shown, only the names of the variables that differ.`,
		Example: `  wbd plan testing
  wbd plan --all --json | jq '.[].services[] | select(.action != "unchanged")'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlan(cmd.Context(), g, args, all, asJSON, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "every instance in the file (also written @all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plans as JSON")
	return cmd
}

func runPlan(ctx context.Context, g *globals, names []string, all, asJSON bool, stdout, stderr io.Writer) error {
	_, ins, results, err := g.loadAndRender(ctx, names, all)
	if err != nil {
		return err
	}
	es := newEngines(io.Discard)
	defer es.close()
	var plans []lifecycle.Plan
	var (
		errs []error
		revs []revState
	)
	for _, in := range ins {
		eng, err := es.get(ctx, in.Host)
		if err == nil {
			var p lifecycle.Plan
			if p, err = eng.Plan(ctx, results[in.Name].Project); err == nil {
				plans = append(plans, p)
				revs = append(revs, revisionsOf(in, results[in.Name]))
				continue
			}
		}
		errs = append(errs, fmt.Errorf("%s: %w", in.Name, err))
	}
	if asJSON {
		out := make([]planJSON, len(plans))
		for i, p := range plans {
			out[i] = toPlanJSON(p)
			out[i].revState = revs[i]
		}
		if err := writeJSON(stdout, out); err != nil {
			return err
		}
	} else {
		printPlans(stdout, plans)
		for i, p := range plans {
			if n := revs[i].note(p.Instance); n != "" {
				fmt.Fprintln(stdout, n+": apply leaves it so")
			}
		}
	}
	return errors.Join(errs...)
}

func printPlans(w io.Writer, plans []lifecycle.Plan) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tSERVICE\tCONTAINER\tACTION\tWHY")
	for _, p := range plans {
		for _, s := range p.Services {
			var why []string
			for _, c := range s.Changes {
				why = append(why, c.String())
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Instance, s.Service, s.Container, s.Action, strings.Join(why, "; "))
		}
		for _, c := range p.Legacy {
			fmt.Fprintf(tw, "%s\t-\t%s\tin the way\tlegacy container without compose labels: wbd apply --adopt %s\n", p.Instance, c.Name, p.Instance)
		}
		for _, m := range p.Renames {
			if m.Overlap {
				fmt.Fprintf(tw, "%s\t%s\t%s\tsettle\tstarted beside %s by an interrupted start-first rollout: the one the edge sends requests to stays, the other is removed\n", p.Instance, m.Service, m.Name, m.Want)
				continue
			}
			if m.Unstarted {
				fmt.Fprintf(tw, "%s\t%s\t%s\tremove\tnever started by an interrupted recreate; %s still runs\n", p.Instance, m.Service, m.Name, m.Want)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\trename\tto %s: left so by an interrupted recreate\n", p.Instance, m.Service, m.Name, m.Want)
		}
	}
	tw.Flush()
}

// planJSON is a plan as `wbd plan --json` prints it: lower-case keys, as
// every --json output of wbd, and lists that are never null.
type planJSON struct {
	Instance string `json:"instance"`
	revState
	Services []servicePlanJSON `json:"services"`
	Legacy   []containerJSON   `json:"legacy"`
	Renames  []renameJSON      `json:"renames"`
}

type servicePlanJSON struct {
	Service   string       `json:"service"`
	Container string       `json:"container"`
	Action    string       `json:"action"`
	Changes   []changeJSON `json:"changes"`
}

type changeJSON struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

type containerJSON struct {
	Name  string `json:"name"`
	ID    string `json:"id"`
	Image string `json:"image"`
	State string `json:"state"`
}

type renameJSON struct {
	Service string `json:"service"`
	From    string `json:"from"`
	To      string `json:"to"`
	ID      string `json:"id"`
	// Remove: the container never started beside the one it was to
	// replace, and apply removes it instead.
	Remove bool `json:"remove,omitempty"`
	// Overlap: both it and the container holding To started, in a
	// start-first rollout cut short; apply keeps the one the edge sends
	// requests to and removes the other.
	Overlap bool `json:"overlap,omitempty"`
}

func toPlanJSON(p lifecycle.Plan) planJSON {
	out := planJSON{Instance: p.Instance, Services: []servicePlanJSON{}, Legacy: []containerJSON{}, Renames: []renameJSON{}}
	for _, s := range p.Services {
		sp := servicePlanJSON{Service: s.Service, Container: s.Container, Action: string(s.Action), Changes: []changeJSON{}}
		for _, c := range s.Changes {
			sp.Changes = append(sp.Changes, changeJSON{Field: c.Field, Detail: c.Detail})
		}
		out.Services = append(out.Services, sp)
	}
	for _, c := range p.Legacy {
		out.Legacy = append(out.Legacy, containerJSON{Name: c.Name, ID: c.ID, Image: c.Image, State: c.State})
	}
	for _, m := range p.Renames {
		out.Renames = append(out.Renames, renameJSON{Service: m.Service, From: m.Name, To: m.Want, ID: m.ID, Remove: m.Unstarted, Overlap: m.Overlap})
	}
	return out
}
