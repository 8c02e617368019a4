package spec

import (
	"slices"
	"testing"
)

// An instance's pull list adds to the defaults', as a map merges: each
// image once, sorted.
func TestPullMerge(t *testing.T) {
	const file = `version: 1
root: /srv/wbd
defaults:
  images: {app: x}
  pull: [timroberton/comb:wb-hmis-r-linux, "busybox:1"]
instances:
  both:
    port: 8001
    pull: [alpine:3, timroberton/comb:wb-hmis-r-linux]
  inherits:
    port: 8002
  empty:
    port: 8003
    pull: []
  commented:
    port: 8004
    pull:
    #  - alpine:3
`
	cfg, err := Parse("x.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	defaults := []string{"busybox:1", "timroberton/comb:wb-hmis-r-linux"}
	for _, tt := range []struct {
		name string
		want []string
	}{
		{"both", []string{"alpine:3", "busybox:1", "timroberton/comb:wb-hmis-r-linux"}},
		{"inherits", defaults},
		{"empty", defaults},
		{"commented", defaults},
	} {
		if got := cfg.Instance(tt.name).Pull; !slices.Equal(got, tt.want) {
			t.Errorf("%s: Pull = %q, want %q", tt.name, got, tt.want)
		}
	}

	cfg, err = Parse("x.yaml", []byte("version: 1\nroot: /srv/wbd\ninstances:\n  aa: {port: 8001, images: {app: x}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Instance("aa").Pull; len(got) != 0 {
		t.Errorf("no pull anywhere: Pull = %q, want none", got)
	}
}
