package main

import (
	"context"
	"errors"
	"fmt"
)

// errStopped is what a command interrupted by a signal returns.
var errStopped = errors.New("stopped")

// interruptible runs fn, but returns as soon as ctx ends (SIGINT or
// SIGTERM) whatever fn is doing: a read of a file that never ends, a
// template that never renders. Only commands that change nothing while fn
// runs use it, since fn is left behind as the process exits.
func interruptible(ctx context.Context, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", errStopped, context.Cause(ctx))
	}
}
