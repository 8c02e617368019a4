package lifecycle

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/client"
	"github.com/wbd-dev/wbd/edge"
)

// ensureEdgeImage makes the image of p's edge on the engine when it is not
// there: an import of the running wbd binary through the engine's API,
// which reaches a remote engine as a local one, once per wbd build and
// host. The edge images of earlier builds no container uses are removed
// then.
func (e *Engine) ensureEdgeImage(ctx context.Context, s *session, p *types.Project) error {
	if _, ok := edgeOf(p); !ok {
		return nil
	}
	x, err := edge.Self()
	if err != nil {
		return fmt.Errorf("edge: %w", err)
	}
	arch, err := e.arch(ctx)
	if err != nil {
		return fmt.Errorf("edge: %w", err)
	}
	if err := x.Usable(arch); err != nil {
		return fmt.Errorf("edge: %w", err)
	}
	if ids, err := e.imageIDs(ctx, x.Ref); err != nil || len(ids) > 0 {
		return err
	}
	res := "Image " + x.Ref
	s.on(res, api.Working, "Making it of this wbd")
	if err := e.importEdgeImage(ctx, x); err != nil {
		s.on(res, api.Error, err.Error())
		return fmt.Errorf("edge: make image %s of %s: %w", x.Ref, x.Path, err)
	}
	s.on(res, api.Done, "Made")
	e.pruneEdgeImages(ctx, x.Ref)
	return nil
}

// importEdgeImage imports x as its image. To a remote engine the tar is
// compressed: the binary is tens of megabytes.
func (e *Engine) importEdgeImage(ctx context.Context, x edge.Executable) error {
	pr, pw := io.Pipe()
	go func() {
		var w io.Writer = pw
		var gz *gzip.Writer
		if !e.local() {
			gz, _ = gzip.NewWriterLevel(pw, gzip.BestSpeed)
			w = gz
		}
		err := x.WriteImage(w)
		if err == nil && gz != nil {
			err = gz.Close()
		}
		pw.CloseWithError(err)
	}()
	repo, tag, _ := strings.Cut(x.Ref, ":")
	rc, err := e.api.ImageImport(ctx, client.ImageImportSource{Source: pr, SourceName: "-"}, repo,
		client.ImageImportOptions{Tag: tag, Changes: x.ImageChanges(), Message: "wbd edge, made of " + x.Path})
	if err != nil {
		pr.CloseWithError(err)
		return err
	}
	defer rc.Close()
	// The engine streams JSON messages; an error comes as one of them.
	dec := json.NewDecoder(rc)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
	if ids, err := e.imageIDs(ctx, x.Ref); err != nil || len(ids) == 0 {
		return fmt.Errorf("the engine does not show the imported image (%v)", err)
	}
	return nil
}

// pruneEdgeImages removes the edge images other than keep that no
// container uses: the engine refuses to remove one that a container, even
// a stopped one, was created from.
func (e *Engine) pruneEdgeImages(ctx context.Context, keep string) {
	list, err := e.api.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("reference", edge.Repository)})
	if err != nil {
		return
	}
	for _, img := range list.Items {
		for _, ref := range img.RepoTags {
			if ref == keep || !strings.HasPrefix(ref, edge.Repository+":") {
				continue
			}
			if _, err := e.api.ImageRemove(ctx, ref, client.ImageRemoveOptions{}); err == nil {
				e.log.Info("removed the edge image of an earlier wbd", "image", ref)
			} else if !errdefs.IsConflict(err) && !errdefs.IsNotFound(err) {
				e.log.Debug("cannot remove an edge image", "image", ref, "error", err)
			}
		}
	}
}

// arch is the engine's architecture as it names it (uname -m), read once.
func (e *Engine) arch(ctx context.Context) (string, error) {
	e.archMu.Lock()
	defer e.archMu.Unlock()
	if e.archName != "" {
		return e.archName, nil
	}
	info, err := e.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return "", fmt.Errorf("ask the engine its architecture: %w", err)
	}
	e.archName = info.Info.Architecture
	return e.archName, nil
}
