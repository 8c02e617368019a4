package spec

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// edge: true, false or {drain: D}, per instance or in defaults; an
// instance's value overrides the defaults' and keeps their drain.
func TestEdge(t *testing.T) {
	on := &Edge{Drain: DefaultEdgeDrain}
	tests := []struct {
		name     string
		defaults string // the edge line under defaults, "" for none
		instance string // the edge line of the instance
		want     *Edge
	}{
		{"off by default", "", "", nil},
		{"true", "", "edge: true", on},
		{"false", "", "edge: false", nil},
		{"drain", "", "edge: {drain: 5s}", &Edge{Drain: 5 * time.Second}},
		{"drain 0", "", "edge: {drain: 0s}", &Edge{}},
		{"empty mapping is on", "", "edge: {}", on},
		{"all commented out is off", "", "edge:\n      # drain: 5s", nil},
		{"from defaults", "edge: true", "", on},
		{"defaults' drain", "edge: {drain: 1m}", "", &Edge{Drain: time.Minute}},
		{"instance turns it off", "edge: {drain: 1m}", "edge: false", nil},
		{"instance true keeps defaults' drain", "edge: {drain: 1m}", "edge: true", &Edge{Drain: time.Minute}},
		{"instance drain wins", "edge: {drain: 1m}", "edge: {drain: 2s}", &Edge{Drain: 2 * time.Second}},
		{"instance turns it on", "edge: false", "edge: {drain: 2s}", &Edge{Drain: 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := "version: 1\nroot: /srv/wbd\n"
			if tt.defaults != "" {
				file += "defaults:\n  " + tt.defaults + "\n"
			}
			file += "instances:\n  aa:\n    port: 8001\n    images: {app: x}\n"
			if tt.instance != "" {
				file += "    " + tt.instance + "\n"
			}
			cfg, err := Parse("x.yaml", []byte(file))
			if err != nil {
				t.Fatalf("%v\n%s", err, file)
			}
			if got := cfg.Instance("aa").Edge; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Edge=%+v, want %+v\n%s", got, tt.want, file)
			}
		})
	}
}

func TestEdgeErrors(t *testing.T) {
	const head = "version: 1\nroot: /srv/wbd\ninstances:\n  aa:\n    port: 8001\n    images: {app: x}\n"
	const duration = "must be a duration from 0s (close at once) to 1h0m0s, such as 30s, got "
	tests := []struct {
		name, file, want string
		is               error
	}{
		{"not a switch", head + "    edge: on\n", `x.yaml:7:11: instances.aa.edge: must be true, false or {drain: 30s}, got a string`, ErrType},
		{"a number", head + "    edge: 1\n", `x.yaml:7:11: instances.aa.edge: must be true, false or {drain: 30s}, got a number`, ErrType},
		{"a list", head + "    edge: [drain]\n", `x.yaml:7:11: instances.aa.edge: must be true, false or {drain: 30s}, got a list`, ErrType},
		{"unknown key", head + "    edge: {drian: 5s}\n", `x.yaml:7:12: instances.aa.edge.drian: unknown field "drian" (known: drain)`, ErrUnknownField},
		{"no unit", head + "    edge: {drain: 30}\n", `x.yaml:7:19: instances.aa.edge.drain: ` + duration + `"30"`, ErrType},
		{"negative", head + "    edge: {drain: -1s}\n", `x.yaml:7:19: instances.aa.edge.drain: ` + duration + `"-1s"`, ErrType},
		{"too long", head + "    edge: {drain: 2h}\n", `x.yaml:7:19: instances.aa.edge.drain: ` + duration + `"2h"`, ErrType},
		{"in defaults", "version: 1\nroot: /srv/wbd\ndefaults:\n  edge: {drain: soon}\ninstances: {}\n", `x.yaml:4:17: defaults.edge.drain: ` + duration + `"soon"`, ErrType},
		{"the edge's container name is another instance's", "version: 1\nroot: /srv/wbd\ninstances:\n  aa:\n    port: 8001\n    images: {app: x}\n    edge: true\n  aa-edge:\n    port: 8002\n    images: {app: x}\n",
			`x.yaml:8:3: instances.aa-edge: instance name "aa-edge" is the container name of instance aa's edge container; rename one of them`, ErrName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.file))
			var list ErrorList
			if !errors.As(err, &list) || len(list) != 1 {
				t.Fatalf("want one error, got %v", err)
			}
			if got := list[0].Error(); got != tt.want {
				t.Errorf("error\n got %s\nwant %s", got, tt.want)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error does not unwrap to %v", tt.is)
			}
		})
	}
	// aa-edge beside an aa without edge is no conflict.
	file := strings.Replace(tests[len(tests)-1].file, "    edge: true\n", "", 1)
	if _, err := Parse("x.yaml", []byte(file)); err != nil {
		t.Errorf("aa-edge beside aa without an edge: %v", err)
	}
}
