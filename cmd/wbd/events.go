package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

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
as tail -f does; --json prints each event as its JSON line. The log is the
root's: when the file is invalid, the events of the root it names are
shown after a warning.`,
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
	warn := func(err error) { fmt.Fprintf(stderr, "wbd: warning: %v\n", err) }
	// The log is the root's, not the file's as it is now.
	cfg, root, err := g.rootToRead(stderr, "the events")
	if err != nil {
		return err
	}
	if name != "" && !spec.ValidName(name) && (cfg == nil || cfg.Instance(name) == nil) {
		return usagef("%q is not an instance name", name)
	}
	f := events.Filter{Instance: name}
	evs, err := events.Read(root, f, warn)
	if err != nil {
		return err
	}
	if tail > 0 && len(evs) > tail {
		evs = evs[len(evs)-tail:]
	}
	p := newEventPrinter(stdout, asJSON, cfg)
	if !asJSON && len(evs) == 0 && !follow {
		of := ""
		if name != "" {
			of = " of " + name
		}
		fmt.Fprintf(stdout, "no events%s yet in %s\n", of, events.Path(root))
		return nil
	}
	for _, e := range evs {
		p.print(e)
	}
	p.flush()
	if !follow {
		return nil
	}
	err = events.Follow(ctx, root, 500*time.Millisecond, f, warn, func(e events.Event) {
		p.print(e)
		p.flush()
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// eventPrinter writes events as a table whose header comes once, or as
// JSON lines. Its columns keep the widths of the lines printed before, and
// start as wide as the longest action, result and instance name of the
// file, so that what --follow prints later lines up with them; a wider
// cell widens its column from there on.
type eventPrinter struct {
	w      io.Writer
	asJSON bool
	rows   [][]string // not printed yet
	widths []int      // of every column but the last, as printed so far
	header bool
}

var eventColumns = []string{"TIME", "INSTANCE", "ACTION", "REVISION", "RESULT", "TOOK", "BY", "DETAIL"}

func newEventPrinter(w io.Writer, asJSON bool, cfg *spec.Config) *eventPrinter {
	p := &eventPrinter{w: w, asJSON: asJSON, widths: make([]int, len(eventColumns)-1)}
	p.widths[2] = len(events.Rollback)
	p.widths[4] = len(events.RolledBack)
	if cfg != nil {
		for _, in := range cfg.Instances {
			p.widths[1] = max(p.widths[1], len(in.Name))
		}
	}
	return p
}

func (p *eventPrinter) print(e events.Event) {
	if p.asJSON {
		data, _ := json.Marshal(e)
		fmt.Fprintf(p.w, "%s\n", data)
		return
	}
	if !p.header {
		p.header = true
		p.rows = append(p.rows, eventColumns)
	}
	p.rows = append(p.rows, []string{e.Time.Local().Format(time.DateTime), e.Instance, string(e.Action),
		e.Revisions(), string(e.Result), e.Took().Round(100 * time.Millisecond).String(), e.Actor.String(), dash(firstLine(e.Detail))})
}

// flush prints the rows held, two spaces between columns.
func (p *eventPrinter) flush() {
	for _, row := range p.rows {
		for i, cell := range row[:len(row)-1] {
			p.widths[i] = max(p.widths[i], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	for _, row := range p.rows {
		for i, cell := range row[:len(row)-1] {
			b.WriteString(cell)
			b.WriteString(strings.Repeat(" ", p.widths[i]-utf8.RuneCountInString(cell)+2))
		}
		b.WriteString(row[len(row)-1])
		b.WriteByte('\n')
	}
	io.WriteString(p.w, b.String())
	p.rows = p.rows[:0]
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
