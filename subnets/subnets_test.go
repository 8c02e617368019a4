package subnets

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/spec"
)

// config is a file of the named instances under a fresh root.
func config(t *testing.T, root string, pool spec.Networks, names ...string) *spec.Config {
	t.Helper()
	cfg := &spec.Config{Root: root, Networks: pool}
	for _, n := range names {
		cfg.Instances = append(cfg.Instances, &spec.Instance{Name: n, Dir: filepath.Join(root, n)})
	}
	return cfg
}

// engine is a Lister of fixed networks; nil nets: it does not answer.
type engine struct {
	nets  []Network
	asked int
}

func (e *engine) list(context.Context, *spec.Instance) ([]Network, bool) {
	e.asked++
	return e.nets, e.nets != nil
}

func subnetsOf(cfg *spec.Config) map[string]string {
	out := map[string]string{}
	for _, in := range cfg.Instances {
		out[in.Name] = in.Subnet
	}
	return out
}

var record = Options{Record: true, Who: "test"}

// nth is the subnet i places after where root's search starts.
func nth(root string, pool spec.Networks, i int) string {
	start := offset(&spec.Instance{Dir: filepath.Join(root, "x")})
	n := 0
	p, _ := free(pool, start, func(netip.Prefix) bool { n++; return n <= i })
	return p.String()
}

func TestAssignInFileOrderAndKeeps(t *testing.T) {
	root := t.TempDir()
	eng := &engine{nets: []Network{{Name: "bridge", Subnets: []netip.Prefix{netip.MustParsePrefix("172.17.0.0/16")}}}}
	cfg := config(t, root, spec.DefaultNetworks, "a", "b", "c")
	if err := Assign(t.Context(), cfg, cfg.Instances, eng.list, record); err != nil {
		t.Fatal(err)
	}
	at := func(i int) string { return nth(root, spec.DefaultNetworks, i) }
	want := map[string]string{"a": at(0), "b": at(1), "c": at(2)}
	if got := subnetsOf(cfg); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("subnets %v, want %v", got, want)
	}

	t.Run("a new file order changes nothing", func(t *testing.T) {
		again := config(t, root, spec.DefaultNetworks, "new", "c", "b", "a")
		if err := Assign(t.Context(), again, again.Instances, eng.list, record); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"a": at(0), "b": at(1), "c": at(2), "new": at(3)}
		if got := subnetsOf(again); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("subnets %v, want %v", got, want)
		}
	})
	t.Run("an instance that left the file keeps its subnet", func(t *testing.T) {
		// b left the file; its directory, and so its record, stay.
		later := config(t, root, spec.DefaultNetworks, "a", "c", "d")
		if err := Assign(t.Context(), later, later.Instances, eng.list, record); err != nil {
			t.Fatal(err)
		}
		if got := subnetsOf(later)["d"]; got != at(4) {
			t.Fatalf("d got %s, want the first subnet no record holds, %s (b's %s stays b's)", got, at(4), at(1))
		}
	})
	t.Run("a changed pool leaves recorded subnets alone", func(t *testing.T) {
		other := spec.Networks{Pool: netip.MustParsePrefix("192.168.128.0/17"), Size: 24}
		later := config(t, root, other, "a", "e")
		if err := Assign(t.Context(), later, later.Instances, eng.list, record); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"a": at(0), "e": nth(root, other, 0)}
		if got := subnetsOf(later); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("subnets %v, want %v", got, want)
		}
	})
	t.Run("the record is in the instance directory", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(root, "a", File))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(data)); got != "{\n  \"subnet\": \""+at(0)+"\"\n}" {
			t.Errorf("record %q", got)
		}
	})
}

func TestAssignAvoidsNetworksItDoesNotOwn(t *testing.T) {
	root := t.TempDir()
	at := func(i int) string { return nth(root, spec.DefaultNetworks, i) }
	prefix := func(i int) netip.Prefix { return netip.MustParsePrefix(at(i)) }
	two, _ := prefix(0).Addr().Prev().Prefix(25) // a /25 of someone else's, ending where a's search starts
	eng := &engine{nets: []Network{
		{Name: "someone-elses", Subnets: []netip.Prefix{two, prefix(0)}},
		{Name: "x", Instance: "other-root-x", Subnets: []netip.Prefix{prefix(1)}},
	}}
	cfg := config(t, root, spec.DefaultNetworks, "a")
	if err := Assign(t.Context(), cfg, cfg.Instances, eng.list, record); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Instances[0].Subnet; got != at(2) {
		t.Fatalf("a got %s, want %s, past the networks of others", got, at(2))
	}

	t.Run("a record that came to overlap is moved while its network is absent", func(t *testing.T) {
		eng.nets = append(eng.nets, Network{Name: "late", Subnets: []netip.Prefix{prefix(2)}})
		if err := Assign(t.Context(), cfg, cfg.Instances, eng.list, record); err != nil {
			t.Fatal(err)
		}
		if got := cfg.Instances[0].Subnet; got != at(3) {
			t.Fatalf("a got %s, want %s", got, at(3))
		}
	})
	t.Run("and never once its network exists", func(t *testing.T) {
		wide, _ := prefix(3).Addr().Prefix(24)
		eng.nets = append(eng.nets, Network{Name: "a", Instance: "a", Subnets: []netip.Prefix{prefix(3)}},
			Network{Name: "later-still", Subnets: []netip.Prefix{wide}})
		if err := Assign(t.Context(), cfg, cfg.Instances, eng.list, record); err != nil {
			t.Fatal(err)
		}
		if got := cfg.Instances[0].Subnet; got != at(3) {
			t.Fatalf("a got %s under its running network, want %s", got, at(3))
		}
	})
}

