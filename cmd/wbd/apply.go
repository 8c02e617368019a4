package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/render"
	"github.com/wbd-dev/wbd/spec"
)

// rolloutFlags are shared by the commands that act on several instances.
type rolloutFlags struct {
	all       bool
	parallel  int
	keepGoing bool
	timeout   time.Duration
	asJSON    bool
}

func (f *rolloutFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.all, "all", false, "every instance in the file, in file order (also written @all)")
	cmd.Flags().IntVar(&f.parallel, "parallel", 1, "how many instances at a time")
	cmd.Flags().BoolVar(&f.keepGoing, "keep-going", false, "go on with the next instances after one fails")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long an instance may take to be running and healthy")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the outcome as JSON")
	cmd.PreRunE = func(*cobra.Command, []string) error {
		if f.timeout <= 0 {
			return usagef("--timeout %s: want a positive duration", f.timeout)
		}
		return checkParallel(f.parallel)
	}
}

// checkParallel refuses a --parallel that would silently mean another.
func checkParallel(n int) error {
	if n < 1 {
		return usagef("--parallel %d: want at least 1", n)
	}
	return nil
}

func newApplyCmd(g *globals) *cobra.Command {
	var (
		f     rolloutFlags
		adopt bool
	)
	cmd := &cobra.Command{
		Use:   "apply NAME...|--all",
		Short: "Bring instances to what the file says",
		Long: `Apply makes each named instance what instances.yaml says. It creates the
instance directory and its missing subdirectories (databases, sandbox,
exports, assets, redis) and secrets, writes the rendered compose.yaml there,
and converges the compose project: services whose configuration changed are
recreated, the others are not touched, so a new app image replaces the app
container while postgres and redis keep running. An instance is done when
its containers run and are healthy.

Redis failing to start is a warning, not a failure: the app falls back to
the database without its cache.

With several instances (or --all) it is a rollout: instances go in file
order, --parallel at a time, and the rollout stops at the first failure
unless --keep-going; the summary names the failed and the untouched ones.

Containers left by the imperative wb CLI (NAME, NAME-postgres, NAME-redis,
NAME-admin without compose labels) make apply refuse; --adopt stops and
removes them (their data stays in the instance directory) and starts the
compose project in their place.`,
		Example: `  wbd apply testing
  wbd apply --all --parallel 2 --keep-going
  wbd apply --adopt nigeria       # hand over an instance the old CLI started`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApply(cmd.Context(), g, args, f, adopt, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&adopt, "adopt", false, "replace containers of the old imperative CLI with the compose project")
	return cmd
}

func runApply(ctx context.Context, g *globals, names []string, f rolloutFlags, adopt bool, stdout, stderr io.Writer) error {
	_, ins, results, err := g.loadAndRender(ctx, names, f.all)
	if err != nil {
		return err
	}
	es := newEngines(stderr)
	defer es.close()
	opts := lifecycle.ApplyOptions{Adopt: adopt, WaitTimeout: f.timeout}
	outs := rollout(ctx, ins, f.parallel, f.keepGoing, "applied", func(ctx context.Context, in *spec.Instance) (string, []string, error) {
		return applyInstance(ctx, es, in, results[in.Name], opts)
	})
	return report(stdout, stderr, "apply", outs, f.asJSON)
}

// applyInstance is apply for one instance: prepare its directory, write its
// compose file, converge it, all under the instance's lock.
func applyInstance(ctx context.Context, es *engines, in *spec.Instance, res *render.Result, opts lifecycle.ApplyOptions) (string, []string, error) {
	return es.locked(ctx, in, "wbd apply", func(eng *lifecycle.Engine) (string, []string, error) {
		files, err := eng.Files(ctx, filepath.Dir(in.Dir))
		if err != nil {
			return "", nil, err
		}
		if err := instdir.Prepare(ctx, files, in); err != nil {
			return "", nil, err
		}
		if err := instdir.WriteFile(in.Path(instdir.ComposeFile), res.YAML, 0o644); err != nil {
			return "", nil, err
		}
		rep, err := eng.Apply(ctx, res.Project, opts)
		return rep.Summary(), rep.Warnings, err
	})
}

// report prints a rollout's warnings and errors on stderr and its summary
// on stdout (or JSON), and returns an error when an instance failed.
func report(stdout, stderr io.Writer, verb string, outs []outcome, asJSON bool) error {
	for _, o := range outs {
		for _, w := range o.Warnings {
			fmt.Fprintf(stderr, "wbd: warning: %s: %s\n", o.Instance, w)
		}
		if o.Error != "" {
			fmt.Fprintf(stderr, "wbd: %s: %s\n", o.Instance, o.Error)
		}
	}
	if asJSON {
		if err := writeJSON(stdout, outs); err != nil {
			return err
		}
		return printOutcomes(io.Discard, verb, outs)
	}
	return printOutcomes(stdout, verb, outs)
}

// loadAndRender loads the file, selects instances and renders them all
// before anything is touched, so a template error stops the command early.
func (g *globals) loadAndRender(ctx context.Context, names []string, all bool) (*spec.Config, []*spec.Instance, map[string]*render.Result, error) {
	cfg, err := g.load()
	if err != nil {
		return nil, nil, nil, err
	}
	ins, err := selectInstances(cfg, names, all)
	if err != nil {
		return nil, nil, nil, err
	}
	results, err := renderInstances(ctx, cfg, ins)
	if err != nil {
		return nil, nil, nil, err
	}
	byName := map[string]*render.Result{}
	for i, res := range results {
		byName[ins[i].Name] = res
	}
	return cfg, ins, byName, nil
}
