package spec

import (
	"errors"
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

// What a pull list may not hold, each error where it stands.
func TestPullErrors(t *testing.T) {
	const head = "version: 1\nroot: /srv/wbd\ninstances:\n  aa:\n    port: 8001\n    images: {app: x}\n"
	for _, tt := range []struct {
		name, file, want string
		is               error
	}{
		{"not a list", head + "    pull: alpine:3\n", "x.yaml:7:11: instances.aa.pull: must be a list of image references, e.g. [timroberton/comb:wb-hmis-r-linux], got a string", ErrType},
		{"a mapping", head + "    pull: {alpine: 3}\n", "x.yaml:7:11: instances.aa.pull: must be a list of image references, e.g. [timroberton/comb:wb-hmis-r-linux], got a mapping", ErrType},
		{"entry not a string", head + "    pull: [alpine:3, [busybox]]\n", "x.yaml:7:22: instances.aa.pull[1]: must be a string, got a list", ErrType},
		{"invalid reference", head + "    pull:\n      - alpine:3\n      - Comb:Latest\n", "x.yaml:9:9: instances.aa.pull[1]: invalid image reference \"Comb:Latest\": invalid reference format: repository name (library/Comb) must be lowercase", ErrImage},
		{"empty", head + "    pull: [\"\"]\n", "x.yaml:7:12: instances.aa.pull[0]: must be an image reference such as postgres:17.4, got an empty value", ErrImage},
		{"null entry", head + "    pull: [~]\n", "x.yaml:7:12: instances.aa.pull[0]: must be an image reference such as postgres:17.4, got an empty value", ErrImage},
		{"twice", head + "    pull:\n      - alpine:3\n      - alpine:3\n", "x.yaml:9:9: instances.aa.pull[1]: image \"alpine:3\" is listed twice, first at line 8", ErrDuplicate},
		{"in defaults", "version: 1\nroot: /srv/wbd\ndefaults:\n  pull: [\"a b\"]\ninstances: {}\n", "x.yaml:4:10: defaults.pull[0]: invalid image reference \"a b\": invalid reference format", ErrImage},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.file))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Parse error:\n got %v\nwant %s", err, tt.want)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v)=false", tt.is)
			}
		})
	}
}
