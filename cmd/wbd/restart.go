package main

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/events"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/spec"
)

func newRestartCmd(g *globals) *cobra.Command {
	var f rolloutFlags
	cmd := &cobra.Command{
		Use:   "restart NAME...|--all",
		Short: "Stop instances in order, then start them again",
		Long: `Restart stops each named instance as down does (app, admin, redis, then
postgres) and starts the same containers again, waiting until they run and
are healthy. Nothing is recreated: to change an instance, edit the file and
apply. With redis's cache on disk, the app comes back warm.`,
		Example: `  wbd restart testing
  wbd restart --all --parallel 2`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRestart(cmd.Context(), g, args, f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.register(cmd)
	return cmd
}

func runRestart(ctx context.Context, g *globals, names []string, f rolloutFlags, stdout, stderr io.Writer) error {
	cfg, ins, results, err := g.loadAndRender(ctx, names, f.all)
	if err != nil {
		return err
	}
	log := eventsLog(cfg.Root, "wbd restart", stderr)
	es := g.progressEngines(ctx, stderr, "restart")
	defer es.close()
	outs := eachInstance(ctx, ins, f.parallel, f.keepGoing, "restarted", func(ctx context.Context, in *spec.Instance) (string, []string, error) {
		start := time.Now()
		summary, warnings, err := es.locked(ctx, in, "wbd restart", func(eng *lifecycle.Engine) (string, []string, error) {
			ctx, cancel := context.WithTimeout(ctx, f.timeout)
			defer cancel()
			rep, err := eng.Restart(ctx, results[in.Name].Project)
			var services []string
			for _, s := range rep.Services {
				services = append(services, s.Service)
			}
			return "stopped in order and started: " + strings.Join(services, ", "), rep.Warnings, err
		})
		recordAction(log, events.Restart, in, start, summary, err)
		return summary, warnings, err
	})
	es.endProgress()
	return report(stdout, stderr, "restart", outs, f.asJSON)
}
