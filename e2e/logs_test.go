package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// The operator reads an instance's logs: one service's last lines, or every
// container's, each line prefixed with its container; -f keeps following.
func TestLogsShowAndFollowAnInstance(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	in := o.declare(nil)
	o.apply(in)
	waitForHealth(t, in, "ok")

	redis := o.mustWbd("logs", in.Name, "redis", "--tail", "50")
	if !strings.Contains(redis.stdout, in.Name+"-redis") || !strings.Contains(redis.stdout, "Ready to accept connections") {
		t.Errorf("wbd logs %s redis: want redis's start, prefixed with its container\n%s", in.Name, redis)
	}
	all := o.mustWbd("logs", in.Name, "--tail", "5")
	for _, name := range []string{in.Name + "-postgres", in.Name + "-redis", in.Name + " "} {
		if !strings.Contains(all.stdout, name) {
			t.Errorf("wbd logs %s: no line of %s\n%s", in.Name, strings.TrimSpace(name), all)
		}
	}
	// Prefixes in color on a terminal only, unless --ansi always; NO_COLOR
	// wins over both, as in docker compose.
	if strings.Contains(all.stdout, "\x1b[") {
		t.Errorf("wbd logs off a terminal: ANSI colors\n%q", all.stdout)
	}
	if r := o.mustWbd("--ansi", "always", "logs", in.Name, "--tail", "5"); !strings.Contains(r.stdout, "\x1b[36m"+in.Name) {
		t.Errorf("wbd --ansi always logs: want prefixes in color\n%q", r.stdout)
	}
	o.env = append(os.Environ(), "NO_COLOR=1")
	if r := o.mustWbd("logs", in.Name, "--tail", "5", "--ansi", "always"); strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("NO_COLOR=1 wbd logs --ansi always: ANSI colors\n%q", r.stdout)
	}
	o.env = nil

	// -f after the command is --follow: the stream stays open and shows the
	// request made after it started.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	follow := exec.CommandContext(ctx, wbdBin, "-f", o.file, "logs", in.Name, "app", "-f", "--tail", "0")
	var out lockedBuffer
	follow.Stdout, follow.Stderr = &out, &out
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- follow.Wait() }()
	// Requests until one shows: the stream may attach after the first.
	eventually(t, 30*time.Second, "wbd logs -f shows a request made after it started", func() error {
		select {
		case err := <-exited:
			t.Fatalf("wbd logs -f exited (%v) instead of following:\n%s", err, out.String())
		default:
		}
		if strings.Contains(out.String(), `"msg":"dataset served"`) {
			return nil
		}
		if _, _, err := httpGet(in.Port, "/datasets/hmis"); err != nil {
			return err
		}
		return fmt.Errorf("output so far:\n%s", out.String())
	})
	cancel()
	<-exited
}

// lockedBuffer is a bytes.Buffer a process writes while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
