package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/revision"
	"github.com/wbd-dev/wbd/spec"
)

func newHistoryCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "history NAME",
		Short: "List an instance's revisions and what became of them",
		Long: `History lists the revisions of an instance, newest first: every apply
that changed it, every rollback, with when, by whom, what changed and the
verdict: healthy, rolled back (the change failed and the instance runs an
earlier revision again), failed (it could not be undone), or pending (an
apply in progress, or killed). The current revision is marked with *.
The last 20 are kept, in {root}/NAME/.wbd/revisions. They are the root's:
when the file is invalid, those of the root its text names are shown
after a warning.`,
		Example: `  wbd history testing
  wbd history testing --json | jq '.[0].verdict'
  wbd rollback testing --to 3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runHistory(cmd.Context(), g, args[0], asJSON, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the revisions as JSON, without their projects")
	return cmd
}

func runHistory(_ context.Context, g *globals, name string, asJSON bool, stdout, stderr io.Writer) error {
	// The revisions are the root's: an invalid file does not hide them.
	cfg, root, err := g.rootToRead(stderr, "the revisions of "+name)
	if err != nil {
		return err
	}
	dir := spec.InstanceDir(root, name)
	if cfg != nil {
		ins, err := selectInstances(cfg, []string{name}, false)
		if err != nil {
			return err
		}
		dir = ins[0].Dir
	} else if !spec.ValidName(name) {
		return usagef("%q is not an instance name", name)
	}
	h, errs := revision.Open(dir).Load()
	for _, err := range errs {
		fmt.Fprintf(stderr, "wbd: warning: %s: %v\n", name, err)
	}
	if asJSON {
		out := make([]revision.Revision, len(h))
		for i, r := range h {
			r.Project = ""
			out[i] = r
		}
		return writeJSON(stdout, out)
	}
	if len(h) == 0 {
		fmt.Fprintf(stdout, "%s has no revisions yet: the first apply that changes it records one\n", name)
		return nil
	}
	cur := h.Current()
	tw := newTable(stdout)
	fmt.Fprintln(tw, "REV\tTIME\tBY\tVERDICT\tCHANGES")
	for _, r := range h {
		mark := " "
		if cur != nil && r.Number == cur.Number {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s%d\t%s\t%s\t%s\t%s\n", mark, r.Number, r.Time.Local().Format("2006-01-02 15:04:05"), r.By, verdictText(r), changesText(r))
	}
	return tw.Flush()
}

func verdictText(r revision.Revision) string {
	v := string(r.Verdict)
	switch {
	case r.Verdict == revision.RolledBack:
		v += fmt.Sprintf(" (runs %d)", r.Restored)
	case r.Pinned && !r.Released:
		v += " (pinned)"
	}
	return v
}

func changesText(r revision.Revision) string {
	what := r.Changes
	switch r.Cause {
	case revision.CauseRollback:
		what = fmt.Sprintf("rollback to %d: %s", r.Restored, what)
	case revision.CauseBaseline:
		what = "found running: " + what
	}
	if r.Reason != "" {
		what += " — " + r.Reason
	}
	return strings.TrimSpace(what)
}
