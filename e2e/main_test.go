// Package e2e runs the wbd binary against a real Docker engine, the way an
// operator does: write instances.yaml, run wbd, look at the engine.
//
// The tests need a Docker engine and the stand-in images:
//
//	scripts/ensure-engine.sh && scripts/build-images.sh
//	go test ./e2e
//
// Without them the tests skip, or fail when CI is set. Every test works on
// instances named e2e-<random> and ports the kernel hands out, and takes
// down only what it created.
package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// wbdBin is the wbd binary TestMain builds once for every test.
var wbdBin string

// The stand-in images scripts/build-images.sh builds: no registry is used.
const (
	imageApp         = "wbd.local/app:1"
	imagePostgres    = "wbd.local/postgres:15"
	imageRedis       = "wbd.local/redis:7"
	imageAdmin       = "wbd.local/admin:1"
	imageRedisBroken = "wbd.local/redis-broken:1"
	// A second good version of the app, and app images that misbehave
	// (images/README.md): GET /health names the app's version.
	imageApp2         = "wbd.local/app:2"
	imageAppNoStart   = "wbd.local/app-nostart:1"
	imageAppCrash     = "wbd.local/app-crash:1"
	imageAppUnhealthy = "wbd.local/app-unhealthy:1"
	// Apps whose PORT answers nothing while they are healthy.
	imageAppOtherPort  = "wbd.local/app-otherport:1"
	imageAppCloseEarly = "wbd.local/app-closeearly:1"
)

// setUpHint is what to run when the engine or the images are missing.
const setUpHint = "run scripts/ensure-engine.sh && scripts/build-images.sh (as root), then go test ./e2e"

func TestMain(m *testing.M) {
	flag.Parse()
	// The tests mostly wait on containers, not on the CPU: let more of the
	// independent stories run at once than GOMAXPROCS would, unless the
	// caller chose with -parallel.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", "4")
	}
	dir, err := os.MkdirTemp("", "wbd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	wbdBin = filepath.Join(dir, "wbd")
	build := exec.Command("go", "build", "-o", wbdBin, "github.com/wbd-dev/wbd/cmd/wbd")
	// Static, as make build makes it: the edge container runs this binary.
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build wbd: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	engineOnce sync.Once
	engineErr  error
)

// requireEngine skips the test (fails it under CI) unless a Docker engine
// answers and has the stand-in images.
func requireEngine(t *testing.T) {
	t.Helper()
	engineOnce.Do(func() {
		if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
			engineErr = fmt.Errorf("no docker engine answers (docker info: %v: %s)", err, strings.TrimSpace(string(out)))
			return
		}
		var missing []string
		for _, img := range []string{imageApp, imagePostgres, imageRedis, imageAdmin, imageRedisBroken} {
			if err := exec.Command("docker", "image", "inspect", img).Run(); err != nil {
				missing = append(missing, img)
			}
		}
		if len(missing) > 0 {
			engineErr = fmt.Errorf("stand-in images missing: %s", strings.Join(missing, ", "))
		}
	})
	if engineErr == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%v; %s", engineErr, setUpHint)
	}
	t.Skipf("%v; %s", engineErr, setUpHint)
}

// requireComposePlugin skips (fails under CI) without the docker compose CLI
// plugin, which scripts/compose-plugin.sh installs.
func requireComposePlugin(t *testing.T) {
	t.Helper()
	if err := exec.Command("docker", "compose", "version").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("docker compose plugin missing: run scripts/compose-plugin.sh")
		}
		t.Skipf("docker compose plugin missing: run scripts/compose-plugin.sh")
	}
}
