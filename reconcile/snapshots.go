package reconcile

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/spec"
	"github.com/wbd-dev/wbd/subnets"
)

// A pass reads each engine once: one list of containers and one of
// networks (lifecycle.Snapshot), from which every instance of the engine
// is planned and its projects pruned. A pass that takes long (it applies
// changes one after another) reads again before planning from a snapshot
// older than snapshotMaxAge.
const (
	snapshotMaxAge = 5 * time.Second
	// snapshotTimeout bounds the lists: an engine that stopped answering
	// mid-pass costs this once, not once per instance.
	snapshotTimeout = 30 * time.Second
)

// snapshots are the engines' snapshots of one pass, by HostKey.
type snapshots struct {
	mu sync.Mutex
	m  map[string]*snapshotEntry
}

type snapshotEntry struct {
	mu   sync.Mutex
	snap *lifecycle.Snapshot
	err  error
	at   time.Time
}

func newSnapshots() *snapshots { return &snapshots{m: map[string]*snapshotEntry{}} }

// get returns host's snapshot for the pass, taking it on first use. When
// the engine does not answer it, the host is marked down (after a ping),
// and every instance of the host waiting for it gets that error: one
// timeout for the host, not one each.
func (r *Reconciler) snapshot(ctx context.Context, ss *snapshots, host string, eng Engine) (*lifecycle.Snapshot, error) {
	ss.mu.Lock()
	en, ok := ss.m[host]
	if !ok {
		en = &snapshotEntry{}
		ss.m[host] = en
	}
	ss.mu.Unlock()
	en.mu.Lock()
	defer en.mu.Unlock()
	if en.err != nil {
		return nil, en.err
	}
	if en.snap != nil && time.Since(en.at) < snapshotMaxAge {
		return en.snap, nil
	}
	lctx, cancel := context.WithTimeout(ctx, snapshotTimeout)
	snap, err := eng.Snapshot(lctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if perr := eng.Ping(ctx); perr != nil {
			r.hosts.down(host, perr)
			err = &UnreachableError{Host: host, Next: r.hosts.retryAt(host), Err: perr}
		} else {
			err = fmt.Errorf("%s: %w", hostName(host), err)
		}
		en.err = err
		return nil, err
	}
	en.snap, en.at = snap, time.Now()
	return snap, nil
}

// networks tells subnets.Assign the networks of each instance's engine,
// asking each engine once; an engine that does not answer is not known.
func (r *Reconciler) networks() subnets.Lister {
	var mu sync.Mutex
	byHost := map[string][]subnets.Network{}
	known := map[string]bool{}
	return func(ctx context.Context, in *spec.Instance) ([]subnets.Network, bool) {
		host := HostKey(in.Host)
		mu.Lock()
		defer mu.Unlock()
		if ok, asked := known[host]; asked {
			return byHost[host], ok
		}
		known[host] = false
		eng, err := r.hosts.get(ctx, host)
		if err != nil {
			return nil, false
		}
		nets, err := eng.Networks(ctx)
		if err != nil {
			r.log.Warn("cannot list the networks of a host; its new instances' subnets are chosen from the records alone", keyHost, hostName(host), keyError, err)
			return nil, false
		}
		byHost[host], known[host] = nets, true
		return nets, true
	}
}
