package edge

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runEdge runs an edge on a free loopback port until the test ends, or
// until the returned stop is called.
func runEdge(t *testing.T, dir, def string) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Listen: addr, Default: def, StateDir: dir, Grace: time.Second, Logger: testLogger(t)})
	}()
	c := NewClient(filepath.Join(dir, SocketFile))
	eventually(t, func() bool { _, err := c.Status(context.Background()); return err == nil })
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("edge: %v", err)
		}
	}
	t.Cleanup(stop)
	return addr, stop
}

// shortDir is a temporary directory whose path a unix socket can have.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "edge")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// The target set through the control socket is kept: the edge restarted
// sends requests there, not to its default.
func TestEdgeKeepsItsTargetAcrossRestarts(t *testing.T) {
	dir := shortDir(t)
	def, next := app(t, "default", nil), app(t, "next", nil)
	addr, stop := runEdge(t, dir, def)
	c := NewClient(filepath.Join(dir, SocketFile))
	ctx := context.Background()
	if _, body := get(t, http.DefaultClient, "http://"+addr+"/", nil); body != "default" {
		t.Fatalf("a new edge answered with %q, want its default target", body)
	}
	res, err := c.Switch(ctx, SwitchRequest{To: next, Drain: Duration(time.Second), Check: true})
	if err != nil || res.Target != next || res.From != def {
		t.Fatalf("switch: %+v, %v", res, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := ParseState(data); err != nil || st.Target != next {
		t.Errorf("kept state %q: %+v, %v; want target %s", data, st, err, next)
	}
	stop()

	addr, _ = runEdge(t, dir, def)
	if _, body := get(t, http.DefaultClient, "http://"+addr+"/", nil); body != "next" {
		t.Errorf("the restarted edge answered with %q, want the kept target", body)
	}
	st, err := c.Status(ctx)
	if err != nil || st.Target != next || st.Default != def {
		t.Errorf("status: %+v, %v; want target %s, default %s", st, err, next, def)
	}

	// Back to the default: the file says "" for it.
	if _, err := c.Switch(ctx, SwitchRequest{}); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(dir, stateFile))
	if st, _ := ParseState(data); st.Target != "" {
		t.Errorf("state after a switch to the default: %q, want an empty target", data)
	}
}

// A refused switch comes back through the socket as the check's error.
func TestControlReportsARefusedSwitch(t *testing.T) {
	dir := shortDir(t)
	_, _ = runEdge(t, dir, app(t, "default", nil))
	c := NewClient(filepath.Join(dir, SocketFile))
	_, err := c.Switch(context.Background(), SwitchRequest{To: "127.0.0.1:1", Check: true})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1 does not answer HTTP") {
		t.Errorf("switch to a closed port: %v, want the check's error", err)
	}
}

// On stop the edge lets a request in flight finish within its grace.
func TestEdgeStopLetsRequestsFinish(t *testing.T) {
	dir := shortDir(t)
	started := make(chan struct{})
	up := app(t, "", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(200 * time.Millisecond)
		io.WriteString(w, "finished")
	})
	addr, stop := runEdge(t, dir, up)
	got := getLater("http://" + addr + "/")
	<-started
	stop()
	if g := <-got; g != "200 OK finished" {
		t.Errorf("the request in flight at the stop got %q, want its answer", g)
	}
}
