package spec

import (
	"errors"
	"net/netip"
	"testing"
)

func TestNetworks(t *testing.T) {
	const head = "version: 1\nroot: /srv/wbd\n"
	const tail = "instances:\n  aa:\n    port: 8001\n    images: {app: x}\n"
	tests := []struct {
		name, networks string
		want           Networks
		err            string // whole error; "" for none
	}{
		{"default", "", DefaultNetworks, ""},
		{"null", "networks:\n", DefaultNetworks, ""},
		{"pool and size", "networks:\n  pool: 10.50.0.0/20\n  size: 28\n", Networks{netip.MustParsePrefix("10.50.0.0/20"), 28}, ""},
		{"pool alone keeps /26", "networks: {pool: 192.168.64.0/18}\n", Networks{netip.MustParsePrefix("192.168.64.0/18"), 26}, ""},
		{"size alone keeps the pool", "networks: {size: 24}\n", Networks{DefaultNetworks.Pool, 24}, ""},
		{"not a mapping", "networks: 10.0.0.0/8\n", DefaultNetworks,
			"x.yaml:3:11: networks: must be a mapping with pool and size, got a string"},
		{"unknown key", "networks: {pools: 10.0.0.0/8}\n", DefaultNetworks,
			`x.yaml:3:12: networks.pools: unknown field "pools" (known: pool, size)`},
		{"not a range", "networks: {pool: 10.0.0.1}\n", DefaultNetworks,
			`x.yaml:3:18: networks.pool: must be an IPv4 range such as 10.213.0.0/16, got "10.0.0.1"`},
		{"host bits", "networks: {pool: 10.213.7.0/16}\n", DefaultNetworks,
			"x.yaml:3:18: networks.pool: 10.213.7.0/16 has bits set past its /16; did you mean 10.213.0.0/16?"},
		{"IPv6", "networks: {pool: \"fd00::/64\"}\n", DefaultNetworks,
			"x.yaml:3:18: networks.pool: must be an IPv4 range, got fd00::/64: Docker's bridge networks take an IPv4 subnet"},
		{"public", "networks: {pool: 8.8.0.0/16}\n", DefaultNetworks,
			"x.yaml:3:18: networks.pool: 8.8.0.0/16 is not a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16): containers would shadow addresses of the internet"},
		{"size too small", "networks: {size: 30}\n", DefaultNetworks,
			"x.yaml:3:18: networks.size: must be 12 to 29 (a /29 holds 8 addresses), got 30"},
		{"size not a number", "networks: {size: /26}\n", DefaultNetworks,
			`x.yaml:3:18: networks.size: must be a prefix length such as 26 (a /26 per instance), got "/26"`},
		{"size octal", "networks: {size: 026}\n", DefaultNetworks,
			"x.yaml:3:18: networks.size: integers in instances.yaml are decimal, got 026: write it without leading zeros, 0x, 0o, '_', '+' or a fraction"},
		{"subnet wider than the pool", "networks:\n  pool: 10.1.0.0/24\n  size: 20\n", Networks{netip.MustParsePrefix("10.1.0.0/24"), 20},
			"x.yaml:5:9: networks.size: each instance's subnet (/20) must fit in the pool 10.1.0.0/24: give a size of 24 or more"},
		{"default size wider than the pool", "networks: {pool: 10.1.0.0/28}\n", Networks{netip.MustParsePrefix("10.1.0.0/28"), 26},
			"x.yaml:3:18: networks.pool: each instance's subnet (/26) must fit in the pool 10.1.0.0/28: give a size of 28 or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("x.yaml", []byte(head+tt.networks+tail))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error:\n got %v\nwant %s", err, tt.err)
				}
				if !errors.Is(err, ErrNetworks) && !errors.Is(err, ErrType) && !errors.Is(err, ErrUnknownField) {
					t.Errorf("error %v is none of the sentinels", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Networks != tt.want {
				t.Errorf("networks %v, want %v", cfg.Networks, tt.want)
			}
		})
	}
	if n := DefaultNetworks.Subnets(); n != 1024 {
		t.Errorf("the default pool holds %d subnets, want 1024", n)
	}
}
