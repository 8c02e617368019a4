package lifecycle

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/docker/cli/cli/streams"
	"github.com/docker/compose/v5/cmd/display"
	"github.com/docker/compose/v5/pkg/api"
)

// Progress modes, with docker compose's --progress meanings.
const (
	// ProgressAuto is ProgressTTY on a terminal, ProgressPlain otherwise.
	ProgressAuto = "auto"
	// ProgressTTY redraws one block in place, a line per resource.
	ProgressTTY = "tty"
	// ProgressPlain writes a line per event.
	ProgressPlain = "plain"
	// ProgressJSON writes a JSON object per event, one a line.
	ProgressJSON = "json"
	// ProgressQuiet writes nothing.
	ProgressQuiet = "quiet"
)

// ProgressModes lists the modes NewDisplay accepts.
var ProgressModes = []string{ProgressAuto, ProgressTTY, ProgressPlain, ProgressJSON, ProgressQuiet}

// Display is the one progress display of a command: every engine the
// command connects and every instance it works on at once report to it,
// so that parallel work on a terminal is one block redrawn in place (each
// container a line of its own, named for its instance) instead of one
// redrawing block per instance, each writing over the others. Begin and
// End bracket the command; the steps of each instance report within.
//
// Compose's own steps open and close an operation on their event
// processor each; on a Display those brackets do nothing, since one
// instance's step ending must not end the block another still draws.
type Display struct {
	mu    sync.Mutex
	out   io.Writer
	inner api.EventProcessor
	open  bool
}

// NewDisplay returns a display of mode (one of ProgressModes) on w.
// Without color, the terminal block draws no colors (NO_COLOR), which
// holds for every display of the process: compose keeps its colors in
// package variables.
func NewDisplay(w io.Writer, mode string, color bool) (*Display, error) {
	if mode == ProgressAuto {
		mode = ProgressPlain
		if streams.NewOut(w).IsTerminal() {
			mode = ProgressTTY
		}
	}
	d := &Display{out: w}
	switch mode {
	case ProgressTTY:
		if !color {
			display.NoColor()
		}
		// Detached: compose hides the Started lines of an attached up,
		// which streams logs below; wbd streams none.
		d.inner = display.Full(w, w, true)
	case ProgressPlain:
		d.inner = &plainProgress{w: w}
	case ProgressJSON:
		d.inner = display.JSON(w)
	case ProgressQuiet:
		d.inner = display.Quiet()
	default:
		return nil, fmt.Errorf("unknown progress mode %q (want one of %v)", mode, ProgressModes)
	}
	return d, nil
}

// Begin opens the display for the command's operation, the title of a
// terminal block ("[+] apply 3/8"); it lasts until End or ctx ends.
func (d *Display) Begin(ctx context.Context, operation string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.open {
		return
	}
	d.open = true
	d.inner.Start(ctx, operation)
}

// End closes the display: a terminal block stays on screen as it last
// was, and nothing is drawn after End returns, so that what the command
// prints next is not drawn over. End may be called more than once.
func (d *Display) End() {
	d.mu.Lock()
	open := d.open
	d.open = false
	d.mu.Unlock()
	if open {
		// Outside the lock: the block's last repaint takes its own.
		d.inner.Done("", false)
	}
}

// Start is a step opening an operation: nothing, see Display.
func (d *Display) Start(context.Context, string) {}

// Done is a step closing an operation: nothing, see Display.
func (d *Display) Done(string, bool) {}

// On reports events of any instance; several goroutines may call it.
func (d *Display) On(events ...api.Resource) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inner.On(events...)
}

// WithDisplay sends the progress of every step to d, which the engine
// shares with the other engines and goroutines of the command. It
// replaces WithProgress.
func WithDisplay(d *Display) Option {
	return func(e *Engine) { e.progress = displayWriter{d} }
}

// displayWriter stands for a Display where the steps expect their
// progress writer: a session given one reports to the Display, and what
// compose writes there directly goes to the Display's writer.
type displayWriter struct{ d *Display }

func (w displayWriter) Write(p []byte) (int, error) {
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	return w.d.out.Write(p)
}

// WithColor says whether Logs colors each container's prefix, as docker
// compose logs does; without it Logs colors them on a terminal only.
func WithColor(on bool) Option {
	return func(e *Engine) { e.color = &on }
}
