// Package subnets gives each instance network a subnet of its own from the
// pool of instances.yaml (spec.Networks), so that an engine holds as many
// instances as the pool has subnets: Docker's default address pools end a
// host at about 30 bridge networks, and raising them means editing
// daemon.json and restarting the engine.
//
// An instance's subnet is recorded in {root}/NAME/.wbd/subnet.json, owned
// like the rest of the instance directory, the first time the instance is
// rendered for an operation. It never changes while the record is there:
// across applies, daemon restarts and `wbd down`, and it is never given to
// another instance while the directory exists (wbd never removes one). A
// subnet is chosen in file order: the first of the pool, counting from a
// place of the root's own, that no record holds and that overlaps no
// network on the instance's engine but the instance's own. An instance whose network exists already, made
// before wbd chose subnets, keeps the subnet Docker gave it (recorded as
// adopted): giving the network another would make compose recreate it,
// stopping every container on it.
package subnets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/netip"
	"path/filepath"
	"slices"
	"time"

	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/spec"
)

// File is where an instance's record is kept, in its directory.
const File = ".wbd/subnet.json"

// lockFile serialises the choice of subnets under one root.
const lockFile = ".wbd-subnets.lock"

// Record is what the instance directory keeps of its subnet.
type Record struct {
	Subnet netip.Prefix `json:"subnet"`
	// Adopted: the instance's network existed before wbd chose its
	// subnet and keeps the one Docker gave it. The rendered project then
	// leaves the subnet to Docker, as before, so compose does not see a
	// changed network; once that network is gone, the instance gets one
	// of the pool.
	Adopted bool `json:"adopted,omitempty"`
}

// Network is a network on an engine, as Assign needs it.
type Network struct {
	Name string
	// Instance is the wbd instance the network belongs to (its
	// io.wbd.instance label, with io.wbd.managed=true), or "".
	Instance string
	Subnets  []netip.Prefix
}

// Lister lists the networks on the engine of instance in; ok is false when
// that engine could not be asked (it does not answer, or the caller does
// not want to connect), and Assign then goes by the records alone.
type Lister func(ctx context.Context, in *spec.Instance) (nets []Network, ok bool)

// Options tunes Assign.
type Options struct {
	// Record writes the records of the subnets chosen: the operations
	// (apply, the daemon) do; what only shows (render, plan) does not, and
	// shows what would be chosen.
	Record bool
	// Who takes the lock, for whoever finds it held.
	Who string
}

// Assign sets in.Subnet of each of ins (instances of cfg) to what its project's network is to be created with: the recorded
// subnet, or one chosen now; "" for an adopted network or an instance
// whose engine could not be asked that may have one already. A full pool
// is an error naming it and the instances left without a subnet.
func Assign(ctx context.Context, cfg *spec.Config, ins []*spec.Instance, list Lister, opts Options) error {
	root := cfg.Root
	recs, unlock, err := read(ctx, root, opts.Who, opts.Record)
	if err != nil {
		return err
	}
	defer unlock()
	var full []string
	// Every instance of the file is given its subnet in file order, so
	// that rendering some of them chooses what rendering all would; only
	// those of ins are checked against their engine and recorded.
	for _, in := range cfg.Instances {
		chosen := slices.Contains(ins, in)
		rec, had := recs[in.Name]
		// The engine is asked only when its answer can matter: what a
		// record holds is kept unless the record may be wrong, which only
		// an operation (Options.Record) checks.
		var nets []Network
		known := false
		if chosen && (!had || rec.Adopted || opts.Record) {
			nets, known = list(ctx, in)
		}
		next, ok := decide(cfg.Networks, in, rec, had, nets, known, recs)
		if !ok {
			if chosen {
				full = append(full, in.Name)
			}
			in.Subnet = ""
			continue
		}
		if next != (Record{}) {
			recs[in.Name] = next
		}
		in.Subnet = ""
		if next.Subnet.IsValid() && !next.Adopted {
			in.Subnet = next.Subnet.String()
		}
		if chosen && opts.Record && next != rec && next.Subnet.IsValid() {
			if err := write(root, in, next); err != nil {
				return err
			}
		}
	}
	if len(full) > 0 {
		return &FullError{Pool: cfg.Networks, Instances: full}
	}
	return nil
}

// FullError says the pool has no subnet left for some instances.
type FullError struct {
	Pool      spec.Networks
	Instances []string
}

func (e *FullError) Error() string {
	return fmt.Sprintf("networks: the pool %s has no free subnet left for %v: its %d subnets are recorded for instances under root, or overlap networks on the engine; widen networks.pool or give a larger networks.size",
		e.Pool, e.Instances, e.Pool.Subnets())
}

