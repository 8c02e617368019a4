package reconcile

import (
	"net/netip"
	"testing"

	"github.com/wbd-dev/wbd/subnets"
)

// TestSubnetsKeptAcrossRestarts: what a daemon's load chooses is recorded,
// and a daemon started again on an edited file (an instance added in
// front, one gone) gives every instance the subnet it had, avoiding what
// the engine holds of others.
func TestSubnetsKeptAcrossRestarts(t *testing.T) {
	e := newEnv(t, Config{})
	load := func(r *Reconciler, ins ...inst) map[string]string {
		t.Helper()
		d, err := RenderWith(t.Context(), parse(t, e.root, ins...), r.networks(), subnets.Options{Record: true, Who: "test"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, in := range d.Config.Instances {
			out[in.Name] = in.Subnet
		}
		return out
	}
	first := load(e.r, a1, b1, c1)
	for _, n := range []string{"alpha", "beta", "gamma"} {
		if _, err := netip.ParsePrefix(first[n]); err != nil {
			t.Fatalf("%s: subnet %q: %v", n, first[n], err)
		}
	}
	// Someone else's network takes what would come next.
	g := netip.MustParsePrefix(first["gamma"])
	a := g.Addr().As4()
	u := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) + 1<<(32-g.Bits())
	next := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}), g.Bits())
	e.local.nets = []subnets.Network{{Name: "theirs", Subnets: []netip.Prefix{next}}}

	restarted := newEnv(t, Config{})
	restarted.root = e.root
	restarted.local = e.local
	restarted.hosts.engines[""] = e.local
	delta := inst{name: "delta", app: "wbd.local/app:1", port: 40004}
	again := load(restarted.r, delta, a1, c1)
	for _, n := range []string{"alpha", "gamma"} {
		if again[n] != first[n] {
			t.Errorf("%s: subnet %s after a restart, want %s", n, again[n], first[n])
		}
	}
	d := netip.MustParsePrefix(again["delta"])
	for n, s := range first {
		if netip.MustParsePrefix(s).Overlaps(d) {
			t.Errorf("delta got %s, which %s holds (beta left the file; its directory stays)", d, n)
		}
	}
	if d.Overlaps(next) {
		t.Errorf("delta got %s, on a network the engine holds of someone else", d)
	}
}
