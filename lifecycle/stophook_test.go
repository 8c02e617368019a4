package lifecycle

import (
	"context"
	"errors"
	"testing"

	"github.com/moby/moby/client"
)

// stopRecorder is an engine client that records the stops and removals
// compose would make.
type stopRecorder struct {
	client.APIClient
	calls []string
}

func (r *stopRecorder) ContainerStop(_ context.Context, id string, _ client.ContainerStopOptions) (client.ContainerStopResult, error) {
	r.calls = append(r.calls, "stop "+id)
	return client.ContainerStopResult{}, nil
}

func (r *stopRecorder) ContainerRemove(_ context.Context, id string, _ client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	r.calls = append(r.calls, "remove "+id)
	return client.ContainerRemoveResult{}, nil
}

// A hook runs once before the stop; once it failed, the container is
// neither stopped nor removed through compose until the hook is off.
func TestStopHooks(t *testing.T) {
	ctx := context.Background()
	rec := &stopRecorder{}
	h := &stopHooks{}
	c := hookedClient{APIClient: rec, hooks: h}

	ran := 0
	off := h.on("old", func(context.Context) error { ran++; return nil })
	c.ContainerStop(ctx, "old", client.ContainerStopOptions{})
	c.ContainerStop(ctx, "old", client.ContainerStopOptions{})
	off()
	if ran != 1 || len(rec.calls) != 2 {
		t.Errorf("a hook that passes: ran %d times, calls %v; want once, and both stops made", ran, rec.calls)
	}

	rec.calls = nil
	cause := errors.New("not ready")
	off = h.on("old", func(context.Context) error { return cause })
	if _, err := c.ContainerStop(ctx, "old", client.ContainerStopOptions{}); !errors.Is(err, cause) {
		t.Errorf("stop after a failed hook: %v, want its error", err)
	}
	if _, err := c.ContainerRemove(ctx, "old", client.ContainerRemoveOptions{Force: true}); !errors.Is(err, cause) {
		t.Errorf("removal after a failed hook: %v, want its error", err)
	}
	if _, err := c.ContainerRemove(ctx, "other", client.ContainerRemoveOptions{}); err != nil {
		t.Errorf("removal of another container: %v", err)
	}
	off()
	if _, err := c.ContainerRemove(ctx, "old", client.ContainerRemoveOptions{}); err != nil {
		t.Errorf("removal once the hook is off: %v", err)
	}
	if want := []string{"remove other", "remove old"}; len(rec.calls) != 2 || rec.calls[0] != want[0] || rec.calls[1] != want[1] {
		t.Errorf("calls that reached the engine %v, want %v", rec.calls, want)
	}
}
