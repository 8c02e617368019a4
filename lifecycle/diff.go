package lifecycle

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/mount"
)

// diff compares the settings of svc with what the engine reports for its
// container ctr (created from image img), and lists those that differ. Values
// the engine fills in from the image (environment, labels, command,
// anonymous volumes) are not counted as differences.
func diff(p *types.Project, svc types.ServiceConfig, ctr container.InspectResponse, img image.InspectResponse) []Change {
	cfg := ctr.Config
	if cfg == nil {
		cfg = &container.Config{}
	}
	var imgEnv, imgCmd, imgEntrypoint []string
	var imgLabels map[string]string
	var imgVolumes map[string]struct{}
	if img.Config != nil {
		imgEnv, imgCmd, imgEntrypoint = img.Config.Env, img.Config.Cmd, img.Config.Entrypoint
		imgLabels, imgVolumes = img.Config.Labels, img.Config.Volumes
	}
	var changes []Change
	add := func(field, detail string) {
		if detail != "" {
			changes = append(changes, Change{Field: field, Detail: detail})
		}
	}
	if svc.Image != cfg.Image {
		add("image", fmt.Sprintf("%s -> %s", cfg.Image, svc.Image))
	}
	add("environment", diffEnv(svc.Environment, cfg.Env, imgEnv))
	add("command", diffList(svc.Command, cfg.Cmd, imgCmd))
	add("entrypoint", diffList(svc.Entrypoint, cfg.Entrypoint, imgEntrypoint))
	add("mounts", diffKeyed(wantMounts(p, svc), haveMounts(ctr.Mounts, imgVolumes)))
	add("ports", diffKeyed(wantPorts(svc), havePorts(ctr.HostConfig)))
	add("labels", diffLabels(svc.Labels, cfg.Labels, imgLabels))
	add("healthcheck", diffHealth(svc.HealthCheck, cfg.Healthcheck))
	add("stop_grace_period", diffGrace(svc.StopGracePeriod, cfg.StopTimeout))
	if ctr.HostConfig != nil && svc.Restart != "" && svc.Restart != string(ctr.HostConfig.RestartPolicy.Name) {
		add("restart", fmt.Sprintf("%s -> %s", ctr.HostConfig.RestartPolicy.Name, svc.Restart))
	}
	return changes
}

