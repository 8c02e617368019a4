package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sshAlias is the Host the operator's ssh config gives the test's server.
const sshAlias = "wbd-test-ssh"

// sshServer is an sshd of the test's own, listening on 127.0.0.1 only and
// letting in one user with one key, and the throwaway HOME of an operator
// whose ssh config names it: the local engine, reached the way an
// operator reaches another machine's.
type sshServer struct {
	dir          string // the server's and the client's files
	port         int
	user         string
	home         string // the operator's HOME
	clientConfig string // $HOME/.ssh/config
	bin          string // the directory put first on the operator's PATH
	cmd          *exec.Cmd
	exited       chan struct{}
	log          *lockedBuffer // sshd -e: its log on stderr
}

// sshSetUpHint is what to run when OpenSSH is missing.
const sshSetUpHint = "apt-get install openssh-server (scripts/test.sh installs it)"

// startSSHServer starts the server and writes the operator's HOME. It
// skips the test (fails it under CI) without OpenSSH.
func startSSHServer(t *testing.T) *sshServer {
	t.Helper()
	sshd := lookPathOr(t, "sshd", "/usr/sbin/sshd")
	ssh := lookPathOr(t, "ssh", "")
	keygen := lookPathOr(t, "ssh-keygen", "")
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &sshServer{
		dir:  dir,
		user: u.Username,
		home: filepath.Join(dir, "home"),
		bin:  filepath.Join(dir, "bin"),
	}
	s.clientConfig = filepath.Join(s.home, ".ssh", "config")
	for _, d := range []string{filepath.Join(s.home, ".ssh"), s.bin} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	hostKey, clientKey := filepath.Join(dir, "host_key"), filepath.Join(s.home, ".ssh", "id_ed25519")
	for _, k := range []string{hostKey, clientKey} {
		if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "wbd-e2e", "-f", k).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen %s: %v\n%s", k, err, out)
		}
	}
	pub, err := os.ReadFile(clientKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	authorized := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorized, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// sshd running as root wants its privilege separation directory,
		// which Debian's service would create: the test does not start it.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.start(t, sshd, hostKey, authorized)

	// ssh reads its config from the home of the user's passwd entry, never
	// from $HOME: the ssh on the operator's PATH points it at $HOME's, as
	// an operator's own ~/.ssh/config would be read.
	wrapper := fmt.Sprintf("#!/bin/sh\nexec %s -F \"$HOME/.ssh/config\" \"$@\"\n", ssh)
	if err := os.WriteFile(filepath.Join(s.bin, "ssh"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`Host %s
  HostName 127.0.0.1
  Port %d
  User %s
Host *
  IdentityFile %s
  IdentitiesOnly yes
  StrictHostKeyChecking accept-new
  UserKnownHostsFile %s
  BatchMode yes
`, sshAlias, s.port, s.user, clientKey, filepath.Join(s.home, ".ssh", "known_hosts"))
	if err := os.WriteFile(s.clientConfig, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// start runs sshd on a free port, trying another should one be taken
// between the pick and the bind.
func (s *sshServer) start(t *testing.T, sshd, hostKey, authorized string) {
	t.Helper()
	for try := 0; ; try++ {
		s.port = freePort(t)
		conf := filepath.Join(s.dir, "sshd_config")
		text := fmt.Sprintf(`ListenAddress 127.0.0.1:%d
HostKey %s
AllowUsers %s
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PidFile none
X11Forwarding no
AllowTcpForwarding no
PrintMotd no
LogLevel INFO
`, s.port, hostKey, s.user, authorized)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		s.log, s.exited = &lockedBuffer{}, make(chan struct{})
		s.cmd = exec.Command(sshd, "-D", "-e", "-f", conf)
		s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
		if err := s.cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", sshd, err)
		}
		go func() { _ = s.cmd.Wait(); close(s.exited) }()
		listening := fmt.Sprintf("Server listening on 127.0.0.1 port %d.", s.port)
		deadline := time.After(10 * time.Second)
	wait:
		for !strings.Contains(s.log.String(), listening) {
			select {
			case <-s.exited:
				if try < 3 && strings.Contains(s.log.String(), "Address already in use") {
					break wait
				}
				t.Fatalf("sshd exited: %v\n%s", s.cmd.ProcessState, s.log)
			case <-deadline:
				s.stop()
				t.Fatalf("sshd does not listen on 127.0.0.1:%d:\n%s", s.port, s.log)
			case <-time.After(20 * time.Millisecond):
			}
		}
		select {
		case <-s.exited:
			continue // the port was taken
		default:
		}
		t.Cleanup(func() {
			s.stop()
			if t.Failed() {
				t.Logf("sshd's log:\n%s", s.log)
			}
		})
		return
	}
}

// stop ends sshd, which ends the sessions it still serves.
func (s *sshServer) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// env is the environment of the operator: HOME is the throwaway one, ssh
// is found first on PATH, and nothing names another engine or ssh agent.
func (s *sshServer) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "HOME", "PATH", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "SSH_AUTH_SOCK":
		default:
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+s.home, "PATH="+s.bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// logins counts the logins sshd has let in.
func (s *sshServer) logins() int {
	return strings.Count(s.log.String(), "Accepted publickey for "+s.user+" from 127.0.0.1 ")
}

// leftovers describes the processes of this server's connections still
// alive: ssh clients run with the operator's config, sshd's own processes
// for a connection, and what runs in a session (docker system dial-stdio),
// known by its SSH_CONNECTION.
func (s *sshServer) leftovers() []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []string{err.Error()}
	}
	session := fmt.Sprintf(" 127.0.0.1 %d", s.port) // how SSH_CONNECTION ends
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == s.cmd.Process.Pid {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue // gone, or a zombie about to be reaped
		}
		args := strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")
		environ, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		inSession := false
		for _, kv := range strings.Split(string(environ), "\x00") {
			if v, ok := strings.CutPrefix(kv, "SSH_CONNECTION="); ok && strings.HasSuffix(v, session) {
				inSession = true
			}
		}
		if strings.Contains(args, s.clientConfig) || parentPID(e.Name()) == s.cmd.Process.Pid || inSession {
			out = append(out, fmt.Sprintf("pid %d: %s", pid, args))
		}
	}
	return out
}

// parentPID reads a process's parent from /proc/PID/stat; 0 if it is gone.
func parentPID(pid string) int {
	stat, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return 0
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// requireNoLeftovers fails the test if a process of a connection outlives
// the wbd command that opened it by more than a moment.
func (s *sshServer) requireNoLeftovers(t *testing.T, after string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := s.leftovers()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("after %s, processes of its ssh connections are left behind:\n  %s", after, strings.Join(left, "\n  "))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wbd runs the wbd binary on o's file as the operator of s's HOME.
func (s *sshServer) wbd(t *testing.T, o *operator, args ...string) result {
	t.Helper()
	o.env = s.env()
	return o.wbd(args...)
}

// lookPathOr finds an OpenSSH program on PATH or at fallback, skipping the
// test (failing it under CI) when it is not there.
func lookPathOr(t *testing.T, name, fallback string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if fallback != "" {
		if _, err := os.Stat(fallback); err == nil {
			return fallback
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found; %s", name, sshSetUpHint)
	}
	t.Skipf("%s not found; %s", name, sshSetUpHint)
	return ""
}
