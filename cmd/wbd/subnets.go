package main

import (
	"context"
	"io"
	"sync"

	"github.com/wbd-dev/wbd/spec"
	"github.com/wbd-dev/wbd/subnets"
)

// engineNetworks tells subnets.Assign the networks of each instance's
// engine, connecting to each host once, and only for an instance whose
// subnet the records do not settle (a new one, or one applied before wbd
// chose subnets). close releases the connections.
func engineNetworks() (list subnets.Lister, close func()) {
	es := newEngines(io.Discard)
	var mu sync.Mutex
	byHost := map[string][]subnets.Network{}
	known := map[string]bool{}
	return func(ctx context.Context, in *spec.Instance) ([]subnets.Network, bool) {
		mu.Lock()
		defer mu.Unlock()
		if ok, asked := known[in.Host]; asked {
			return byHost[in.Host], ok
		}
		known[in.Host] = false
		eng, err := es.get(ctx, in.Host)
		if err != nil {
			return nil, false // its operation says why
		}
		nets, err := eng.Networks(ctx)
		if err != nil {
			return nil, false
		}
		byHost[in.Host], known[in.Host] = nets, true
		return nets, true
	}, es.close
}
