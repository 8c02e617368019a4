package reconcile

import (
	"context"
	"errors"

	"github.com/wbd-dev/wbd/render"
	"github.com/wbd-dev/wbd/revision"
	"github.com/wbd-dev/wbd/spec"
	"github.com/wbd-dev/wbd/subnets"
)

// Desired is a valid instances file with every instance rendered: the state
// the reconciler brings the engines to.
type Desired struct {
	Config  *spec.Config
	results map[string]*render.Result
	sums    map[string]string
}

// Render renders every instance of cfg with its templates. A template error
// in any instance makes the whole file invalid, as for `wbd apply --all`:
// the configuration in force stays. Subnets are those recorded under the
// root, or chosen from the records alone (see RenderWith), not recorded.
func Render(ctx context.Context, cfg *spec.Config) (*Desired, error) {
	return RenderWith(ctx, cfg, nil, subnets.Options{})
}

// RenderWith is Render, with each instance's subnet given by
// subnets.Assign: list (nil for none) tells the networks of the instance's
// engine.
func RenderWith(ctx context.Context, cfg *spec.Config, list subnets.Lister, opts subnets.Options) (*Desired, error) {
	if list == nil {
		list = func(context.Context, *spec.Instance) ([]subnets.Network, bool) { return nil, false }
	}
	if err := subnets.Assign(ctx, cfg, cfg.Instances, list, opts); err != nil {
		return nil, err
	}
	r, err := render.New(cfg.Templates)
	if err != nil {
		return nil, err
	}
	d := &Desired{Config: cfg, results: map[string]*render.Result{}, sums: map[string]string{}}
	var errs []error
	for _, in := range cfg.Instances {
		res, err := r.Render(ctx, in)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.results[in.Name] = res
		d.sums[in.Name] = sum(in, res)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

// Result is the rendered project of instance name, or nil.
func (d *Desired) Result(name string) *render.Result { return d.results[name] }

// Sum identifies what instance name should be: its host and rendered
// project. An instance whose sum changed is tried at once, whatever its
// backoff.
func (d *Desired) Sum(name string) string { return d.sums[name] }

func sum(in *spec.Instance, res *render.Result) string {
	return revision.Hash(in.Host, res.YAML)
}
