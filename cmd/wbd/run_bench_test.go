package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/watch"
)

// TestRunFigures measures the daemon for bench/daemon.md: the time from an
// editor's rename to the new app container running, the daemon's idle CPU
// and memory with 10 instances, and the cost of a resync pass over 10 and
// 30 instances. It runs only with WBD_BENCH=1 (it takes ~10 minutes and 30
// instances of the engine).
func TestRunFigures(t *testing.T) {
	if os.Getenv("WBD_BENCH") == "" {
		t.Skip("set WBD_BENCH=1 to measure the daemon")
	}
	requireEngineForRun(t)
	e2 := startSecondEngine(t)
	w := newDaemonWorld(t)
	var ins []daemonInst
	grow := func(n int) {
		for len(ins) < n {
			ins = append(ins, daemonInst{name: uniqueName(t), app: "wbd.local/app:1", port: freeHostPort(t), host: e2.host})
		}
		w.save(ins...)
	}
	healthy := func() {
		for _, in := range ins {
			waitRunning(t, e2.host, in.name, 5*time.Minute)
		}
	}
	var report strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&report, format+"\n", args...) }
	defer func() { t.Logf("figures:\n%s", report.String()) }()

	grow(10)
	d := startDaemon(t, w.file, "--parallel", "2", "--debounce", watch.DefaultDebounce.String(), "--log-level", "info")
	start := time.Now()
	healthy()
	p("- 10 instances created from an empty engine, --parallel 2: %v", time.Since(start).Round(time.Second))

	// Rename to new app container running (and healthy), 7 times.
	var toRunning, toHealthy []time.Duration
	for range 7 {
		app := inspectCtr(t, e2.host, ins[0].name)
		ins[0].app = retagApp(t, e2.host)
		at := w.save(ins...)
		waitUntil(t, time.Minute, "the new app running", func() bool {
			c := inspectCtr(t, e2.host, ins[0].name)
			return c.ID != app.ID && c.State == "running"
		})
		toRunning = append(toRunning, time.Since(at))
		waitUntil(t, time.Minute, "the new app healthy", func() bool {
			return inspectCtr(t, e2.host, ins[0].name).Health == "healthy"
		})
		toHealthy = append(toHealthy, time.Since(at))
		waitUntil(t, time.Minute, "the daemon done", func() bool {
			st := w.status(ins[0].name)
			return st != nil && st.InSync
		})
	}
	p("- rename → new app container running: median %v (runs: %v)", median(toRunning), roundAll(toRunning))
	p("- rename → new app container healthy: median %v (runs: %v)", median(toHealthy), roundAll(toHealthy))
	stopDaemon(t, d)

	// Idle, with the default resync of 1 min: two minutes.
	d = startDaemon(t, w.file, "--log-level", "info")
	waitUntil(t, time.Minute, "the first pass", func() bool {
		st := w.status(ins[0].name)
		return st != nil && st.InSync
	})
	time.Sleep(5 * time.Second)
	cpu0, at0 := cpuTime(t, d.cmd.Process.Pid), time.Now()
	time.Sleep(2 * time.Minute)
	cpu, dt := cpuTime(t, d.cmd.Process.Pid)-cpu0, time.Since(at0)
	rss, hwm := memory(t, d.cmd.Process.Pid)
	p("- idle, 10 instances, resync 1m, over %v: CPU %v (%.3f%% of one core), RSS %d MiB (peak %d MiB)",
		dt.Round(time.Second), cpu, 100*cpu.Seconds()/dt.Seconds(), rss>>20, hwm>>20)
	stopDaemon(t, d)

	passes := func(n int) {
		d := startDaemon(t, w.file, "--resync", "5s", "--log-level", "debug")
		re := regexp.MustCompile(`msg="pass done" instances=` + strconv.Itoa(n) + ` prune=true took=(\S+)`)
		waitUntil(t, time.Minute, "a first resync", func() bool { return len(re.FindAllString(d.out.String(), -1)) >= 2 })
		first := len(re.FindAllString(d.out.String(), -1))
		cpu0, dcpu0 := cpuTime(t, d.cmd.Process.Pid), cpuTime(t, e2.pid(t))
		waitUntil(t, 2*time.Minute, "10 resync passes", func() bool { return len(re.FindAllString(d.out.String(), -1)) >= first+10 })
		cpu, dcpu := cpuTime(t, d.cmd.Process.Pid)-cpu0, cpuTime(t, e2.pid(t))-dcpu0
		var took []time.Duration
		for _, m := range re.FindAllStringSubmatch(d.out.String(), -1)[first:] {
			dur, _ := time.ParseDuration(m[1])
			took = append(took, dur)
		}
		p("- one resync pass over %d instances: wall median %v (min %v, max %v); CPU per pass: wbd %v, dockerd %v",
			n, median(took), slices.Min(took).Round(time.Millisecond), slices.Max(took).Round(time.Millisecond),
			cpu/time.Duration(len(took)), dcpu/time.Duration(len(took)))
		stopDaemon(t, d)
	}
	passes(10)

	grow(30)
	d = startDaemon(t, w.file, "--parallel", "2", "--log-level", "info")
	start = time.Now()
	healthy()
	p("- 20 more instances created, --parallel 2: %v", time.Since(start).Round(time.Second))
	stopDaemon(t, d)
	passes(30)
}

func stopDaemon(t *testing.T, d *daemonProc) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.wait(time.Minute); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// cpuTime is the user and system CPU time of process pid.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command, which is in parentheses.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond // CLK_TCK 100
}

// memory is the resident set of process pid, now and at its peak, in bytes.
func memory(t *testing.T, pid int) (rss, hwm int64) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			hwm = kb << 10
		}
	}
	return rss, hwm
}

// pid is the process of the engine's dockerd.
func (e *secondEngine) pid(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.dir, "docker.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(time.Millisecond)
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(10 * time.Millisecond)
	}
	return out
}
