package reconcile

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/wbd-dev/wbd/lifecycle"
)

// dirtySet gathers what engine events and host changes ask to look at,
// without blocking their senders, and wakes the loop.
type dirtySet struct {
	mu    sync.Mutex
	names map[string]bool
	hosts map[string]bool
	c     chan struct{}
}

func newDirtySet() *dirtySet {
	return &dirtySet{names: map[string]bool{}, hosts: map[string]bool{}, c: make(chan struct{}, 1)}
}

func (s *dirtySet) add(name string) {
	s.mu.Lock()
	s.names[name] = true
	s.mu.Unlock()
	s.poke()
}

func (s *dirtySet) addHost(host string) {
	s.mu.Lock()
	s.hosts[host] = true
	s.mu.Unlock()
	s.poke()
}

// poke wakes the loop, to look at its timers again.
func (s *dirtySet) poke() {
	select {
	case s.c <- struct{}{}:
	default:
	}
}

// take empties the set.
func (s *dirtySet) take() (names, hosts []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names, hosts = slices.Sorted(maps.Keys(s.names)), slices.Sorted(maps.Keys(s.hosts))
	clear(s.names)
	clear(s.hosts)
	return names, hosts
}

// pumps runs one event stream per host of the configuration in force.
type pumps struct {
	wg      sync.WaitGroup
	running map[string]pump
}

type pump struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// sync starts a stream for each host of d without one, and stops those of
// hosts no longer in it, waiting until they have let go of their engine.
func (p *pumps) sync(ctx context.Context, r *Reconciler, d *Desired) {
	if p.running == nil {
		p.running = map[string]pump{}
	}
	want := map[string]bool{}
	for _, in := range d.Config.Instances {
		want[HostKey(in.Host)] = true
	}
	for host, s := range p.running {
		if !want[host] {
			s.cancel()
			<-s.done
			delete(p.running, host)
		}
	}
	for host := range want {
		if _, ok := p.running[host]; ok {
			continue
		}
		hctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		p.running[host] = pump{cancel, done}
		p.wg.Go(func() {
			defer close(done)
			r.watchEvents(hctx, host)
		})
	}
}

func (p *pumps) stop() {
	for _, s := range p.running {
		s.cancel()
	}
	p.wg.Wait()
}

// watchEvents marks an instance dirty whenever host's engine says one of
// its containers died, stopped or went away. When the stream breaks the
// engine is checked and the stream opened again once it answers.
func (r *Reconciler) watchEvents(ctx context.Context, host string) {
	r.hosts.watch(host, true)
	defer r.hosts.watch(host, false)
	for {
		eng, err := r.hosts.reach(ctx, host, true)
		if err == nil {
			err = eng.Events(ctx, func(ev lifecycle.Event) {
				r.log.Debug("engine event", keyInstance, ev.Instance, "service", ev.Service, "action", ev.Action)
				r.dirty.add(ev.Instance)
			})
			if ctx.Err() != nil {
				return
			}
			if perr := eng.Ping(ctx); perr != nil {
				r.hosts.down(host, perr)
			} else {
				r.log.Debug("engine event stream ended; opening it again", keyHost, hostName(host), keyError, err)
			}
		}
		wait := r.cfg.Retry.HostBase
		if next := r.hosts.retryAt(host); !next.IsZero() {
			wait = max(wait, next.Sub(r.cfg.Now()))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
