package main

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/reconcile"
)

// notifySocket listens where NOTIFY_SOCKET points, as systemd does.
func notifySocket(t *testing.T) *net.UnixConn {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", sock)
	return conn
}

// readNotify returns the next message, or "" when none comes in time.
func readNotify(conn *net.UnixConn, wait time.Duration) string {
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(wait))
	n, err := conn.Read(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// While the first pass makes progress the start is extended; once READY=1
// is sent, or while nothing moves, it is not.
func TestStartupIsExtendedWhileTheFirstPassMoves(t *testing.T) {
	conn := notifySocket(t)
	clock := time.Now()
	r, err := reconcile.New(reconcile.Config{
		Connect: func(context.Context, string) (reconcile.Engine, error) { return nil, context.Canceled },
		Now:     func() time.Time { return clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sd := &systemd{log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { sd.extendStartup(ctx, r, 20*time.Millisecond, time.Hour); close(done) }()
	if msg := readNotify(conn, 10*time.Second); msg != "EXTEND_TIMEOUT_USEC=60000" {
		t.Fatalf("got %q, want EXTEND_TIMEOUT_USEC=60000 (three periods)", msg)
	}
	sd.state(reconcile.Summary{Passes: 1, Valid: true, Instances: 1, InSync: 1})
	if msg := readNotify(conn, 10*time.Second); !strings.HasPrefix(msg, "READY=1\nSTATUS=1 instances, 1 in sync") {
		// An extension may have been on its way.
		if msg = readNotify(conn, 10*time.Second); !strings.HasPrefix(msg, "READY=1") {
			t.Fatalf("got %q, want READY=1", msg)
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("still extending after READY=1")
	}
	cancel()

	// A first pass that shows no progress is not extended.
	clock = time.Now().Add(-2 * time.Hour) // the heartbeat is that old
	r2, _ := reconcile.New(reconcile.Config{Connect: func(context.Context, string) (reconcile.Engine, error) { return nil, context.Canceled }, Now: func() time.Time { return clock }})
	defer r2.Close()
	sd2 := &systemd{log: slog.New(slog.DiscardHandler)}
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	go sd2.extendStartup(ctx2, r2, 20*time.Millisecond, time.Hour)
	if msg := readNotify(conn, 300*time.Millisecond); msg != "" {
		t.Errorf("a stuck first pass was extended: %q", msg)
	}
}
