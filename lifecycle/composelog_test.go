package lifecycle

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"testing"

	"github.com/sirupsen/logrus"
)

// What compose warns about through logrus comes out of the daemon's logger,
// as JSON when the daemon logs JSON, and nothing reaches stderr as text.
func TestComposeLogs(t *testing.T) {
	std := logrus.StandardLogger()
	t.Cleanup(func() {
		std.SetOutput(os.Stderr)
		std.ReplaceHooks(logrus.LevelHooks{})
	})
	var buf bytes.Buffer
	ComposeLogs(slog.New(slog.NewJSONHandler(&buf, nil)))
	ComposeLogs(slog.New(slog.NewJSONHandler(&buf, nil))) // twice: still one line per entry

	logrus.Warnf("Found orphan containers (%s) for this project.", "[x]")
	logrus.WithField("service", "app").Error("failed")
	logrus.Debug("not shown at logrus's default level")

	var got []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		got = append(got, m)
	}
	if len(got) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(got), buf.String())
	}
	if got[0]["level"] != "WARN" || got[0]["msg"] != "Found orphan containers ([x]) for this project." || got[0]["component"] != "compose" {
		t.Errorf("warning logged as %v", got[0])
	}
	if got[1]["level"] != "ERROR" || got[1]["service"] != "app" {
		t.Errorf("error logged as %v", got[1])
	}
}
