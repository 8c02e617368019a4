package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/wbd-dev/wbd/lifecycle"
)

// How cmd/wbd's apply uses the package: one Engine per Docker host, progress
// on stderr, a plan shown before applying.
func Example() {
	ctx := context.Background()
	var project *types.Project // from render/
	e, err := lifecycle.Connect(ctx, "ssh://wbd@box",
		lifecycle.WithProgress(os.Stderr), lifecycle.WithLogger(slog.Default()))
	if err != nil {
		fmt.Println(err) // docker host ssh://wbd@box does not answer: ...
		return
	}
	defer e.Close()

	plan, err := e.Plan(ctx, project)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range plan.Services {
		fmt.Println(s.Service, s.Action, s.Changes)
	}
	report, err := e.Apply(ctx, project, lifecycle.ApplyOptions{})
	if errors.Is(err, lifecycle.ErrLegacy) {
		fmt.Println(err) // ... run `wbd apply --adopt testing` ...
		return
	}
	for _, w := range report.Warnings {
		fmt.Println("warning:", w)
	}
}
