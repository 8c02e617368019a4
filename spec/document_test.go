package spec

import (
	"errors"
	"reflect"
	"testing"
)

const validDoc = "version: 1\nroot: /srv/wbd\ninstances:\n  aa: {port: 8001, images: {app: x}}\n"

func TestDocuments(t *testing.T) {
	const second = ": a second YAML document starts here; instances.yaml is one document: remove the --- and put every instance under the one instances:"
	tests := []struct {
		name  string
		file  string
		want  string   // the whole error, "" when valid
		names []string // instances when valid
	}{
		{"second document", validDoc + "---\ninstances:\n  bb: {port: 8002, images: {app: x}}\n", "x.yaml:5:1" + second, nil},
		{"second document after comments", validDoc + "# more\n---\n# the rest\nbb: 1\n", "x.yaml:6:1" + second, nil},
		{"third document after an empty one", validDoc + "---\n---\n- a\n", "x.yaml:6:1" + second, nil},
		{"second invalid", validDoc + "---\nbb: [\n", "x.yaml:6:1: did not find expected node content", nil},
		{"leading ---", "---\n" + validDoc, "", []string{"aa"}},
		{"trailing ---", validDoc + "---\n", "", []string{"aa"}},
		{"trailing document all comments", validDoc + "---\n# bb: {port: 8002}\n", "", []string{"aa"}},
		{"end marker", validDoc + "...\n", "", []string{"aa"}},
		{"only comments", "# nothing yet\n", "x.yaml: file is empty; it needs version: 1, root and instances", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("x.yaml", []byte(tt.file))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if got := cfg.Names(); !reflect.DeepEqual(got, tt.names) {
					t.Fatalf("Names()=%v, want %v", got, tt.names)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Parse error:\n got %v\nwant %s", err, tt.want)
			}
			if tt.name == "second document" && !errors.Is(err, ErrDocument) {
				t.Errorf("errors.Is(err, ErrDocument)=false")
			}
		})
	}
}
