package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/spec"
)

func newPlanCmd(g *globals) *cobra.Command {
	var (
		all      bool
		asJSON   bool
		exitCode bool
	)
	cmd := &cobra.Command{
		Use:   "plan [NAME...|--all]",
		Short: "Show what apply would do, changing nothing",
		Long: `Plan compares each named instance as the file renders it with what its
Docker engine runs, and says per service what apply would do: create,
recreate (and which settings changed: image, environment, mounts, command,
ports, ...), start, unchanged or remove. It also lists containers of the
old imperative CLI that stand in the way (see apply --adopt), and
containers an interrupted recreate left under a temporary name, which apply
renames. Environment values are never shown, only the names of the
variables that differ.

Without a name (or with --all) it plans every instance of the file, and
also shows what wbd run would take down: the instances of this file's root
that the engines of its hosts still run but the file no longer lists (wbd
apply leaves them; wbd down NAME takes one down by hand). Their data stays
on disk either way.

With --exit-code the exit code says whether anything is to be done, as
terraform plan -detailed-exitcode: 0 nothing, 2 changes pending, 1 an
error (a usage error too). An instance pinned by wbd rollback, or whose
spec is held after a rollback, counts as nothing to do: apply leaves it.`,
		Example: `  wbd plan
  wbd plan testing
  wbd plan --exit-code >/dev/null || echo "exit $?: 2 means changes are pending"
  wbd plan --json | jq '.[].services[] | select(.action != "unchanged")'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			pending, err := runPlan(cmd.Context(), g, args, all || len(args) == 0, asJSON, cmd.OutOrStdout())
			var ue usageError
			switch {
			case err != nil && exitCode && errors.As(err, &ue):
				return ue.error // 1, not the usage code 2, which means changes here
			case err != nil:
				return err
			case pending && exitCode:
				return exitCodeError{2}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "every instance in the file (also written @all); the default without a name")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plans as JSON")
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit 0 when nothing is to be done, 2 when changes are pending, 1 on error")
	cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if on, _ := cmd.Flags().GetBool("exit-code"); on {
			return err // 1, not the usage code 2, which means changes here
		}
		return usageError{err}
	})
	return cmd
}

// exitCodeError ends wbd with code, and prints nothing more.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// instancePlan is one instance's plan with what the history says of it.
type instancePlan struct {
	lifecycle.Plan
	rev revState
	// left: the instance is not in the file; the daemon takes it down,
	// with its network when it has one.
	left, network bool
	dir           string
}

// pending reports whether apply, or the daemon, would change something.
func (p instancePlan) pending() bool {
	if p.rev.Pinned || p.rev.RolledBack != "" {
		return false // apply leaves it at its revision
	}
	return p.left || !p.Empty()
}

// runPlan prints the plans of names (every instance with all, and the
// instances the file left), and reports whether one of them has something
// to do.
func runPlan(ctx context.Context, g *globals, names []string, all, asJSON bool, stdout io.Writer) (pending bool, err error) {
	cfg, ins, results, err := g.loadAndRender(ctx, names, all)
	if err != nil {
		return false, err
	}
	es := newEngines(io.Discard)
	defer es.close()
	var (
		plans []instancePlan
		errs  []error
	)
	for _, in := range ins {
		eng, err := es.get(ctx, in.Host)
		if err == nil {
			var p lifecycle.Plan
			if p, err = eng.Plan(ctx, results[in.Name].Project); err == nil {
				plans = append(plans, instancePlan{Plan: p, rev: revisionsOf(in, results[in.Name]), dir: in.Dir})
				continue
			}
		}
		errs = append(errs, fmt.Errorf("%s: %w", in.Name, err))
	}
	if all {
		left, err := leftovers(ctx, es, cfg)
		plans = append(plans, left...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if asJSON {
		out := make([]planJSON, len(plans))
		for i, p := range plans {
			out[i] = toPlanJSON(p.Plan)
			out[i].revState = p.rev
			out[i].InFile = !p.left
			if p.left && p.network {
				out[i].Services = append(out[i].Services, servicePlanJSON{Service: "-", Container: "network " + p.Instance, Action: string(lifecycle.ActionRemove), Changes: []changeJSON{}})
			}
		}
		if err := writeJSON(stdout, out); err != nil {
			return false, err
		}
	} else {
		printPlans(stdout, plans)
	}
	return slices.ContainsFunc(plans, instancePlan.pending), errors.Join(errs...)
}

// leftovers plans the taking down of what the daemon of cfg would take
// down: on the engine of each host of the file, the projects of cfg's
// root that the file does not want there.
func leftovers(ctx context.Context, es *engines, cfg *spec.Config) ([]instancePlan, error) {
	var hosts []string
	for _, in := range cfg.Instances {
		if h := reconcile.HostKey(in.Host); !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	addrOf := func(host string) (string, bool) {
		eng, err := es.get(ctx, host)
		if err != nil {
			return "", false
		}
		return eng.Host(), true
	}
	var (
		out  []instancePlan
		errs []error
	)
	for _, host := range hosts {
		eng, err := es.get(ctx, host)
		if err != nil {
			continue // its instances' plans say so
		}
		inv, err := eng.Inventory(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", hostName(host), err))
			continue
		}
		for _, p := range inv {
			if !reconcile.Owns(cfg.Root, p) || reconcile.Wanted(cfg, host, eng.Host(), p.Name, addrOf) {
				continue
			}
			// Planned as a project without services: every container
			// it has is removed, in the order down stops them.
			dir := filepath.Join(cfg.Root, p.Name)
			plan, err := eng.Plan(ctx, &types.Project{Name: p.Name, WorkingDir: dir})
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
				continue
			}
			plan.Legacy, plan.Renames = nil, nil // down leaves those alone
			out = append(out, instancePlan{Plan: plan, left: true, network: p.Networks > 0, dir: dir})
		}
	}
	return out, errors.Join(errs...)
}

func printPlans(w io.Writer, plans []instancePlan) {
	tw := newTable(w)
	fmt.Fprintln(tw, "INSTANCE\tSERVICE\tCONTAINER\tACTION\tWHY")
	for _, p := range plans {
		if p.left {
			for _, s := range p.Services {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\tnot in the file: wbd run takes the instance down\n", p.Instance, s.Service, s.Container, s.Action)
			}
			if p.network {
				fmt.Fprintf(tw, "%s\t-\tnetwork %s\t%s\tnot in the file: wbd run takes the instance down\n", p.Instance, p.Instance, lifecycle.ActionRemove)
			}
			continue
		}
		for _, s := range p.Services {
			var why []string
			for _, c := range s.Changes {
				why = append(why, c.String())
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Instance, s.Service, s.Container, s.Action, strings.Join(why, "; "))
		}
		for _, img := range p.Pull {
			fmt.Fprintf(tw, "%s\t-\timage %s\tpull\tnot on the engine: apply pulls it, no container runs it\n", p.Instance, img)
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
	for _, p := range plans {
		switch {
		case p.left:
			fmt.Fprintf(w, "%s: not in the file; wbd run takes it down (wbd apply leaves it, wbd down %s does it now); its data stays in %s\n", p.Instance, p.Instance, p.dir)
		case p.rev.note(p.Instance) != "":
			fmt.Fprintln(w, p.rev.note(p.Instance)+": apply leaves it so")
		}
	}
}

// planJSON is a plan as `wbd plan --json` prints it: lower-case keys, as
// every --json output of wbd, and lists that are never null.
type planJSON struct {
	Instance string `json:"instance"`
	// InFile is false for an instance the file no longer lists, which
	// the daemon takes down: every service is then "remove".
	InFile bool `json:"in_file"`
	revState
	Services []servicePlanJSON `json:"services"`
	Legacy   []containerJSON   `json:"legacy"`
	Renames  []renameJSON      `json:"renames"`
	// Pull lists the images of the instance's pull list the engine
	// lacks, which apply pulls.
	Pull []string `json:"pull"`
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
	out := planJSON{Instance: p.Instance, InFile: true, Services: []servicePlanJSON{}, Legacy: []containerJSON{}, Renames: []renameJSON{}, Pull: []string{}}
	out.Pull = append(out.Pull, p.Pull...)
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
