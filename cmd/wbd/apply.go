package main

import (
	"context"
	"fmt"
	"io"
	"os/user"
	"runtime"
	"time"

	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/render"
	"github.com/wbd-dev/wbd/rollout"
	"github.com/wbd-dev/wbd/spec"
)

// defaultTimeout bounds how long an instance may take to be running and
// healthy.
const defaultTimeout = 5 * time.Minute

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
	cmd.Flags().DurationVar(&f.timeout, "timeout", defaultTimeout, "how long an instance may take to be running and healthy")
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
		f           rolloutFlags
		adopt       bool
		retryFailed bool
		steady      time.Duration
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
its containers run and are healthy, and those it started kept running for
--steady.

Every change is recorded as a revision (wbd history NAME). A change that
fails after a container was touched (a container does not start, exits or
restarts within --steady, or is not healthy within --timeout) is rolled
back: the last healthy revision is applied again, only the services that
changed are recreated, and apply exits with code 3. What can be checked
before touching a container (the images, the project, the published ports)
fails with code 1 and changes nothing. A spec that was rolled back is held:
apply leaves the instance at its restored revision until the file changes,
or --retry-failed. An instance that wbd rollback pinned stays pinned until
its part of the file changes or wbd rollback --release.

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
  wbd apply testing --retry-failed  # try again a change that was rolled back
  wbd apply --adopt nigeria         # hand over an instance the old CLI started`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := rollout.Options{
				By:          "wbd apply" + byUser(),
				Apply:       lifecycle.ApplyOptions{Adopt: adopt, WaitTimeout: f.timeout, Steady: steady},
				RetryFailed: retryFailed,
			}
			return runApply(cmd.Context(), g, args, f, opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&adopt, "adopt", false, "replace containers of the old imperative CLI with the compose project")
	cmd.Flags().BoolVar(&retryFailed, "retry-failed", false, "apply a spec again even though it was rolled back")
	cmd.Flags().DurationVar(&steady, "steady", lifecycle.DefaultSteady, "how long started containers must keep running for a change to count as healthy")
	return cmd
}

func runApply(ctx context.Context, g *globals, names []string, f rolloutFlags, opts rollout.Options, stdout, stderr io.Writer) error {
	cfg, ins, results, err := g.loadAndRender(ctx, names, f.all)
	if err != nil {
		return err
	}
	opts.Events = eventsLog(cfg.Root, "wbd apply", stderr)
	es := g.progressEngines(ctx, stderr, "apply")
	defer es.close()
	step := func(ctx context.Context, in *spec.Instance) (string, []string, error) {
		eng, err := es.get(ctx, in.Host)
		if err != nil {
			return "", nil, err
		}
		out, err := rollout.Apply(ctx, eng, in, results[in.Name], opts)
		return out.Summary, out.Warnings, err
	}
	if len(ins) == 1 {
		outs := eachInstance(ctx, ins, f.parallel, f.keepGoing, "applied", step)
		es.endProgress()
		return report(stdout, stderr, "apply", outs, f.asJSON)
	}
	// Most of a rollout is usually unchanged: those instances are checked
	// all at once, the changes made in file order.
	check := func(ctx context.Context, in *spec.Instance) (string, []string, bool, error) {
		eng, err := es.get(ctx, in.Host)
		if err != nil {
			return "", nil, false, err
		}
		only := opts
		only.OnlyUnchanged = true
		if snap, err := es.snapshot(ctx, in.Host, eng); err == nil {
			if plan, err := eng.PlanIn(ctx, snap, results[in.Name].Project); err == nil {
				only.Planned = &plan
			}
		}
		out, err := rollout.Apply(ctx, eng, in, results[in.Name], only)
		if err == nil && out.Result == rollout.Deferred {
			return "", nil, true, nil
		}
		return out.Summary, out.Warnings, false, err
	}
	checks := max(f.parallel, 2*runtime.GOMAXPROCS(0))
	outs := eachChanged(ctx, ins, checks, f.parallel, f.keepGoing, "applied", check, step)
	es.endProgress()
	return report(stdout, stderr, "apply", outs, f.asJSON)
}

// byUser names the user running a command, for the history.
func byUser() string {
	if u, err := user.Current(); err == nil {
		return " (" + u.Username + ")"
	}
	return ""
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
	list, done := engineNetworks()
	defer done()
	results, err := renderOn(ctx, cfg, ins, list)
	if err != nil {
		return nil, nil, nil, err
	}
	byName := map[string]*render.Result{}
	for i, res := range results {
		byName[ins[i].Name] = res
	}
	return cfg, ins, byName, nil
}
