package lifecycle

import (
	"bytes"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"
)

func TestDiffEnv(t *testing.T) {
	v := func(s string) *string { return &s }
	image := []string{"PATH=/usr/bin", "LANG=C"}
	for _, tc := range []struct {
		name string
		want types.MappingWithEquals
		have []string
		diff string
	}{
		{"same, image env ignored", types.MappingWithEquals{"A": v("1")}, []string{"PATH=/usr/bin", "LANG=C", "A=1"}, ""},
		{"changed value hidden", types.MappingWithEquals{"A": v("2")}, []string{"PATH=/usr/bin", "A=1"}, "~A"},
		{"added", types.MappingWithEquals{"A": v("1"), "B": v("2")}, []string{"A=1"}, "+B"},
		{"removed", types.MappingWithEquals{}, []string{"PATH=/usr/bin", "A=1"}, "-A"},
		{"image value overridden", types.MappingWithEquals{"LANG": v("C.UTF-8")}, []string{"LANG=C"}, "~LANG"},
	} {
		if got := diffEnv(tc.want, tc.have, image); got != tc.diff {
			t.Errorf("%s: diffEnv = %q, want %q", tc.name, got, tc.diff)
		}
	}
}

func TestDiffLabels(t *testing.T) {
	have := map[string]string{
		"io.wbd.managed": "true", "com.docker.compose.project": "x", "org.opencontainers.image.version": "15",
	}
	image := map[string]string{"org.opencontainers.image.version": "15"}
	if got := diffLabels(types.Labels{"io.wbd.managed": "true"}, have, image); got != "" {
		t.Errorf("diffLabels of equal labels = %q, want none", got)
	}
	if got, want := diffLabels(types.Labels{"io.wbd.managed": "false"}, have, image), `io.wbd.managed: "true" -> "false"`; got != want {
		t.Errorf("diffLabels = %q, want %q", got, want)
	}
}

func TestPlainProgress(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf)
	p.On(api.Resource{ID: "Container x", Status: api.Working, Text: "Starting"})
	p.On(api.Resource{ID: "Container x", Status: api.Working, Text: "Starting"})
	p.On(api.Resource{ID: "layer", ParentID: "Image y", Status: api.Working, Text: "Downloading"})
	p.On(api.Resource{ID: "Container x", Status: api.Done, Text: "Started"})
	p.On(api.Resource{ID: "Image y", Status: api.Error, Text: "Error", Details: "no registry"})
	// Down: the ordered stop, then compose's own down stops x again.
	for _, text := range []string{"Stopping", "Stopped", "Stopping", "Stopped", "Removing", "Removed"} {
		p.On(api.Resource{ID: "Container x", Status: api.Working, Text: text})
	}
	// Restart: stopped, started, then stopped again is reported again.
	for _, text := range []string{"Starting", "Started", "Stopping", "Stopped"} {
		p.On(api.Resource{ID: "Container z", Status: api.Working, Text: text})
	}
	want := "Container x  Starting\nContainer x  Started\nImage y  Error no registry\n" +
		"Container x  Stopping\nContainer x  Stopped\nContainer x  Removing\nContainer x  Removed\n" +
		"Container z  Starting\nContainer z  Started\nContainer z  Stopping\nContainer z  Stopped\n"
	if got := buf.String(); got != want {
		t.Errorf("progress =\n%s\nwant\n%s", got, want)
	}
}