func TestAssignAdoptsAnExistingNetwork(t *testing.T) {
	root := t.TempDir()
	docker := netip.MustParsePrefix("172.20.0.0/16")
	eng := &engine{nets: []Network{{Name: "old", Instance: "old", Subnets: []netip.Prefix{docker}}}}
	cfg := config(t, root, spec.DefaultNetworks, "old", "new")
	if err := Assign(t.Context(), cfg, cfg.Instances, eng.list, record); err != nil {
		t.Fatal(err)
	}
	at := func(i int) string { return nth(root, spec.DefaultNetworks, i) }
	if got := subnetsOf(cfg); got["old"] != "" || got["new"] != at(0) {
		t.Fatalf("subnets %v: want old left to Docker (its network exists) and new from the pool", got)
	}
	recs, err := records(root)
	if err != nil {
		t.Fatal(err)
	}
	if got := recs["old"]; got != (Record{Subnet: docker, Adopted: true}) {
		t.Errorf("old's record %+v, want Docker's subnet, adopted", got)
	}
	t.Run("once its network is gone it gets one of the pool", func(t *testing.T) {
		eng.nets = []Network{} // the engine answers, and holds nothing
		if err := Assign(t.Context(), cfg, cfg.Instances, eng.list, record); err != nil {
			t.Fatal(err)
		}
		if got := subnetsOf(cfg)["old"]; got != at(1) {
			t.Fatalf("old got %q, want %s", got, at(1))
		}
	})
}

func TestAssignWithoutTheEngine(t *testing.T) {
	root := t.TempDir()
	cfg := config(t, root, spec.DefaultNetworks, "applied", "new")
	if err := instdir.MkdirAllIn(root, filepath.Join(root, "applied"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "applied", instdir.ComposeFile), []byte("services: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	down := &engine{}
	if err := Assign(t.Context(), cfg, cfg.Instances, down.list, Options{}); err != nil {
		t.Fatal(err)
	}
	at := func(i int) string { return nth(root, spec.DefaultNetworks, i) }
	if got := subnetsOf(cfg); got["applied"] != "" || got["new"] != at(0) {
		t.Fatalf("subnets %v: want the applied instance left as it was (it may have a network) and the new one from the pool", got)
	}
	if _, err := os.Stat(filepath.Join(root, "new", File)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a render that only shows recorded a subnet: %v", err)
	}

	t.Run("a recorded subnet needs no engine", func(t *testing.T) {
		in := cfg.Instances[1]
		if err := Keep(t.Context(), root, in, "test"); err != nil {
			t.Fatal(err)
		}
		down.asked = 0
		if err := Assign(t.Context(), cfg, cfg.Instances[1:], down.list, Options{}); err != nil {
			t.Fatal(err)
		}
		if in.Subnet != at(0) || down.asked != 0 {
			t.Errorf("subnet %q after asking the engine %d times, want the record's without asking", in.Subnet, down.asked)
		}
	})
	t.Run("Keep refuses a subnet another instance took", func(t *testing.T) {
		other := &spec.Instance{Name: "other", Dir: filepath.Join(root, "other"), Subnet: at(0)}
		err := Keep(t.Context(), root, other, "test")
		if err == nil || !strings.Contains(err.Error(), "which new has since taken: render it again") {
			t.Fatalf("Keep: %v", err)
		}
	})
}

func TestAssignFullPool(t *testing.T) {
	root := t.TempDir()
	tiny := spec.Networks{Pool: netip.MustParsePrefix("10.9.0.0/27"), Size: 28}
	cfg := config(t, root, tiny, "a", "b", "c")
	err := Assign(t.Context(), cfg, cfg.Instances, (&engine{nets: []Network{}}).list, record)
	var full *FullError
	if !errors.As(err, &full) || fmt.Sprint(full.Instances) != "[c]" {
		t.Fatalf("err=%v, want the pool full for c", err)
	}
	if !strings.Contains(err.Error(), "10.9.0.0/27 in /28s has no free subnet left for [c]") {
		t.Errorf("message: %v", err)
	}
}

func TestAssignRefusesABadRecord(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "a", ".wbd"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "a", File)
	if err := os.WriteFile(path, []byte("{\"subnet\": \"nonsense\"}"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config(t, root, spec.DefaultNetworks, "b")
	err := Assign(t.Context(), cfg, cfg.Instances, (&engine{}).list, Options{})
	if err == nil || !strings.Contains(err.Error(), path+": not a subnet record") {
		t.Fatalf("err=%v, want the bad record named", err)
	}
}
