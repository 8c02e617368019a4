package spec

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// ErrNetworks is why a networks setting is refused.
var ErrNetworks = errors.New("invalid networks setting")

// Networks is where instance networks get their subnets: each instance's
// network is given one subnet of Size bits cut from Pool, kept for as long
// as the instance exists (package subnets), so that an engine holds as
// many instances as the pool has subnets, whatever its own address pools.
type Networks struct {
	Pool netip.Prefix
	Size int // prefix length of one instance's subnet
}

// Subnets is how many instance subnets the pool holds.
func (n Networks) Subnets() int { return 1 << (n.Size - n.Pool.Bits()) }

// DefaultNetworks is the pool when the file sets none: 1024 subnets of 64
// addresses, in a range Docker's own default pools (172.17-31.0.0/16,
// 192.168.0.0/16) leave alone.
var DefaultNetworks = Networks{Pool: netip.MustParsePrefix("10.213.0.0/16"), Size: 26}

// Subnet sizes an instance may get: a /29 holds the gateway and 5
// containers, the four services and one more; a /12 is already more than
// any engine needs.
const (
	smallestSubnet = 29
	largestSubnet  = 12
)

// networks reads the top-level networks setting:
//
//	networks:
//	  pool: 10.213.0.0/16   # IPv4, a private range
//	  size: 26              # each instance's subnet: /26, 64 addresses
func (p *parser) networks(n *yaml.Node, field string) Networks {
	out := DefaultNetworks
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return out
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, ErrType, "must be a mapping with pool and size, got %s", kind(n))
		return out
	}
	var poolNode, sizeNode *yaml.Node
	p.eachPair(n, field, func(key, val *yaml.Node, f string) {
		switch key.Value {
		case "pool":
			poolNode = val
			if pool, ok := p.pool(val, f); ok {
				out.Pool = pool
			}
		case "size":
			sizeNode = val
			if size, ok := p.subnetSize(val, f); ok {
				out.Size = size
			}
		default:
			p.unknown(key, f, "pool, size")
		}
	})
	if out.Size < out.Pool.Bits() {
		at, f := sizeNode, join(field, "size")
		if at == nil {
			at, f = poolNode, join(field, "pool")
		}
		p.errorf(at, f, ErrNetworks, "each instance's subnet (/%d) must fit in the pool %s: give a size of %d or more", out.Size, out.Pool, out.Pool.Bits())
	}
	return out
}

func (p *parser) pool(n *yaml.Node, field string) (netip.Prefix, bool) {
	s, ok := p.str(n, field)
	if !ok {
		return netip.Prefix{}, false
	}
	pool, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		p.errorf(n, field, ErrNetworks, "must be an IPv4 range such as %s, got %q", DefaultNetworks.Pool, s)
	case !pool.Addr().Is4():
		p.errorf(n, field, ErrNetworks, "must be an IPv4 range, got %s: Docker's bridge networks take an IPv4 subnet", s)
	case pool.Masked() != pool:
		p.errorf(n, field, ErrNetworks, "%s has bits set past its /%d; did you mean %s?", s, pool.Bits(), pool.Masked())
	case !pool.Addr().IsPrivate():
		p.errorf(n, field, ErrNetworks, "%s is not a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16): containers would shadow addresses of the internet", s)
	case pool.Bits() < 8:
		p.errorf(n, field, ErrNetworks, "%s is wider than a private range", s)
	default:
		return pool, true
	}
	return netip.Prefix{}, false
}

func (p *parser) subnetSize(n *yaml.Node, field string) (int, bool) {
	if n.Kind == yaml.ScalarNode && isNumber(n) && !decimalRE.MatchString(n.Value) {
		p.errorf(n, field, ErrNetworks, "%s", notDecimal(n))
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
		p.errorf(n, field, ErrNetworks, "must be a prefix length such as %d (a /%d per instance), got %s", DefaultNetworks.Size, DefaultNetworks.Size, describe(n))
		return 0, false
	}
	if v < largestSubnet || v > smallestSubnet {
		p.errorf(n, field, ErrNetworks, "must be %d to %d (a /%d holds %d addresses), got %d", largestSubnet, smallestSubnet, smallestSubnet, 1<<(32-smallestSubnet), v)
		return 0, false
	}
	return v, true
}

func (n Networks) String() string { return fmt.Sprintf("%s in /%ds", n.Pool, n.Size) }
