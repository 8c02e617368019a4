package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/wbd-dev/wbd/reconcile"
	"golang.org/x/sys/unix"
)

// systemd tells the service manager how the daemon is doing, when it runs
// under one (NOTIFY_SOCKET); otherwise every call does nothing.
type systemd struct {
	log   *slog.Logger
	mu    sync.Mutex
	ready bool
	last  string
	// reloading: RELOADING=1 was sent; READY=1 ends it.
	reloading bool
}

// state sends READY=1 after the first pass (or once the file is found to
// have no valid configuration) and a STATUS= line when it changes.
func (s *systemd) state(sum reconcile.Summary) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := "STATUS=" + sum.String()
	if msg == s.last && s.ready {
		return
	}
	s.last = msg
	if !s.ready && (sum.Passes > 0 || !sum.Valid) {
		s.ready = true
		msg = daemon.SdNotifyReady + "\n" + msg
	}
	s.notify(msg)
}

// reload says a reload begins: `systemctl reload` then waits for READY=1,
// which reloaded sends once the file was read again and its pass is done.
func (s *systemd) reload() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reloading = true
	s.notify(fmt.Sprintf("%s\nMONOTONIC_USEC=%d", daemon.SdNotifyReloading, monotonicUsec()))
}

func (s *systemd) reloaded() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reloading {
		s.reloading = false
		s.notify(daemon.SdNotifyReady)
	}
}

func (s *systemd) isReady() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, as systemd wants it
// beside RELOADING=1.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Sec*1e6 + ts.Nsec/1e3
}

func (s *systemd) notify(state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		s.log.Debug("systemd notify", keyError, err)
	}
}

// extendStartup asks for more time to start while the first pass still
// makes progress (EXTEND_TIMEOUT_USEC): creating many instances may take
// longer than TimeoutStartSec, a first pass that is stuck may not.
func (s *systemd) extendStartup(ctx context.Context, r *reconcile.Reconciler, every, stale time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for !s.isReady() {
		if time.Since(r.Heartbeat()) < stale {
			s.notify(fmt.Sprintf("EXTEND_TIMEOUT_USEC=%d", (3 * every).Microseconds()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watchdog sends WATCHDOG=1 at half the unit's WatchdogSec while the
// reconciler shows progress within stale. Progress is the loop waiting, a
// step of an instance, or the engine's word on an operation in flight
// (every pulled layer too), so that a long pull keeps it fed while a
// stuck call does not.
func (s *systemd) watchdog(ctx context.Context, r *reconcile.Reconciler, stale time.Duration) {
	every, err := daemon.SdWatchdogEnabled(false)
	if err != nil || every <= 0 {
		return
	}
	t := time.NewTicker(every / 2)
	defer t.Stop()
	warned := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if age := time.Since(r.Heartbeat()); age > stale {
			if !warned {
				s.log.Error("the reconcile loop shows no progress; withholding the watchdog", keySince, age.Round(time.Second))
				warned = true
			}
			continue
		}
		warned = false
		s.notify(daemon.SdNotifyWatchdog)
	}
}
