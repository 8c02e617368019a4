// Package cachetest runs a throwaway redis-server for tests of code that uses
// package cache, the way net/http/httptest runs a throwaway HTTP server.
//
// Each Server is its own process on its own loopback port, with persistence
// off and its files in a temporary directory, so tests can kill it, pause it
// and start it again on the same port to act out an outage. NewCluster
// makes a Redis Cluster of such servers, and Interleaved benchmarks code
// against a peer, the two in turn in every op.
package cachetest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a redis-server may take to answer PING. It is
// generous because a loaded 2-core CI machine can be slow to fork and exec.
const startTimeout = 15 * time.Second

// Server is a redis-server process owned by one test, or by an example.
type Server struct {
	Port int
	// Addr is "127.0.0.1:Port" and URL "redis://127.0.0.1:Port/0".
	Addr string
	URL  string

	t      testing.TB // nil for a Server from Start
	bin    string
	dir    string
	extra  []string // further redis-server arguments
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
}

// NewServer starts a redis-server on a free loopback port and stops it when
// the test ends. Without redis-server on PATH the test is skipped, or fails
// when the CI environment variable is set, so CI never passes by skipping.
func NewServer(t testing.TB) *Server {
	t.Helper()
	return newServer(t, nil)
}

// newServer starts a redis-server with the arguments extra gives for its
// port.
func newServer(t testing.TB, extra func(port int) []string) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t), dir: t.TempDir()}
	if err := s.listen(extra); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(s.Kill)
	return s
}

// Start starts a redis-server on a free loopback port for code that has no
// testing.TB, such as an Example function; Close stops it. Its other
// methods panic where a test's Server would fail the test.
func Start() (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found on PATH: %w", err)
	}
	dir, err := os.MkdirTemp("", "cachetest-")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir}
	if err := s.listen(nil); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	return s, nil
}

// Close stops a Server from Start and removes its files.
func (s *Server) Close() {
	s.Kill()
	if s.t == nil {
		os.RemoveAll(s.dir)
	}
}

// listen starts the server on a free port. A port found free can be taken
// before redis-server binds it; trying a few fresh ports makes that race
// harmless.
func (s *Server) listen(extra func(port int) []string) error {
	var err error
	for range 3 {
		if s.Port, err = freePort(); err != nil {
			return fmt.Errorf("find a free port: %w", err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
		s.URL = "redis://" + s.Addr + "/0"
		if extra != nil {
			s.extra = extra(s.Port)
		}
		if err = s.start(); err == nil {
			return nil
		}
	}
	return err
}

// fatalf fails the Server's test, or panics for a Server from Start.
func (s *Server) fatalf(format string, args ...any) {
	if s.t == nil {
		panic(fmt.Sprintf("cachetest: "+format, args...))
	}
	s.t.Helper()
	s.t.Fatalf(format, args...)
}

// helper marks the caller as a test helper, when there is a test.
func (s *Server) helper() {
	if s.t != nil {
		s.t.Helper()
	}
}

// Binary returns the path of redis-server, skipping or failing t (when CI is
// set) if it is not installed.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis-server not found on PATH (CI is set, so not skipping): %v", err)
		}
		t.Skipf("redis-server not found on PATH: %v", err)
	}
	return bin
}

// Kill ends the server with SIGKILL, as a crashed container would, and waits
// for the process to be gone. It is a no-op when the server is not running.
func (s *Server) Kill() {
	s.helper()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // a paused process must not stay stopped
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart starts the server again on the same port, after Kill. The data is
// gone, as with a container restarted without persistence.
func (s *Server) Restart() {
	s.helper()
	s.Kill()
	// The old listening socket may linger briefly: retry until the deadline.
	deadline := time.Now().Add(startTimeout)
	for {
		err := s.start()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.fatalf("restart redis-server on port %d: %v", s.Port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pause stops the process with SIGSTOP: connections stay open but nothing
// answers, which is what a hung or overloaded Redis looks like to a client.
func (s *Server) Pause() {
	s.helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.fatalf("pause redis-server: %v", err)
	}
}

// Resume continues a paused server.
func (s *Server) Resume() {
	s.helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.fatalf("resume redis-server: %v", err)
	}
}

func (s *Server) start() error {
	logFile := filepath.Join(s.dir, "redis.log")
	cmd := exec.Command(s.bin, append([]string{
		"--port", strconv.Itoa(s.Port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--logfile", logFile,
	}, s.extra...)...)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	if err := waitReady(s.Addr, exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		log, _ := os.ReadFile(logFile)
		return fmt.Errorf("%w; log:\n%s", err, lastLines(string(log), 10))
	}
	s.cmd, s.exited = cmd, exited
	return nil
}

// waitReady polls addr with PING until redis-server answers PONG, the process
// exits, or startTimeout passes.
func waitReady(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			return errors.New("redis-server exited during start")
		default:
		}
		if ping(addr) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s did not answer PING within %s", addr, startTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ping(addr string) error {
	reply, err := command(addr, "PING")
	if err != nil {
		return err
	}
	if reply != "PONG" {
		return fmt.Errorf("PING answered %q", reply)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
