package main

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/lifecycle"
)

// ANSI modes of --ansi, with docker compose's meanings.
const (
	ansiAuto   = "auto"
	ansiNever  = "never"
	ansiAlways = "always"
)

var ansiModes = []string{ansiAuto, ansiNever, ansiAlways}

// outputFlags are --ansi and --progress, which every command takes, as
// docker compose's do: before or after the command name.
type outputFlags struct {
	ansi, progress string
	// resolved by resolve, before any command runs
	out output
}

// output is what the flags and NO_COLOR make of wbd's output.
type output struct {
	// progress is the display's mode; auto decides on stderr's terminal.
	progress string
	// color of the terminal display, off with NO_COLOR.
	color bool
	// logColor colors the prefixes of log lines; nil: on a terminal.
	logColor *bool
}

func (o *outputFlags) register(root *cobra.Command) {
	flags := root.PersistentFlags()
	flags.StringVar(&o.ansi, "ansi", envOr("WBD_ANSI", ansiAuto),
		`when to print ANSI control characters: `+strings.Join(ansiModes, ", ")+` (env WBD_ANSI; NO_COLOR turns colors off)`)
	flags.StringVar(&o.progress, "progress", envOr("WBD_PROGRESS", lifecycle.ProgressAuto),
		"how to show progress on stderr: "+strings.Join(lifecycle.ProgressModes, ", ")+" (env WBD_PROGRESS)")
	_ = root.RegisterFlagCompletionFunc("ansi", cobra.FixedCompletions(ansiModes, cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("progress", cobra.FixedCompletions(lifecycle.ProgressModes, cobra.ShellCompDirectiveNoFileComp))
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// resolve checks the flags against each other, as docker compose does,
// and keeps what they mean. noColor is NO_COLOR's being set and not empty
// (no-color.org): it turns colors off, whatever --ansi says, and leaves
// the terminal display redrawing in place.
func (o *outputFlags) resolve(noColor bool) error {
	out := output{progress: o.progress, color: !noColor}
	switch o.ansi {
	case ansiAuto:
	case ansiNever:
		out.logColor = new(bool)
	case ansiAlways:
		out.logColor = new(true)
	default:
		return usagef("--ansi %q: want %s", o.ansi, orList(ansiModes))
	}
	switch o.progress {
	case lifecycle.ProgressAuto:
		if o.ansi == ansiNever {
			out.progress = lifecycle.ProgressPlain
		}
	case lifecycle.ProgressTTY:
		if o.ansi == ansiNever {
			return usagef("--progress tty redraws with ANSI control characters, which --ansi never turns off")
		}
	case lifecycle.ProgressPlain:
		if o.ansi == ansiAlways {
			return usagef("--progress plain prints no ANSI control characters, which --ansi always forces")
		}
	case lifecycle.ProgressJSON, lifecycle.ProgressQuiet:
	default:
		return usagef("--progress %q: want %s", o.progress, orList(lifecycle.ProgressModes))
	}
	if noColor {
		out.logColor = new(bool)
	}
	o.out = out
	return nil
}

func orList(s []string) string {
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// progressEngines is newEngines for a command that changes instances:
// their progress goes to stderr, all of it through one display titled
// operation, which lasts until endProgress.
func (g *globals) progressEngines(ctx context.Context, stderr io.Writer, operation string) *engines {
	es := newEngines(stderr)
	es.color = g.output.out.logColor
	d, err := lifecycle.NewDisplay(stderr, g.output.out.progress, g.output.out.color)
	if err != nil {
		// resolve let no other mode through
		panic(err)
	}
	d.Begin(ctx, operation)
	es.display = d
	return es
}
