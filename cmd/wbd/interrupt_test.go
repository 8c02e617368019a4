package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGTERM ends a command that changes nothing at once, wherever it is.
func TestInterruptibleReturnsOnSignal(t *testing.T) {
	ctx, stop := signal.NotifyContext(t.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	block := make(chan struct{})
	defer close(block)
	time.AfterFunc(50*time.Millisecond, func() { syscall.Kill(os.Getpid(), syscall.SIGTERM) })
	start := time.Now()
	err := interruptible(ctx, func() error { <-block; return nil })
	if got, want := fmt.Sprint(err), "stopped: terminated signal received"; got != want {
		t.Fatalf("err=%q, want %q", got, want)
	}
	if !errors.Is(err, errStopped) {
		t.Errorf("err=%v is not errStopped", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("returned after %s", took)
	}
}

// validate and render stop on a signal even while a read never ends (a
// template that is a FIFO without a writer), and exit 1, not 2.
func TestValidateAndRenderStopWhileReading(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "templates")
	if err := os.Mkdir(tmpl, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(tmpl, "compose.yaml.tmpl"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "instances.yaml")
	content := fmt.Sprintf("version: 1\nroot: %s\ntemplates: %s\ninstances:\n  testing:\n    port: 8001\n    images: {app: \"wbd.local/app:1\"}\n", filepath.Join(dir, "root"), tmpl)
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"validate"}, {"render", "testing"}} {
		t.Run(args[0], func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(t.Context())
			time.AfterFunc(100*time.Millisecond, func() { cancel(errors.New("interrupt signal received")) })
			var stdout, stderr bytes.Buffer
			done := make(chan int, 1)
			go func() { done <- run(ctx, append([]string{"-f", file}, args...), &stdout, &stderr) }()
			select {
			case code := <-done:
				if code != exitFailed {
					t.Errorf("exit %d, want %d", code, exitFailed)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still running 10s after the signal")
			}
			// Stopped, or the template refused without being read: never
			// waiting for a writer.
			got := stderr.String()
			if got != "wbd: stopped: interrupt signal received\n" && !strings.Contains(got, "not a regular file") {
				t.Errorf("stderr=%q", got)
			}
		})
	}
}
