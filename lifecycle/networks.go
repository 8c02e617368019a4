package lifecycle

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/wbd-dev/wbd/subnets"
)

// Networks lists the engine's networks with their IPv4 subnets, in one
// request: what an instance's subnet must not overlap, and the network
// an instance has already.
func (e *Engine) Networks(ctx context.Context) ([]subnets.Network, error) {
	ns, err := e.api.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	return subnetsOf(ns.Items), nil
}

// Subnets is Networks as the snapshot saw them.
func (s *Snapshot) Subnets() []subnets.Network { return subnetsOf(s.networks) }

func subnetsOf(ns []network.Summary) []subnets.Network {
	out := make([]subnets.Network, 0, len(ns))
	for _, n := range ns {
		sn := subnets.Network{Name: n.Name}
		if owned(n.Labels) {
			sn.Instance = n.Labels[LabelInstance]
		}
		for _, c := range n.IPAM.Config {
			if c.Subnet.IsValid() && c.Subnet.Addr().Is4() {
				sn.Subnets = append(sn.Subnets, c.Subnet)
			}
		}
		out = append(out, sn)
	}
	return out
}
