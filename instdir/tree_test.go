package instdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// compose.yaml replaced when it is a link: the link itself is replaced by
// the file, and what it pointed to stays as it was.
func TestWriteFileInReplacesALink(t *testing.T) {
	root := t.TempDir()
	out := newOutside(t, 0o644)
	path := filepath.Join(root, "x", ComposeFile)
	symlink(t, out.path, path)
	if err := WriteFileIn(root, path, []byte("services: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("compose.yaml: %v, %v; want a regular file", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(path); string(b) != "services: {}\n" {
		t.Errorf("compose.yaml=%q", b)
	}
	out.check(t)
}

// Below root nothing is reached through a link, in any directory on the way.
func TestWriteFileInRefusesALinkedDirectory(t *testing.T) {
	root := t.TempDir()
	elsewhere := t.TempDir()
	symlink(t, elsewhere, filepath.Join(root, "x", ".wbd"))
	path := filepath.Join(root, "x", ".wbd", "revisions", "000001.json")
	err := WriteFileIn(root, path, []byte("{}\n"), 0o644)
	want := filepath.Join(root, "x", ".wbd") + " is a symbolic link, not a directory: wbd follows no links under its root"
	if err == nil || err.Error() != want {
		t.Errorf("WriteFileIn = %v\nwant %q", err, want)
	}
	if err := MkdirAllIn(root, filepath.Dir(path), 0o755); err == nil || err.Error() != want {
		t.Errorf("MkdirAllIn = %v\nwant %q", err, want)
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Errorf("written through the link: %v", ents)
	}
	if err := WriteFileIn(root, "/etc/passwd", nil, 0o644); err == nil || err.Error() != "/etc/passwd is not under "+root {
		t.Errorf("WriteFileIn outside root = %v", err)
	}
}

// What wbd reads under root is a regular file, reached without links, of
// at most MaxFileSize bytes; a FIFO does not block it.
func TestReadFileIn(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "x")
	os.MkdirAll(dir, 0o755)
	out := newOutside(t, 0o644)
	symlink(t, out.path, filepath.Join(dir, "link.yaml"))
	syscall.Mkfifo(filepath.Join(dir, "fifo.yaml"), 0o644)
	big, _ := os.Create(filepath.Join(dir, "big.yaml"))
	big.Truncate(MaxFileSize + 1)
	big.Close()
	os.WriteFile(filepath.Join(dir, "ok.yaml"), []byte("ok\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "max.yaml"), make([]byte, MaxFileSize), 0o644)
	for name, want := range map[string]string{
		"link.yaml":    "link.yaml is a symbolic link, not a regular file: wbd follows no links under its root",
		"fifo.yaml":    "fifo.yaml is a FIFO, not a regular file",
		"big.yaml":     fmt.Sprintf("big.yaml is %d bytes, more than the %d wbd reads", MaxFileSize+1, MaxFileSize),
		"missing.yaml": "missing.yaml: no such file or directory",
	} {
		done := make(chan error, 1)
		go func() { _, err := ReadFileIn(root, filepath.Join(dir, name)); done <- err }()
		select {
		case err := <-done:
			if want := filepath.Join(dir, want); err == nil || err.Error() != want {
				t.Errorf("ReadFileIn(%s) = %v\nwant %q", name, err, want)
			}
			if name == "missing.yaml" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("ReadFileIn(%s) does not match fs.ErrNotExist", name)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("ReadFileIn(%s) blocks", name)
		}
	}
	if b, err := ReadFileIn(root, filepath.Join(dir, "ok.yaml")); err != nil || string(b) != "ok\n" {
		t.Errorf("ReadFileIn(ok.yaml) = %q, %v", b, err)
	}
	if b, err := ReadFileIn(root, filepath.Join(dir, "max.yaml")); err != nil || len(b) != MaxFileSize {
		t.Errorf("ReadFileIn(max.yaml) = %d bytes, %v", len(b), err)
	}
	out.check(t)
}

func TestRemoveInRemovesTheLinkNotItsTarget(t *testing.T) {
	root := t.TempDir()
	out := newOutside(t, 0o644)
	link := filepath.Join(root, "x", "000001.json")
	symlink(t, out.path, link)
	if err := RemoveIn(root, link); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("link still there: %v", err)
	}
	out.check(t)
}

// Reading never creates: wbd status on a root no daemon ever used leaves
// no directory behind.
func TestReadFileInMakesNoRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "r")
	if _, err := ReadFileIn(root, filepath.Join(root, ".wbd-daemon.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFileIn = %v, want fs.ErrNotExist", err)
	}
	if ok, err := LocalAt(root).Exists(t.Context(), filepath.Join(root, "x", "compose.yaml")); ok || err != nil {
		t.Errorf("Exists = %v, %v; want false, nil", ok, err)
	}
	if _, err := os.Lstat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("root made by a read: %v", err)
	}
}
