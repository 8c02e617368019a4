package lifecycle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/tonistiigi/vt100"
)

// instanceSteps reports, as one instance's apply does, each container of
// name going from created to healthy, bracketing its steps as compose's own
// do, with a pause between events for the terminal block to be redrawn
// while the other instances report.
func instanceSteps(ctx context.Context, p api.EventProcessor, name string) {
	for _, step := range []struct {
		op     string
		status api.EventStatus
		text   string
	}{
		{"up", api.Working, api.StatusCreating},
		{"up", api.Done, api.StatusCreated},
		{"start", api.Working, api.StatusStarting},
		{"start", api.Done, api.StatusStarted},
		{"wait", api.Done, api.StatusHealthy},
	} {
		p.Start(ctx, step.op)
		for _, svc := range []string{"postgres", "redis", "app"} {
			p.On(api.Resource{ID: "Container " + name + "-" + svc, Status: step.status, Text: step.text})
			time.Sleep(15 * time.Millisecond)
		}
		p.Done(step.op, false)
	}
}

// screenOf is what a terminal of rows x cols shows after out was written
// to it: one string per row, trailing blanks cut. The emulator wraps a
// full line at once, where a terminal waits for the next character: give
// it more columns than the display was drawn for.
func screenOf(out []byte, rows, cols int) []string {
	term := vt100.NewVT100(rows, cols)
	term.Write(out)
	var lines []string
	for _, row := range term.Content {
		lines = append(lines, strings.TrimRight(string(row), " "))
	}
	return lines
}

// One display for a rollout of three instances at once on a terminal: one
// block with one header, each container on one line of its own with its
// last state, however the instances' steps interleave.
func TestDisplayOneBlockForParallelWork(t *testing.T) {
	var out syncBuffer
	d, err := NewDisplay(&out, ProgressTTY, false)
	if err != nil {
		t.Fatal(err)
	}
	d.Begin(t.Context(), "apply")
	names := []string{"alpha", "beta", "gamma"}
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Go(func() { instanceSteps(t.Context(), d, name) })
	}
	wg.Wait()
	d.End()
	drawn := out.take()
	time.Sleep(250 * time.Millisecond) // past two refresh ticks
	if late := out.take(); late != "" {
		t.Errorf("the display drew %q after End", late)
	}

	screen := screenOf([]byte(drawn), 24, 100) // drawn for 80 columns off a terminal
	text := strings.Join(screen, "\n")
	if n := strings.Count(text, "[+] apply"); n != 1 {
		t.Errorf("%d headers on the screen, want one block:\n%s", n, text)
	}
	if !strings.Contains(text, "[+] apply 9/9") {
		t.Errorf("header does not count 9 of 9 done:\n%s", text)
	}
	for _, name := range names {
		for _, svc := range []string{"postgres", "redis", "app"} {
			id := "Container " + name + "-" + svc
			re := regexp.MustCompile(`^ . ` + regexp.QuoteMeta(id) + ` +` + api.StatusHealthy)
			n := 0
			for _, line := range screen {
				if strings.Contains(line, id+" ") {
					n++
					if !re.MatchString(line) {
						t.Errorf("line of %s = %q, want it %s", id, line, api.StatusHealthy)
					}
				}
			}
			if n != 1 {
				t.Errorf("%s on %d lines, want one:\n%s", id, n, text)
			}
		}
	}
	if strings.Contains(drawn, "\x1b[3") {
		t.Errorf("colors drawn without color:\n%q", drawn)
	}
}

// The steps of each instance open and close operations; the display is
// opened once, by the command, and closed once.
func TestDisplayBracketsTheCommandOnly(t *testing.T) {
	rec := &recorder{}
	d := &Display{out: &bytes.Buffer{}, inner: rec}
	d.Begin(t.Context(), "apply")
	d.Begin(t.Context(), "again")
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b"} {
		wg.Go(func() {
			d.Start(t.Context(), "up")
			d.On(api.Resource{ID: "Container " + name})
			d.Done("up", false)
		})
	}
	wg.Wait()
	d.End()
	d.End()
	if got, want := strings.Join(rec.calls, " "), "start:apply on on done"; got != want {
		t.Errorf("inner display saw %q, want %q", got, want)
	}
}

type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) Start(_ context.Context, op string) { r.add("start:" + op) }
func (r *recorder) Done(string, bool)                  { r.add("done") }
func (r *recorder) On(...api.Resource)                 { r.add("on") }
func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

// Plain and JSON lines of instances working at once stay whole lines.
func TestDisplayLinesOfParallelWork(t *testing.T) {
	for _, mode := range []string{ProgressPlain, ProgressJSON} {
		t.Run(mode, func(t *testing.T) {
			var out syncBuffer
			d, err := NewDisplay(&out, mode, true)
			if err != nil {
				t.Fatal(err)
			}
			d.Begin(t.Context(), "apply")
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Go(func() {
					for j := range 50 {
						d.On(api.Resource{ID: fmt.Sprintf("Container i%d-%d", i, j), Status: api.Done, Text: api.StatusStarted})
					}
				})
			}
			wg.Wait()
			d.End()
			lines := strings.Split(strings.TrimSuffix(out.take(), "\n"), "\n")
			if len(lines) != 200 {
				t.Fatalf("%d lines, want 200", len(lines))
			}
			plain := regexp.MustCompile(`^Container i\d-\d+  Started$`)
			for _, line := range lines {
				var ev struct{ ID, Status, Text string }
				switch {
				case mode == ProgressPlain && !plain.MatchString(line):
					t.Fatalf("plain line %q", line)
				case mode == ProgressJSON && (json.Unmarshal([]byte(line), &ev) != nil || ev.Status != "Done" || ev.Text != api.StatusStarted):
					t.Fatalf("json line %q", line)
				}
			}
		})
	}
}

func TestDisplayQuiet(t *testing.T) {
	var out bytes.Buffer
	d, err := NewDisplay(&out, ProgressQuiet, true)
	if err != nil {
		t.Fatal(err)
	}
	d.Begin(t.Context(), "apply")
	d.On(api.Resource{ID: "Container x", Status: api.Done, Text: api.StatusStarted})
	d.End()
	if out.Len() != 0 {
		t.Errorf("quiet display wrote %q", out.String())
	}
	if _, err := NewDisplay(&out, "fancy", true); err == nil {
		t.Error("NewDisplay accepted mode fancy")
	}
}

// auto is the terminal block on a terminal, and plain lines elsewhere.
func TestDisplayAuto(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	d, err := NewDisplay(tty, ProgressAuto, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.inner.(*plainProgress); ok {
		t.Error("auto on a terminal: plain lines, want the terminal block")
	}
	f, err := os.CreateTemp(t.TempDir(), "progress")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if d, err = NewDisplay(f, ProgressAuto, true); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.inner.(*plainProgress); !ok {
		t.Errorf("auto on a file: %T, want plain lines", d.inner)
	}
}
