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
old imperative CLI that stand in the way (see apply --adopt). Environment
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
	var errs []error
	for _, in := range ins {
		eng, err := es.get(ctx, in.Host)
		if err == nil {
			var p lifecycle.Plan
			if p, err = eng.Plan(ctx, results[in.Name].Project); err == nil {
				plans = append(plans, p)
				continue
			}
		}
		errs = append(errs, fmt.Errorf("%s: %w", in.Name, err))
	}
	if asJSON {
		if plans == nil {
			plans = []lifecycle.Plan{}
		}
		if err := writeJSON(stdout, plans); err != nil {
			return err
		}
	} else {
		printPlans(stdout, plans)
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
	}
	tw.Flush()
}
