package edge

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The image of a binary: the binary at /wbd, runnable, and the state
// directory, which the edge's user owns; named for the binary's build.
func TestImageOfABinary(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	x, err := Describe(self)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(x.Ref, Repository+":") || len(x.Ref) != len(Repository)+1+16 {
		t.Errorf("Ref %q, want %s:<16 hex digits>", x.Ref, Repository)
	}
	if again, _ := Describe(self); again.Ref != x.Ref {
		t.Errorf("Ref of the same binary: %s then %s", x.Ref, again.Ref)
	}
	var buf bytes.Buffer
	if err := x.WriteImage(&buf); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(self)
	entries := map[string]*tar.Header{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		entries[h.Name] = h
	}
	if h := entries["wbd"]; h == nil || h.Mode != 0o755 || h.Size != fi.Size() {
		t.Errorf("wbd in the image: %+v, want mode 0755 and %d bytes", h, fi.Size())
	}
	if h := entries["var/lib/wbd-edge/"]; h == nil || h.Uid != 65534 || h.Gid != 65534 || h.Mode != 0o700 {
		t.Errorf("the state directory in the image: %+v, want 0700 owned by 65534", h)
	}
	if len(entries) != 4 {
		t.Errorf("image entries %v, want the binary and its directories", entries)
	}
}

// A binary that is not static, or for another machine, is refused with
// what to do.
func TestImageRefusesABinaryThatCannotRunThere(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ELF binaries")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no C compiler to build a dynamically linked binary")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	os.WriteFile(src, []byte("package main\nimport _ \"os/user\"\nfunc main() {}\n"), 0o644)
	bin := filepath.Join(dir, "dyn")
	cmd := exec.Command("go", "build", "-o", bin, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	x, err := Describe(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Usable(x.Arch); err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("Usable of a dynamic binary: %v, want a pointer to CGO_ENABLED=0", err)
	}
	static := Executable{Path: "/x/wbd", Static: true, Arch: "x86_64"}
	if err := static.Usable("aarch64"); err == nil || !strings.Contains(err.Error(), "aarch64") {
		t.Errorf("Usable on another architecture: %v, want it named", err)
	}
	if err := static.Usable("x86_64"); err != nil {
		t.Errorf("Usable on its own architecture: %v", err)
	}
}
