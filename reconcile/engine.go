package reconcile

import (
	"context"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/subnets"
)

// Engine is what the reconciler needs of one Docker endpoint;
// *lifecycle.Engine is one. Tests use a fake.
type Engine interface {
	// Host is the address the client dials: two hosts of the file with
	// the same address are the same engine.
	Host() string
	Plan(ctx context.Context, project *types.Project) (lifecycle.Plan, error)
	// Snapshot reads what the engine holds, once for a pass; PlanIn plans
	// from it.
	Snapshot(ctx context.Context) (*lifecycle.Snapshot, error)
	PlanIn(ctx context.Context, snap *lifecycle.Snapshot, project *types.Project) (lifecycle.Plan, error)
	// Networks lists the engine's networks, for the instances' subnets.
	Networks(ctx context.Context) ([]subnets.Network, error)
	Apply(ctx context.Context, project *types.Project, opts lifecycle.ApplyOptions) (lifecycle.Report, error)
	Down(ctx context.Context, name string) error
	// Files is where the bind mounts of instances under root resolve.
	Files(ctx context.Context, root string) (instdir.Files, error)
	Events(ctx context.Context, fn func(lifecycle.Event)) error
	Ping(ctx context.Context) error
	Close() error
}

// ConnectFunc opens the Engine of a host of instances.yaml ("" is the local
// default). It fails when the engine does not answer.
type ConnectFunc func(ctx context.Context, host string) (Engine, error)

// Connector connects through lifecycle.Connect with opts.
func Connector(opts ...lifecycle.Option) ConnectFunc {
	return func(ctx context.Context, host string) (Engine, error) {
		e, err := lifecycle.Connect(ctx, host, opts...)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
}
