package lifecycle

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/docker/cli/cli/streams"
	"github.com/docker/compose/v5/cmd/display"
	"github.com/docker/compose/v5/pkg/api"
)

// newProgress picks how compose's progress events reach w: the Display w
// stands for (see WithDisplay), nothing for a nil or discarding writer,
// compose's redrawn per-container view for a terminal, and one plain line
// per event otherwise.
func newProgress(w io.Writer) api.EventProcessor {
	if d, ok := w.(displayWriter); ok {
		return d.d
	}
	switch {
	case w == nil || w == io.Discard:
		return display.Quiet()
	case streams.NewOut(w).IsTerminal():
		return display.Full(w, w, true)
	default:
		return &plainProgress{w: w}
	}
}

// plainProgress writes "Container NAME  Started" lines. It leaves out the
// per-layer lines of a pull (events with a parent), repeats of a line, and
// the stop of a container already stopped: Down stops in the plan's order
// first, and compose's own down then stops every container again.
type plainProgress struct {
	mu   sync.Mutex
	w    io.Writer
	last map[string]string
}

func (p *plainProgress) Start(context.Context, string) {}

func (p *plainProgress) Done(string, bool) {}

func (p *plainProgress) On(events ...api.Resource) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = map[string]string{}
	}
	for _, e := range events {
		if e.ParentID != "" {
			continue
		}
		line := e.Text
		if e.Details != "" {
			line += " " + e.Details
		}
		if (e.Status == api.Warning || e.Status == api.Error) && !strings.HasPrefix(line, e.StatusText()) {
			line = e.StatusText() + ": " + line
		}
		if p.last[e.ID] == line || p.last[e.ID] == api.StatusStopped && line == api.StatusStopping {
			continue
		}
		p.last[e.ID] = line
		_, _ = fmt.Fprintf(p.w, "%s  %s\n", e.ID, line)
	}
}