// decide is the record instance in is to have; the zero Record, with ok,
// when it is to have none yet (its engine could not be asked, and it may
// have a network already); not ok when the pool is full.
func decide(pool spec.Networks, in *spec.Instance, rec Record, had bool, nets []Network, known bool, recs map[string]Record) (Record, bool) {
	var own *Network
	for i, n := range nets {
		if n.Name == in.Name && n.Instance == in.Name {
			own = &nets[i]
		}
	}
	switch {
	case own != nil && len(own.Subnets) > 0:
		if had && !rec.Adopted {
			return rec, true // created from the record, or compose will
		}
		return Record{Subnet: own.Subnets[0], Adopted: true}, true
	case had && !rec.Adopted && !(known && overlapsOthers(rec.Subnet, nets, in.Name)):
		return rec, true
	case had && rec.Adopted && !known:
		return rec, true // whether its network is gone is not known
	case !had && !known && existed(in):
		return Record{}, true
	}
	taken := func(p netip.Prefix) bool {
		for name, r := range recs {
			if name != in.Name && r.Subnet.Overlaps(p) {
				return true
			}
		}
		return known && overlapsOthers(p, nets, in.Name)
	}
	if p, ok := free(pool, offset(in), taken); ok {
		return Record{Subnet: p}, true
	}
	return Record{}, false
}

// existed reports whether in was applied before: its directory has a
// compose file.
func existed(in *spec.Instance) bool {
	_, err := instdir.ReadFileIn(filepath.Dir(in.Dir), in.Path(instdir.ComposeFile))
	return err == nil
}

// overlapsOthers reports whether p overlaps a network of nets that is not
// instance name's own.
func overlapsOthers(p netip.Prefix, nets []Network, name string) bool {
	for _, n := range nets {
		if n.Name == name && n.Instance == name {
			continue
		}
		if slices.ContainsFunc(n.Subnets, p.Overlaps) {
			return true
		}
	}
	return false
}

// offset is where in the pool the search for in's subnet starts: a
// place of its root's own, so that the instances of two roots on one
// engine (two instances files, or tests side by side) do not reach for
// the same subnet at the same moment, which Docker would refuse to the
// second. The instances of one root still take the subnets in turn.
func offset(in *spec.Instance) uint32 {
	h := fnv.New32a()
	h.Write([]byte(filepath.Dir(in.Dir)))
	return h.Sum32()
}

// free is the first subnet of pool from the one at index start (modulo
// its size) that taken does not refuse.
func free(pool spec.Networks, start uint32, taken func(netip.Prefix) bool) (netip.Prefix, bool) {
	base := pool.Pool.Addr().As4()
	first := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	step := uint32(1) << (32 - pool.Size)
	n := uint32(pool.Subnets())
	for i := range n {
		a := first + (start+i)%n*step
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), pool.Size)
		if !taken(p) {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// read reads the records under root, holding the root's subnet lock
// until unlock when locked (to write what it decides).
func read(ctx context.Context, root, who string, locked bool) (recs map[string]Record, unlock func(), err error) {
	unlock = func() {}
	if locked {
		if unlock, err = lock(ctx, root, who); err != nil {
			return nil, nil, err
		}
	}
	if recs, err = records(root); err != nil {
		unlock()
		return nil, nil, err
	}
	return recs, unlock, nil
}

// records reads the record of every instance directory under root, in
// the file or not: a subnet stays its instance's while the directory does.
func records(root string) (map[string]Record, error) {
	out := map[string]Record{}
	ents, err := instdir.ReadDirIn(root, root)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("subnets: %w", err)
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(root, e.Name(), File)
		data, err := instdir.ReadFileIn(root, path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("subnets: %w", err)
		}
		var r Record
		if err := json.Unmarshal(data, &r); err != nil || !r.Subnet.IsValid() {
			// A subnet that cannot be read may still be in use: refuse
			// rather than hand it out again.
			return nil, fmt.Errorf("subnets: %s: not a subnet record (%v); put it right or remove it", path, err)
		}
		out[e.Name()] = r
	}
	return out, nil
}

func write(root string, in *spec.Instance, r Record) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	path := in.Path(File)
	if err := instdir.MkdirAllIn(root, filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("subnets: record of %s: %w", in.Name, err)
	}
	if err := instdir.WriteFileIn(root, path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("subnets: record of %s: %w", in.Name, err)
	}
	return nil
}

// lock takes the root's subnet lock, waiting a little for another wbd
// choosing subnets (that takes milliseconds).
func lock(ctx context.Context, root, who string) (func(), error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		unlock, err := instdir.LockFile(root, filepath.Join(root, lockFile), who)
		var held *instdir.HeldError
		if !errors.As(err, &held) || time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("subnets: %w", err)
			}
			return unlock, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Keep records the subnet in's rendered project was given, when the
// instance has no record yet: an operation that applies a project
// rendered without recording (see Options.Record) keeps what it created.
// A record that says otherwise means another wbd chose meanwhile: the
// project is refused, to be rendered again.
func Keep(ctx context.Context, root string, in *spec.Instance, who string) error {
	if in.Subnet == "" {
		return nil
	}
	want, err := netip.ParsePrefix(in.Subnet)
	if err != nil {
		return fmt.Errorf("subnets: %s: %w", in.Name, err)
	}
	recs, unlock, err := read(ctx, root, who, true)
	if err != nil {
		return err
	}
	defer unlock()
	if rec, ok := recs[in.Name]; ok {
		if rec.Subnet != want || rec.Adopted {
			return fmt.Errorf("subnets: %s was rendered with subnet %s, but %s records %s: render it again", in.Name, want, in.Path(File), rec.Subnet)
		}
		return nil
	}
	for name, rec := range recs {
		if rec.Subnet.Overlaps(want) {
			return fmt.Errorf("subnets: %s was rendered with subnet %s, which %s has since taken: render it again", in.Name, want, name)
		}
	}
	return write(root, in, Record{Subnet: want})
}
