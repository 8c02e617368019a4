package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
)

// A container's healthcheck is run by the engine every interval, the first
// time one interval after the container starts: postgres, checked every 5 s,
// is reported healthy 5 s after a start that took one. Waiting for that is
// most of a restart. So while wbd waits for a container whose engine's next
// check is that far away, it runs the same command itself with exec (probe)
// at every poll; engines that know start_interval (API 1.44) run it often
// during the start period on their own, and get one instead (desiredFor).

// startIntervalAPI is the first API version whose healthchecks have
// start_interval.
const startIntervalAPI = "1.44"

// startInterval is the start_interval given to healthchecks with a start
// period on engines that know it.
const startInterval = time.Second

// maxProbeTime bounds one run of a healthcheck command by wbd.
const maxProbeTime = 5 * time.Second

// supportsStartInterval reports whether an engine speaking apiVersion runs
// healthchecks every start_interval during their start period.
func supportsStartInterval(apiVersion string) bool {
	return apiVersion != "" && versions.GreaterThanOrEqualTo(apiVersion, startIntervalAPI)
}

// withStartInterval returns hc with a start_interval of startInterval when it
// is a healthcheck with a start period and none set; otherwise hc. hc is not
// changed.
func withStartInterval(hc *types.HealthCheckConfig) *types.HealthCheckConfig {
	if hc == nil || hc.Disable || hc.StartInterval != nil || hc.StartPeriod == nil || *hc.StartPeriod <= 0 {
		return hc
	}
	if len(hc.Test) > 0 && hc.Test[0] == "NONE" {
		return hc
	}
	c := *hc
	d := types.Duration(startInterval)
	c.StartInterval = &d
	return &c
}

// healthCommand returns the command a healthcheck runs, as exec arguments:
// ["CMD", args...] runs args, ["CMD-SHELL", cmd] runs cmd with /bin/sh -c
// (as the engine does on Linux). It returns nil for no healthcheck (nil,
// empty, ["NONE"]) and for forms it does not know.
func healthCommand(hc *container.HealthConfig) []string {
	if hc == nil || len(hc.Test) == 0 {
		return nil
	}
	switch hc.Test[0] {
	case "CMD":
		if len(hc.Test) > 1 {
			return hc.Test[1:]
		}
	case "CMD-SHELL":
		if len(hc.Test) == 2 && hc.Test[1] != "" {
			return []string{"/bin/sh", "-c", hc.Test[1]}
		}
	}
	return nil
}

// engineCheckDue is when the engine itself next runs hc on a container
// started at startedAt, if it does not run it sooner after a start: one
// interval (30 s when unset) after the start, or one start interval on an
// engine that knows them, during the start period.
func engineCheckDue(hc *container.HealthConfig, startedAt time.Time, apiVersion string) time.Time {
	every := 30 * time.Second
	if hc.Interval > 0 {
		every = hc.Interval
	}
	if supportsStartInterval(apiVersion) && hc.StartInterval > 0 && hc.StartPeriod > 0 {
		every = min(every, hc.StartInterval)
	}
	return startedAt.Add(every)
}

// shouldProbe reports whether wbd runs c's healthcheck itself: it runs, its
// health is still starting, it has a command wbd can run, and the engine's
// own first check is more than a second away.
func shouldProbe(c container.InspectResponse, apiVersion string, now time.Time) bool {
	if c.State == nil || !c.State.Running || c.State.Health == nil || c.State.Health.Status != container.Starting {
		return false
	}
	if c.Config == nil || healthCommand(c.Config.Healthcheck) == nil {
		return false
	}
	started, err := time.Parse(time.RFC3339Nano, c.State.StartedAt)
	if err != nil {
		return false
	}
	due := engineCheckDue(c.Config.Healthcheck, started, apiVersion)
	if len(c.State.Health.Log) > 0 {
		return true // the engine checked and is waiting a whole interval again
	}
	return due.Sub(now) > time.Second
}

// probe runs c's healthcheck command in it once and reports whether it
// passed (exited 0). An error says the engine could not run it.
func (e *Engine) probe(ctx context.Context, c container.InspectResponse) (bool, error) {
	cmd := healthCommand(c.Config.Healthcheck)
	if cmd == nil {
		return false, fmt.Errorf("container %s: no healthcheck command", c.ID)
	}
	timeout := maxProbeTime
	if t := c.Config.Healthcheck.Timeout; t > 0 {
		timeout = min(timeout, t)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ex, err := e.api.ExecCreate(ctx, c.ID, client.ExecCreateOptions{Cmd: cmd})
	if err != nil {
		return false, err
	}
	if _, err := e.api.ExecStart(ctx, ex.ID, client.ExecStartOptions{Detach: true}); err != nil {
		return false, err
	}
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		res, err := e.api.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return false, nil // too slow: failed, as the engine counts it
			}
			return false, err
		}
		if !res.Running && res.PID != 0 { // started, and exited
			return res.ExitCode == 0, nil
		}
		select {
		case <-ctx.Done():
			return false, nil
		case <-tick.C:
		}
	}
}
