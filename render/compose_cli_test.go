package render

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// TestComposeCLIAccepts hands every golden file, unchanged, to the docker
// compose CLI: `wbd render NAME | docker compose -f - config` must work.
func TestComposeCLIAccepts(t *testing.T) {
	if err := exec.Command("docker", "compose", "version").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("docker compose is not installed (scripts/compose-plugin.sh builds it): %v", err)
		}
		t.Skip("docker compose is not installed; scripts/compose-plugin.sh builds it")
	}
	files, _ := filepath.Glob("testdata/*.txtar")
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range ar.Files {
			if !strings.HasPrefix(f.Name, "want/") {
				continue
			}
			cmd := exec.Command("docker", "compose", "-f", "-", "config", "--quiet")
			cmd.Stdin = bytes.NewReader(f.Data)
			cmd.Env = append(os.Environ(), "COMPOSE_PROJECT_NAME=")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s %s: docker compose config: %v\n%s", file, f.Name, err, out)
			}
		}
	}
}
