package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/events"
	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/revision"
	"github.com/wbd-dev/wbd/spec"
)

func newEventsCmd(g *globals) *cobra.Command {
	var (
		follow bool
		asJSON bool
		tail   int
	)
	cmd := &cobra.Command{
		Use:   "events [NAME]",
		Short: "Show what was done to the instances: every apply, rollback, restart and down",
		Long: `Events lists every action taken on the instances of the file's root, by the
daemon or by a wbd command, oldest first: when, who (the daemon, or a user
and the command's pid), the instance, the action (apply, rollback,
release, restart, down), the revision it went from and to, the result (ok,
failed, rolled_back) and how long it took. An instance found as the file
says is no event.

The log is {root}/.wbd/events.jsonl, one JSON object a line; past 4 MiB it
is moved to events.jsonl.1 and starts anew. --follow waits for new events,
as tail -f does; --json prints each event as its JSON line.`,
		Example: `  wbd events
  wbd events testing --tail 5
  wbd events --follow --json | jq -c 'select(.result != "ok")'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return runEvents(cmd.Context(), g, name, follow, asJSON, tail, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVar(&follow, "follow", false, "wait for new events and print them as they come")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each event as a JSON line")
	cmd.Flags().IntVar(&tail, "tail", 0, "print only the last N events (0: all)")
	return cmd
}

func runEvents(ctx context.Context, g *globals, name string, follow, asJSON bool, tail int, stdout, stderr io.Writer) error {
	if tail < 0 {
		return usagef("--tail %d: want 0 or more", tail)
	}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	if name != "" && cfg.Instance(name) == nil && !spec.ValidName(name) {
		return usagef("%q is not an instance name", name)
	}
	f := events.Filter{Instance: name}
	warn := func(err error) { fmt.Fprintf(stderr, "wbd: warning: %v\n", err) }
	evs, err := events.Read(cfg.Root, f, warn)
	if err != nil {
		return err
	}
	if tail > 0 && len(evs) > tail {
		evs = evs[len(evs)-tail:]
	}
	p := &eventPrinter{w: stdout, asJSON: asJSON}
	if !asJSON && len(evs) == 0 && !follow {
		fmt.Fprintf(stdout, "no events yet in %s\n", events.Path(cfg.Root))
		return nil
	}
	for _, e := range evs {
		p.print(e)
	}
	p.flush()
	if !follow {
		return nil
	}
	err = events.Follow(ctx, cfg.Root, 500*time.Millisecond, f, warn, func(e events.Event) {
		p.print(e)
		p.flush()
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// eventPrinter writes events as a table whose header comes once, or as
// JSON lines.
type eventPrinter struct {
	w      io.Writer
	asJSON bool
	tw     *tabwriter.Writer
	header bool
}

func (p *eventPrinter) print(e events.Event) {
	if p.asJSON {
		data, _ := json.Marshal(e)
		fmt.Fprintf(p.w, "%s\n", data)
		return
	}
	if p.tw == nil {
		p.tw = tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	}
	if !p.header {
		p.header = true
		fmt.Fprintln(p.tw, "TIME\tINSTANCE\tACTION\tREVISION\tRESULT\tTOOK\tBY\tDETAIL")
	}
	fmt.Fprintf(p.tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format(time.DateTime), e.Instance, e.Action,
		e.Revisions(), e.Result, e.Took().Round(100*time.Millisecond), e.Actor, dash(firstLine(e.Detail)))
}

func (p *eventPrinter) flush() {
	if p.tw != nil {
		p.tw.Flush()
	}
}

// eventsLog is the events log of root for the command that runs; what
// cannot be written there is a warning on stderr.
func eventsLog(root, command string, stderr io.Writer) *events.Log {
	return events.Open(root, events.CommandActor(command), events.Options{
		Redact:  reconcile.RedactHost,
		OnError: func(err error) { fmt.Fprintf(stderr, "wbd: warning: %s\n", reconcile.RedactHost(err.Error())) },
	})
}

// recordAction records a command's action on in that began at start and
// ended with err: restart and down, which do not go through rollout. A
// command refused by the instance's lock did nothing, and is no event.
func recordAction(log *events.Log, action events.Action, in *spec.Instance, start time.Time, summary string, err error) {
	var locked *instdir.LockedError
	if errors.As(err, &locked) {
		return
	}
	rev := 0
	if h, _ := revision.Open(in.Dir).Load(); h.Current() != nil {
		rev = h.Current().Number
	}
	e := events.Event{Instance: in.Name, Action: action, From: rev, To: rev, Result: events.OK,
		Duration: time.Since(start).Seconds(), Detail: summary}
	if err != nil {
		e.Result, e.Detail = events.Failed, err.Error()
	}
	log.Record(e)
}
