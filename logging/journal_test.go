package logging

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFieldName(t *testing.T) {
	for in, want := range map[string]string{"instance": "INSTANCE", "retry_at": "RETRY_AT", "a.b-c": "A_B_C", "_x": "X", "9lives": "X9LIVES"} {
		if got := fieldName(in); got != want {
			t.Errorf("fieldName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAnInheritedJournalStreamIsNotOurs(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t.Setenv("JOURNAL_STREAM", "8:123")
	if IsJournalStream(f) {
		t.Error("a file whose device and inode differ is taken for the journal")
	}
	var st syscall.Stat_t
	syscall.Fstat(int(f.Fd()), &st)
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	if !IsJournalStream(f) {
		t.Error("the stream JOURNAL_STREAM names is not recognised")
	}
}

// TestJournal runs itself again in a mount namespace of its own, where a
// fake journal listens at the journal's socket, with stderr a socket that
// JOURNAL_STREAM names, as systemd sets up a service.
func TestJournal(t *testing.T) {
	if os.Getenv("WBD_JOURNAL_CHILD") == "1" {
		journalChild(t)
		return
	}
	if os.Getuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("the journal test needs root, for a mount namespace")
		}
		t.Skip("needs root, for a mount namespace with a fake journal socket")
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	stream := os.NewFile(uintptr(fds[0]), "stream")
	other := os.NewFile(uintptr(fds[1]), "other")
	defer stream.Close()
	defer other.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(fds[0], &st); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^TestJournal$", "-test.v")
	cmd.Env = append(os.Environ(), "WBD_JOURNAL_CHILD=1", fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino))
	cmd.Stdout, cmd.Stderr = &out, stream
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "PASS") {
		t.Fatalf("child did not pass:\n%s", out.String())
	}
}

func journalChild(t *testing.T) {
	if !IsJournalStream(os.Stderr) {
		t.Fatal("stderr, the stream JOURNAL_STREAM names, is not recognised")
	}
	if err := syscall.Mount("tmpfs", "/run", "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount a tmpfs on /run: %v", err)
	}
	os.MkdirAll("/run/systemd/journal", 0o755)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: "/run/systemd/journal/socket", Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h, err := Journal(slog.LevelDebug, func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == "error" {
			return slog.String(a.Key, strings.ReplaceAll(a.Value.String(), "s3cret", "***"))
		}
		return a
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(h).With("instance", "testing")
	log.Error("reconcile failed", "host", "ssh://box", "revision", 3, "error", "dial s3cret: refused")
	log.Warn("applied with a warning", "warning", "redis did not start")
	log.Info("applied", "result", "app recreated")
	log.Debug("pass done")

	want := []struct {
		priority string
		message  string
		fields   map[string]string
	}{
		{"3", "reconcile failed instance=testing host=ssh://box revision=3", map[string]string{"INSTANCE": "testing", "HOST": "ssh://box", "REVISION": "3", "ERROR": "dial ***: refused"}},
		{"4", "applied with a warning instance=testing", map[string]string{"INSTANCE": "testing", "WARNING": "redis did not start"}},
		{"6", "applied instance=testing result=", map[string]string{"RESULT": "app recreated"}},
		{"7", "pass done instance=testing", map[string]string{"INSTANCE": "testing"}},
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1<<16)
	for i, w := range want {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		fields := parseNative(buf[:n])
		if fields["PRIORITY"] != w.priority {
			t.Errorf("%d: PRIORITY=%q, want %s (%v)", i, fields["PRIORITY"], w.priority, fields)
		}
		if !strings.HasPrefix(fields["MESSAGE"], strings.Fields(w.message)[0]) || !containsAll(fields["MESSAGE"], strings.Fields(w.message)) {
			t.Errorf("%d: MESSAGE=%q, want %q", i, fields["MESSAGE"], w.message)
		}
		for k, v := range w.fields {
			if fields[k] != v {
				t.Errorf("%d: %s=%q, want %q", i, k, fields[k], v)
			}
		}
		if strings.Contains(string(buf[:n]), "s3cret") {
			t.Errorf("%d: the secret reached the journal", i)
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// parseNative reads the journal's native protocol: KEY=VALUE lines, or
// KEY, a newline, a little-endian 64-bit length and the value.
func parseNative(b []byte) map[string]string {
	out := map[string]string{}
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			break
		}
		line := b[:nl]
		if eq := bytes.IndexByte(line, '='); eq >= 0 {
			out[string(line[:eq])] = string(line[eq+1:])
			b = b[nl+1:]
			continue
		}
		key := string(line)
		b = b[nl+1:]
		if len(b) < 8 {
			break
		}
		n := binary.LittleEndian.Uint64(b[:8])
		b = b[8:]
		if uint64(len(b)) < n+1 {
			break
		}
		out[key] = string(b[:n])
		b = b[n+1:]
	}
	return out
}
