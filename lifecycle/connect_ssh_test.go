package lifecycle

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// An ssh:// engine is known by its ssh destination, not by the placeholder
// URL docker's client gives every ssh endpoint: logs, errors and the
// daemon's comparison of engines tell two ssh hosts apart by it. The login
// name is left out: it is never printed, and does not change the engine.
func TestConnectSSHHostIsItsDestination(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no docker CLI under CI: %v", err)
		}
		t.Skipf("no docker CLI: %v", err)
	}
	testEngine(t) // skips without an engine
	// An ssh that runs the remote command here: docker's client passes
	// its options, "--", the destination, then the command as one word.
	bin := t.TempDir()
	fake := "#!/bin/sh\nwhile [ \"$1\" != -- ]; do shift; done\nexec sh -c \"$3\"\n"
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	for host, want := range map[string]string{
		"ssh://box2":          "ssh://box2",
		"ssh://ops@Box2:22/":  "ssh://box2",
		"ssh://ops@box2:2222": "ssh://box2:2222",
	} {
		e, err := Connect(t.Context(), host)
		if err != nil {
			t.Fatalf("Connect(%q) through a stand-in ssh: %v", host, err)
		}
		if got := e.Host(); got != want {
			t.Errorf("Connect(%q).Host() = %q, want %q", host, got, want)
		}
		e.Close()
	}
}
