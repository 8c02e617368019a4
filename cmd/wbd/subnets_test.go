package main

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/spec"
)

// oneContainer is a template of one small container per instance: what the
// test of many instances needs is their networks, not postgres.
const oneContainer = `name: {{yaml .Name}}
services:
  app:
    image: {{yaml .Images.App}}
    container_name: {{yaml .Name}}
    restart: unless-stopped
    labels:
      {{yaml .Labels.Managed}}: "true"
      {{yaml .Labels.Instance}}: {{yaml .Name}}
networks:
  default:
    name: {{yaml .Name}}
    labels:
      {{yaml .Labels.Managed}}: "true"
      {{yaml .Labels.Instance}}: {{yaml .Name}}
{{- with .Subnet}}
    ipam:
      config:
        - subnet: {{yaml .}}
{{- end}}
`

// TestManyInstancesPastDockersPools: on an engine with Docker's default
// address pools, which hold 31 bridge networks, the default bridge
// included, 32 instances all run, each network on a subnet of wbd's pool
// of its own, and those subnets stay as they are across an apply and a
// daemon's passes; an instance that leaves the file keeps its subnet from
// the one that comes next.
func TestManyInstancesPastDockersPools(t *testing.T) {
	requireEngineForRun(t)
	const image = "wbd.local/admin:1" // a static server of 8 MB, no healthcheck
	if err := exec.Command("docker", "image", "inspect", image).Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing: scripts/build-images.sh builds it", image)
		}
		t.Skipf("%s missing: run scripts/build-images.sh", image)
	}
	e2 := startEngine(t, &secondEngine{dockerPools: true}, []string{image})
	w := newDaemonWorld(t)
	tmpl := filepath.Join(w.dir, "templates")
	if err := os.MkdirAll(tmpl, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmpl, "compose.yaml.tmpl"), []byte(oneContainer), 0o644); err != nil {
		t.Fatal(err)
	}
	prefix := uniqueName(t)
	names := make([]string, 32)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%02d", prefix, i+1)
	}
	file := func(names ...string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "version: 1\nroot: %s\ntemplates: %s\ndefaults:\n  host: %s\n  images: {app: %s}\ninstances:\n", w.root, tmpl, e2.host, image)
		for i, n := range names {
			fmt.Fprintf(&b, "  %s: {port: %d}\n", n, 20000+i) // published by the built-in template only
		}
		return b.String()
	}
	w.saveRaw(file(names...))
	d2 := func(args ...string) string { return dockerCLI(t, append([]string{"-H", e2.host}, args...)...) }
	wbd := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("wbd", append([]string{"-f", w.file}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("wbd %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// subnets is each instance's network's ID and subnet, and its app's ID.
	type seen struct{ network, subnet, app string }
	look := func(names ...string) map[string]seen {
		t.Helper()
		out := map[string]seen{}
		for _, n := range names {
			f := strings.Fields(d2("network", "inspect", "-f", "{{.Id}} {{range .IPAM.Config}}{{.Subnet}}{{end}}", n))
			if len(f) != 2 {
				t.Fatalf("network %s: %v", n, f)
			}
			out[n] = seen{network: f[0], subnet: f[1], app: d2("inspect", "-f", "{{.Id}} {{.State.Status}}", n)}
		}
		return out
	}

	start := time.Now()
	wbd("apply", "--all", "--parallel", "4")
	t.Logf("32 instances created in %v", time.Since(start).Round(time.Second))
	if got := strings.Count(d2("network", "ls", "-q", "--filter", "driver=bridge"), "\n") + 1; got <= 31 {
		t.Fatalf("%d bridge networks: the test must pass Docker's 31", got)
	}
	first := look(names...)
	taken := map[netip.Prefix]string{}
	for n, s := range first {
		if !strings.HasSuffix(s.app, " running") {
			t.Errorf("%s: app %s, want running", n, s.app)
		}
		p, err := netip.ParsePrefix(s.subnet)
		if err != nil || !spec.DefaultNetworks.Pool.Contains(p.Addr()) || p.Bits() != spec.DefaultNetworks.Size {
			t.Errorf("%s: subnet %s, want a /%d of %s", n, s.subnet, spec.DefaultNetworks.Size, spec.DefaultNetworks.Pool)
		}
		for q, other := range taken {
			if q.Overlaps(p) {
				t.Errorf("%s's subnet %s overlaps %s's %s", n, p, other, q)
			}
		}
		taken[p] = n
		rec, err := os.ReadFile(filepath.Join(w.root, n, ".wbd", "subnet.json"))
		if err != nil || !strings.Contains(string(rec), `"`+s.subnet+`"`) {
			t.Errorf("%s: record %q (%v), want its subnet %s", n, rec, err, s.subnet)
		}
	}

	t.Run("an apply and a daemon change nothing", func(t *testing.T) {
		wbd("apply", "--all")
		d := startDaemon(t, w.file)
		d.waitLog(`msg="pass done" instances=32`, 2*time.Minute)
		stopDaemon(t, d)
		for n, s := range look(names...) {
			if s != first[n] {
				t.Errorf("%s: network, subnet and app %v, want %v as created", n, s, first[n])
			}
		}
	})

	t.Run("a subnet is not reused while its instance exists", func(t *testing.T) {
		gone, next := names[0], prefix+"-next"
		d := startDaemon(t, w.file)
		d.waitLog(`msg="pass done" instances=32`, 2*time.Minute)
		w.saveRaw(file(append(names[1:], next)...))
		w.names[next] = e2.host
		d.waitLog(`msg=applied instance=`+next, 2*time.Minute)
		stopDaemon(t, d)
		if out, _ := exec.Command("docker", "-H", e2.host, "network", "inspect", gone).CombinedOutput(); !strings.Contains(string(out), "not found") && !strings.Contains(string(out), "No such network") {
			t.Errorf("%s left the file; its network is still there: %s", gone, out)
		}
		s := look(next)[next]
		p := netip.MustParsePrefix(s.subnet)
		if owner, ok := taken[p]; ok {
			t.Errorf("%s got %s, which is %s's: its directory, and so its record, are still there", next, p, owner)
		}
		if !strings.HasSuffix(s.app, " running") {
			t.Errorf("%s: app %s, want running", next, s.app)
		}
	})
}
