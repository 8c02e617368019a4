// Package child runs the command a stand-in image wraps as a child of the
// wrapper, which, as PID 1, passes on the signals `docker stop` sends.
package child

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// Start starts cmd with this process's standard streams, and passes
// SIGTERM and SIGINT on to it. The channel gets its exit code once it
// ends: 0, its own, or 1 when it could not tell.
func Start(cmd *exec.Cmd) (<-chan int, error) {
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	if err := cmd.Start(); err != nil {
		signal.Stop(sigs)
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	code := make(chan int, 1)
	go func() {
		for {
			select {
			case sig := <-sigs:
				_ = cmd.Process.Signal(sig)
			case err := <-done:
				var exit *exec.ExitError
				switch {
				case err == nil:
					code <- 0
				case errors.As(err, &exit):
					code <- exit.ExitCode()
				default:
					code <- 1
				}
				return
			}
		}
	}()
	return code, nil
}
