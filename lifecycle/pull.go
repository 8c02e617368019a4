package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/wbd-dev/wbd/render"
)

// Pull pulls each image once, one after the other, with progress to w, or
// with a nil w where every step's progress goes (WithProgress,
// WithDisplay). The error names every image that failed.
func (e *Engine) Pull(ctx context.Context, images []string, w io.Writer) error {
	if w == nil {
		w = e.progress
	}
	s, err := e.session(w)
	if err != nil {
		return err
	}
	return pull(ctx, s, images)
}

func pull(ctx context.Context, s *session, images []string) error {
	images = slices.Clone(images)
	slices.Sort(images)
	var errs []error
	for _, img := range slices.Compact(images) {
		project := &types.Project{Name: "wbd-pull", Services: types.Services{
			"image": {Name: "image", ContainerSpec: types.ContainerSpec{Image: img, PullPolicy: types.PullPolicyAlways}},
		}}
		err := s.compose.Pull(ctx, project, api.PullOptions{})
		if err == nil {
			err = ctx.Err() // compose reports an interrupted pull as a success
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("pull %s: %w", img, distinct(err)))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}

// pullMissing pulls the images of p not present on the engine. Compose
// would pull them too, but its error does not say which image failed.
func (e *Engine) pullMissing(ctx context.Context, s *session, p *types.Project) error {
	var refs []string
	for _, svc := range p.Services {
		if svc.Image != "" && svc.PullPolicy != types.PullPolicyNever {
			refs = append(refs, svc.Image)
		}
	}
	missing, err := e.missingImages(ctx, refs)
	if err != nil || len(missing) == 0 {
		return err
	}
	return pull(ctx, s, missing)
}

// pullExtra pulls the images p lists to pull and never run
// (render.PullImages) that the engine lacks, and returns them. An instance
// whose containers need no change still gets them.
func (e *Engine) pullExtra(ctx context.Context, p *types.Project) ([]string, error) {
	missing, err := e.missingImages(ctx, render.PullImages(p))
	if err != nil || len(missing) == 0 {
		return nil, err
	}
	s, err := e.session(e.progress)
	if err != nil {
		return nil, err
	}
	return missing, pull(ctx, s, missing)
}

// missingImages returns the images of refs the engine does not have.
func (e *Engine) missingImages(ctx context.Context, refs []string) ([]string, error) {
	present, err := e.ImagesPresent(ctx, refs)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, ref := range refs {
		if !present[ref] {
			missing = append(missing, ref)
		}
	}
	return missing, nil
}

// ImagesPresent tells, for each image of refs, whether the engine has it.
func (e *Engine) ImagesPresent(ctx context.Context, refs []string) (map[string]bool, error) {
	present := map[string]bool{}
	for _, ref := range refs {
		ids, err := e.imageIDs(ctx, ref)
		if err != nil {
			return nil, err
		}
		present[ref] = len(ids) > 0
	}
	return present, nil
}

// distinct drops repeats from a joined error: compose's Pull joins the
// error of a failed pull with itself.
func distinct(err error) error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return err
	}
	var errs []error
	seen := map[string]bool{}
	for _, e := range joined.Unwrap() {
		if e != nil && !seen[e.Error()] {
			seen[e.Error()] = true
			errs = append(errs, e)
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
