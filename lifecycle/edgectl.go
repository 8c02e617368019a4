package lifecycle

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"github.com/wbd-dev/wbd/edge"
)

// The edge is driven through the engine: `wbd edge ctl` run in its
// container (exec) changes its target, and its state file is read from the
// container's file system (the archive endpoint), so a remote engine is
// driven as a local one and nothing of it lives in wbd's memory.

// switchMode says how edgeSwitch goes.
type switchMode struct {
	// check: the edge first finds that the app answers HTTP.
	check bool
	// keep: the requests in flight on the old target go on to their end,
	// since it is the same app container.
	keep bool
}

// edgeSwitch switches the edge in container edgeID to the app container
// appID ("" for its default target, the app by name) and waits for the
// drain, unless mode.keep.
func (e *Engine) edgeSwitch(ctx context.Context, edgeID, appID string, es edgeSpec, mode switchMode) (edge.SwitchResult, error) {
	args := []string{"switch", "--drain", es.drain.String()}
	if appID != "" {
		args = append(args, "--to", edgeAddr(appID, es.port))
	}
	if mode.check {
		args = append(args, "--check")
	}
	if mode.keep {
		args = append(args, "--keep")
	}
	out, err := e.edgeCtl(ctx, edgeID, args...)
	if err != nil {
		return edge.SwitchResult{}, err
	}
	var res edge.SwitchResult
	if err := json.Unmarshal(out, &res); err != nil {
		return edge.SwitchResult{}, fmt.Errorf("edge: switch answered %q: %w", out, err)
	}
	return res, nil
}

// edgeCtl runs `wbd edge ctl ARGS` in the edge container and returns what
// it printed. Its error is what the edge said.
func (e *Engine) edgeCtl(ctx context.Context, edgeID string, args ...string) ([]byte, error) {
	cmd := append(append(append([]string{}, edge.Entrypoint...), "ctl"), args...)
	ex, err := e.api.ExecCreate(ctx, edgeID, client.ExecCreateOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	att, err := e.api.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	defer att.Close()
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(&stdout, &stderr, att.Reader)
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		att.Close()
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("edge: read its answer: %w", err)
	}
	res, err := e.api.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	if res.Running || res.ExitCode != 0 {
		msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(stderr.String()), "wbd: "))
		if msg == "" {
			msg = fmt.Sprintf("wbd edge ctl %s exited %d", strings.Join(args, " "), res.ExitCode)
		}
		return nil, errors.New("edge: " + msg)
	}
	return stdout.Bytes(), nil
}

// edgeTarget reads the target the edge in container edgeID keeps, running
// or not: "" for its default.
func (e *Engine) edgeTarget(ctx context.Context, edgeID string) (string, error) {
	res, err := e.api.CopyFromContainer(ctx, edgeID, client.CopyFromContainerOptions{SourcePath: edge.StatePath})
	if errdefs.IsNotFound(err) {
		return "", nil // never switched
	}
	if err != nil {
		return "", fmt.Errorf("edge: read its target: %w", err)
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	for {
		h, err := tr.Next()
		if err != nil {
			return "", fmt.Errorf("edge: read its target: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, 1<<16))
		if err != nil {
			return "", fmt.Errorf("edge: read its target: %w", err)
		}
		st, err := edge.ParseState(data)
		return st.Target, err
	}
}

// edgeCtlTimeout bounds a switch beyond its drain.
const edgeCtlTimeout = 30 * time.Second
