package main

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/rollout"
	"github.com/wbd-dev/wbd/spec"
)

func newRollbackCmd(g *globals) *cobra.Command {
	var (
		to      int
		release bool
		timeout time.Duration
		steady  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "rollback NAME [--to REV] | NAME --release",
		Short: "Go back to an earlier revision of an instance, on purpose",
		Long: `Rollback applies an earlier revision of an instance (wbd history NAME
lists them): by default the newest healthy revision before the one it runs;
--to REV names one, even one that was rolled back. Only the services that
differ are recreated; data is never touched. If the rollback itself fails,
it is undone like any change (exit 3).

The file still says otherwise, so the instance is pinned: wbd apply and the
daemon leave it at that revision (status and plan say so) until the
instance's part of the file changes, or until --release, which ends the pin
and applies the file again.`,
		Example: `  wbd rollback testing            # the previous healthy revision
  wbd rollback testing --to 3
  wbd rollback testing --release  # back to what the file says`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(*cobra.Command, []string) error {
			if release && to != 0 {
				return usagef("--to and --release: give one")
			}
			if to < 0 {
				return usagef("--to %d: want a revision number from wbd history", to)
			}
			if timeout <= 0 {
				return usagef("--timeout %s: want a positive duration", timeout)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := rollout.Options{By: "wbd rollback" + byUser(), Apply: lifecycle.ApplyOptions{WaitTimeout: timeout, Steady: steady}}
			return runRollback(cmd.Context(), g, args[0], to, release, opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().IntVar(&to, "to", 0, "the revision to go back to (default: the previous healthy one)")
	cmd.Flags().BoolVar(&release, "release", false, "end the pin and apply what the file says")
	cmd.Flags().DurationVar(&timeout, "timeout", defaultTimeout, "how long the instance may take to be running and healthy")
	cmd.Flags().DurationVar(&steady, "steady", lifecycle.DefaultSteady, "how long started containers must keep running")
	return cmd
}

func runRollback(ctx context.Context, g *globals, name string, to int, release bool, opts rollout.Options, stdout, stderr io.Writer) error {
	cfg, ins, results, err := g.loadAndRender(ctx, []string{name}, false)
	if err != nil {
		return err
	}
	opts.Events = eventsLog(cfg.Root, "wbd rollback", stderr)
	es := g.progressEngines(ctx, stderr, "rollback")
	defer es.close()
	verb := "pinned"
	if release {
		verb = "released"
	}
	outs := eachInstance(ctx, ins, 1, false, verb, func(ctx context.Context, in *spec.Instance) (string, []string, error) {
		eng, err := es.get(ctx, in.Host)
		if err != nil {
			return "", nil, err
		}
		var out rollout.Outcome
		if release {
			out, err = rollout.Release(ctx, eng, in, results[in.Name], opts)
		} else {
			out, err = rollout.Rollback(ctx, eng, in, results[in.Name], to, opts)
		}
		return out.Summary, out.Warnings, err
	})
	es.endProgress()
	return report(stdout, stderr, "rollback", outs, false)
}
