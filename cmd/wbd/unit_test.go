package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The service unit we ship passes systemd's own check, with the binary it
// names in place (this test's), and keeps the settings the daemon relies
// on.
func TestServiceUnitVerifies(t *testing.T) {
	unit, err := os.ReadFile("../../dist/wbd.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type=notify", "ReadWritePaths=-/srv/wbd", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID",
		"EnvironmentFile=-/etc/wbd/wbd.env", "--metrics-addr 127.0.0.1:9377"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("dist/wbd.service lacks %q", want)
		}
	}
	if strings.Contains(string(unit), "--log-format text") {
		t.Error("the unit forces text logs: under systemd wbd logs to the journal with fields")
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "wbd.service")
	os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/wbd", self)), 0o644)
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
