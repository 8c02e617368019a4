package reconcile

import (
	"context"
	"time"
)

// withGrace returns the context of one operation: it ends grace after ctx
// does, so that a shutdown lets the operation in flight finish, within a
// deadline. expired is called if the deadline passes first.
func withGrace(ctx context.Context, grace time.Duration, expired func()) (context.Context, context.CancelFunc) {
	op, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			if op.Err() == nil && expired != nil {
				expired()
			}
			cancel()
		case <-op.Done():
		}
	})
	return op, func() {
		stop()
		cancel()
	}
}