// kv splits KEY=VALUE lists into a map.
func kv(list []string) map[string]string {
	m := make(map[string]string, len(list))
	for _, s := range list {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return m
}

// diffEnv names the variables added, removed or changed, not their values.
func diffEnv(want types.MappingWithEquals, have, fromImage []string) string {
	w := map[string]string{}
	for k, v := range want {
		if v != nil {
			w[k] = *v
		}
	}
	h, img := kv(have), kv(fromImage)
	for k, v := range img {
		if hv, ok := h[k]; ok && hv == v {
			if _, wanted := w[k]; !wanted {
				delete(h, k)
			}
		}
	}
	return describe(w, h, false)
}

// diffLabels is diffEnv for labels; compose's own labels are left out.
func diffLabels(want types.Labels, have, fromImage map[string]string) string {
	h := map[string]string{}
	for k, v := range have {
		if strings.HasPrefix(k, "com.docker.compose.") || (fromImage[k] == v && want[k] == "") {
			continue
		}
		h[k] = v
	}
	return describe(want, h, true)
}

// describe lists keys added, removed and changed from have to want.
func describe(want, have map[string]string, values bool) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		hv, ok := have[k]
		switch {
		case !ok:
			parts = append(parts, "+"+k)
		case hv != want[k] && values:
			parts = append(parts, fmt.Sprintf("%s: %q -> %q", k, hv, want[k]))
		case hv != want[k]:
			parts = append(parts, "~"+k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(have)) {
		if _, ok := want[k]; !ok {
			parts = append(parts, "-"+k)
		}
	}
	return strings.Join(parts, ", ")
}

// diffList compares a command or entrypoint; nil wants the image's.
func diffList(want types.ShellCommand, have, fromImage []string) string {
	w := []string(want)
	if want == nil {
		w = fromImage
	}
	if slices.Equal(w, have) {
		return ""
	}
	return fmt.Sprintf("%q -> %q", have, w)
}

// diffKeyed compares target -> source maps (mounts, ports).
func diffKeyed(want, have map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		switch hv, ok := have[k]; {
		case !ok:
			parts = append(parts, "+"+want[k])
		case hv != want[k]:
			parts = append(parts, fmt.Sprintf("%s -> %s", hv, want[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(have)) {
		if _, ok := want[k]; !ok {
			parts = append(parts, "-"+have[k])
		}
	}
	return strings.Join(parts, ", ")
}

// wantMounts maps each target of svc's volumes and secrets to "source:target".
func wantMounts(p *types.Project, svc types.ServiceConfig) map[string]string {
	m := map[string]string{}
	for _, v := range svc.Volumes {
		src := v.Source
		if v.Type == types.VolumeTypeVolume {
			if vol, ok := p.Volumes[v.Source]; ok && vol.Name != "" {
				src = vol.Name
			}
		}
		if v.Type != types.VolumeTypeTmpfs {
			m[v.Target] = src + ":" + v.Target
		}
	}
	for _, s := range svc.Secrets {
		target := s.Target
		if target == "" {
			target = s.Source
		}
		if !strings.HasPrefix(target, "/") {
			target = "/run/secrets/" + target
		}
		if def, ok := p.Secrets[s.Source]; ok && def.File != "" {
			m[target] = def.File + ":" + target
		}
	}
	return m
}

// haveMounts is wantMounts for a container, less the anonymous volumes the
// image declares.
func haveMounts(mounts []container.MountPoint, fromImage map[string]struct{}) map[string]string {
	m := map[string]string{}
	for _, mp := range mounts {
		src := mp.Source
		if mp.Type == mount.TypeVolume {
			if _, anon := fromImage[mp.Destination]; anon {
				continue
			}
			src = mp.Name
		}
		if mp.Type != mount.TypeTmpfs {
			m[mp.Destination] = src + ":" + mp.Destination
		}
	}
	return m
}

// wantPorts maps "target/proto" to "hostip:published->target/proto".
func wantPorts(svc types.ServiceConfig) map[string]string {
	m := map[string]string{}
	for _, pc := range svc.Ports {
		if pc.Published == "" {
			continue
		}
		proto := pc.Protocol
		if proto == "" {
			proto = "tcp"
		}
		key := fmt.Sprintf("%d/%s", pc.Target, proto)
		m[key] = fmt.Sprintf("%s:%s->%s", pc.HostIP, pc.Published, key)
	}
	return m
}

func havePorts(hc *container.HostConfig) map[string]string {
	m := map[string]string{}
	if hc == nil {
		return m
	}
	for port, bindings := range hc.PortBindings {
		for _, b := range bindings {
			ip := ""
			if b.HostIP.IsValid() && !b.HostIP.IsUnspecified() {
				ip = b.HostIP.String()
			}
			m[port.String()] = fmt.Sprintf("%s:%s->%s", ip, b.HostPort, port)
		}
	}
	return m
}

func diffHealth(want *types.HealthCheckConfig, have *container.HealthConfig) string {
	if want == nil || want.Disable {
		return ""
	}
	var h []string
	if have != nil {
		h = have.Test
	}
	if slices.Equal([]string(want.Test), h) {
		return ""
	}
	return fmt.Sprintf("test %q -> %q", h, want.Test)
}

func diffGrace(want *types.Duration, have *int) string {
	if want == nil {
		return ""
	}
	w := int(time.Duration(*want).Seconds())
	if have != nil && *have == w {
		return ""
	}
	h := "default"
	if have != nil {
		h = strconv.Itoa(*have) + "s"
	}
	return fmt.Sprintf("%s -> %ds", h, w)
}
