package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"syscall"

	"github.com/creack/pty"
	"github.com/tonistiigi/vt100"
)

// onTerminal runs wbd on the operator's file with a terminal of rows x cols
// as its stdin, stdout and stderr, as an operator at a shell does, and
// returns what the terminal shows at the end, a string per row.
func (o *operator) onTerminal(rows, cols int, args ...string) (screen []string, code int) {
	o.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wbdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, wbdBin, append([]string{"-f", o.file}, args...)...)
	cmd.Dir, cmd.Env = o.dir, o.env
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: uint16(rows), Cols: uint16(cols)})
	if err != nil {
		o.t.Fatalf("wbd %s on a terminal: %v", strings.Join(args, " "), err)
	}
	defer tty.Close()
	var out bytes.Buffer
	// Linux ends the terminal's output with EIO once wbd exits.
	if _, err := io.Copy(&out, tty); err != nil && !errors.Is(err, syscall.EIO) {
		o.t.Fatalf("read wbd's terminal: %v", err)
	}
	var exit *exec.ExitError
	if err := cmd.Wait(); errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		o.t.Fatalf("wbd %s on a terminal: %v", strings.Join(args, " "), err)
	}
	// The emulator wraps a full row at once, where a terminal waits for
	// the next character: it gets more columns than wbd was given.
	term := vt100.NewVT100(rows, cols+20)
	term.Write(out.Bytes())
	for _, row := range term.Content {
		screen = append(screen, strings.TrimRight(string(row), " "))
	}
	return screen, code
}
