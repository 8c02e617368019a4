// Command crash is the entrypoint of the stand-in image wbd.local/app-crash:1,
// an app that starts, serves, then crashes: it runs its arguments (the
// reference app, /refapp) as a child with the same environment, and exits
// with code 1 when CRASH_AFTER (default 2s) has passed since it started.
// Under the restart policy unless-stopped the engine then restarts the
// container again and again: a crash loop, as a release that dies on its
// first real request would make.
//
// It keeps the app's contract: PORT and the rest of the environment reach
// the child unchanged, and SIGTERM or SIGINT before the crash is passed on
// to it, so `docker stop` stops the app gracefully and exits with its code.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/wbd-dev/wbd/images/internal/child"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "crash: usage: crash COMMAND [ARG...]")
		os.Exit(2)
	}
	after := 2 * time.Second
	if s := os.Getenv("CRASH_AFTER"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			fmt.Fprintf(os.Stderr, "crash: CRASH_AFTER: must be a duration such as 2s, got %q\n", s)
			os.Exit(2)
		}
		after = d
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	code, err := child.Start(cmd)
	if err != nil {
		fmt.Fprintf(os.Stderr, "crash: %v\n", err)
		os.Exit(127)
	}
	select {
	case c := <-code:
		os.Exit(c)
	case <-time.After(after):
		// As PID 1, exiting takes the child with it.
		fmt.Fprintf(os.Stderr, "crash: crashing %v after start, as this stand-in image does by design\n", after)
		_ = cmd.Process.Kill()
		os.Exit(1)
	}
}
