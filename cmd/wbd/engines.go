package main

import (
	"context"
	"io"
	"sync"

	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/spec"
)

// engines connects to each Docker endpoint once, on first use, and
// remembers a failure so that every instance of an unreachable host fails
// at once with the same message while the others go on. Endpoints are
// keyed as the daemon keys them (reconcile.HostKey): one engine written
// two ways is one connection.
type engines struct {
	progress io.Writer
	display  *lifecycle.Display // every engine's progress, when set
	color    *bool              // see lifecycle.WithColor

	mu   sync.Mutex
	open map[string]*lifecycle.Engine
	errs map[string]error

	snapMu sync.Mutex
	snaps  map[string]*lifecycle.Snapshot
}

func newEngines(progress io.Writer) *engines {
	return &engines{progress: progress, open: map[string]*lifecycle.Engine{}, errs: map[string]error{}, snaps: map[string]*lifecycle.Snapshot{}}
}

// snapshot is host's engine as one read saw it, read once for the
// command: many instances of a host are checked from it as the daemon
// checks them, not each with reads of its own.
func (es *engines) snapshot(ctx context.Context, host string, eng *lifecycle.Engine) (*lifecycle.Snapshot, error) {
	host = reconcile.HostKey(host)
	es.snapMu.Lock()
	defer es.snapMu.Unlock()
	if s, ok := es.snaps[host]; ok {
		return s, nil
	}
	s, err := eng.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	es.snaps[host] = s
	return s, nil
}

func (es *engines) get(ctx context.Context, host string) (*lifecycle.Engine, error) {
	host = reconcile.HostKey(host)
	es.mu.Lock()
	defer es.mu.Unlock()
	if e, ok := es.open[host]; ok {
		return e, nil
	}
	if err, ok := es.errs[host]; ok {
		return nil, err
	}
	opts := []lifecycle.Option{lifecycle.WithProgress(es.progress)}
	if es.display != nil {
		opts = append(opts, lifecycle.WithDisplay(es.display))
	}
	if es.color != nil {
		opts = append(opts, lifecycle.WithColor(*es.color))
	}
	e, err := lifecycle.Connect(ctx, host, opts...)
	if err != nil {
		es.errs[host] = err
		return nil, err
	}
	es.open[host] = e
	return e, nil
}

// endProgress ends the progress display: call it before printing the
// outcome, which the display would otherwise draw over.
func (es *engines) endProgress() {
	if es.display != nil {
		es.display.End()
	}
}

func (es *engines) close() {
	es.endProgress()
	es.mu.Lock()
	defer es.mu.Unlock()
	for h, e := range es.open {
		e.Close()
		delete(es.open, h)
	}
}

// locked runs fn with in's engine while holding in's lock, as who.
func (es *engines) locked(ctx context.Context, in *spec.Instance, who string, fn func(*lifecycle.Engine) (string, []string, error)) (string, []string, error) {
	unlock, err := instdir.Lock(in, who)
	if err != nil {
		return "", nil, err
	}
	defer unlock()
	eng, err := es.get(ctx, in.Host)
	if err != nil {
		return "", nil, err
	}
	return fn(eng)
}
