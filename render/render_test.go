package render

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/wbd-dev/wbd/spec"
)

var update = flag.Bool("update", false, "rewrite the want/ files of testdata/*.txtar from what render produces")

// TestGolden renders every instance of each testdata archive's instances.yaml
// and compares it with want/NAME/compose.yaml in the same archive.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no testdata/*.txtar")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := renderArchive(t, ar)
			changed := false
			for i, f := range ar.Files {
				name, ok := strings.CutPrefix(f.Name, "want/")
				if !ok {
					continue
				}
				inst := strings.TrimSuffix(name, "/compose.yaml")
				out, ok := got[inst]
				if !ok {
					t.Errorf("%s: instance %s was not rendered", f.Name, inst)
					continue
				}
				delete(got, inst)
				if !bytes.Equal(out, f.Data) {
					if *update {
						ar.Files[i].Data, changed = out, true
						continue
					}
					t.Errorf("%s differs; run go test ./render -update and review the diff\n--- got ---\n%s", f.Name, out)
				}
			}
			for inst, out := range got {
				if !*update {
					t.Errorf("instance %s has no want/%s/compose.yaml", inst, inst)
					continue
				}
				ar.Files, changed = append(ar.Files, txtar.File{Name: "want/" + inst + "/compose.yaml", Data: out}), true
			}
			if changed {
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// testEdgeImage stands for the edge image of the running binary, whose
// name changes with every build.
const testEdgeImage = "wbd.local/edge:0123456789abcdef"

// renderArchive writes the archive's input files (not want/) to a temporary
// directory and renders every instance of its instances.yaml.
func renderArchive(t *testing.T, ar *txtar.Archive) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	for _, f := range ar.Files {
		if strings.HasPrefix(f.Name, "want/") {
			continue
		}
		path := filepath.Join(dir, f.Name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := spec.Load(filepath.Join(dir, "instances.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg.Templates, WithEdgeImage(testEdgeImage))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, in := range cfg.Instances {
		res, err := r.Render(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		out[in.Name] = res.YAML
	}
	return out
}
