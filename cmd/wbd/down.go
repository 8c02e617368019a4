package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/events"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/spec"
)

func newDownCmd(g *globals) *cobra.Command {
	var f rolloutFlags
	cmd := &cobra.Command{
		Use:   "down NAME...",
		Short: "Stop instances and remove their containers, keeping their data",
		Long: `Down stops each named instance in the plan's order: app, admin, redis, then
postgres (with 30 s to shut down cleanly), and removes its containers and
network. It never deletes the instance directory, its bind-mounted data or a
volume: apply brings the instance back with its data.

A name that has left the file is taken down too, on the local engine, from
the labels wbd put on its containers; a name that is neither in the file
nor a wbd instance there is an error.`,
		Example: `  wbd down testing
  wbd down testing nigeria --keep-going`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDown(cmd.Context(), g, args, f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().IntVar(&f.parallel, "parallel", 1, "how many instances at a time")
	cmd.Flags().BoolVar(&f.keepGoing, "keep-going", false, "go on with the next instances after one fails")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the outcome as JSON")
	cmd.PreRunE = func(*cobra.Command, []string) error { return checkParallel(f.parallel) }
	return cmd
}

func runDown(ctx context.Context, g *globals, names []string, f rolloutFlags, stdout, stderr io.Writer) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	var ins []*spec.Instance
	for _, n := range names {
		in := cfg.Instance(n)
		if in == nil {
			if !spec.ValidName(n) {
				return usagef("%q is not an instance name", n)
			}
			// Gone from the file: still ours on the engine, by its labels.
			in = &spec.Instance{Name: n, Dir: filepath.Join(cfg.Root, n)}
		}
		ins = append(ins, in)
	}
	log := eventsLog(cfg.Root, "wbd down", stderr)
	es := g.progressEngines(ctx, stderr, "down")
	defer es.close()
	outs := eachInstance(ctx, ins, f.parallel, f.keepGoing, "down", func(ctx context.Context, in *spec.Instance) (string, []string, error) {
		if cfg.Instance(in.Name) == nil {
			if err := checkManaged(ctx, es, cfg, in.Name); err != nil {
				return "", nil, err
			}
		}
		start := time.Now()
		summary, warnings, err := es.locked(ctx, in, "wbd down", func(eng *lifecycle.Engine) (string, []string, error) {
			if err := eng.Down(ctx, in.Name); err != nil {
				return "", nil, err
			}
			return fmt.Sprintf("containers and network removed; data kept in %s", in.Dir), nil, nil
		})
		recordAction(log, events.Down, in, start, summary, err)
		return summary, warnings, err
	})
	es.endProgress()
	return report(stdout, stderr, "down", outs, f.asJSON)
}

// checkManaged refuses a name that is neither in the file nor a wbd
// instance on the local engine: most likely a typo, which down must not
// report as done, nor leave a directory for.
func checkManaged(ctx context.Context, es *engines, cfg *spec.Config, name string) error {
	eng, err := es.get(ctx, "")
	if err != nil {
		return err
	}
	projects, err := eng.Projects(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(projects, name) {
		return fmt.Errorf("instance %q is not in %s (it has: %s), nor a wbd instance on the local engine", name, cfg.File, strings.Join(cfg.Names(), ", "))
	}
	return nil
}
