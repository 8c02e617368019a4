package edge

import (
	"archive/tar"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// The edge's image is the wbd binary that applies it, alone in an image
// wbd imports through the engine's API: no registry, nothing to install
// on a host, and the edge always speaks the control protocol of the wbd
// that drives it. Its tag is a digest of the binary's Go build ID, so one
// build makes one image on every host, and a new wbd a new one.
const (
	// Repository names the edge's images on every engine. It is no
	// registry's: an image missing there is made, never pulled.
	Repository = "wbd.local/edge"
	// User is who the edge runs as: nobody.
	User = "65534:65534"
	// Binary is where the binary lies in the image.
	Binary = "/wbd"
)

// Entrypoint runs the edge: the image's command is its flags.
var Entrypoint = []string{Binary, "edge"}

// Executable is the binary an image is made of; the running one.
type Executable struct {
	Path string
	// Ref is the image reference for it: Repository:TAG.
	Ref string
	// Arch is the architecture it runs on, as a Docker engine names
	// its own (uname -m): x86_64, aarch64, ...
	Arch string
	// Static is false when it needs a dynamic loader, which an image of
	// one file does not have.
	Static bool
}

var (
	selfOnce sync.Once
	self     Executable
	selfErr  error
)

// Self describes the running binary, once.
func Self() (Executable, error) {
	selfOnce.Do(func() {
		path, err := os.Executable()
		if err != nil {
			selfErr = fmt.Errorf("edge image: find this binary: %w", err)
			return
		}
		self, selfErr = Describe(path)
	})
	return self, selfErr
}

// Describe reads what making an image of the binary at path needs.
func Describe(path string) (Executable, error) {
	f, err := elf.Open(path)
	if err != nil {
		return Executable{}, fmt.Errorf("edge image: %s: %w", path, err)
	}
	defer f.Close()
	x := Executable{Path: path, Static: true, Arch: machine(f.Machine)}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			x.Static = false
		}
	}
	id, err := buildID(f)
	if err != nil || id == "" {
		// No Go build ID (an unusual linker): the content itself.
		id, err = fileDigest(path)
		if err != nil {
			return Executable{}, fmt.Errorf("edge image: %s: %w", path, err)
		}
	}
	sum := sha256.Sum256([]byte(id))
	x.Ref = Repository + ":" + hex.EncodeToString(sum[:])[:16]
	return x, nil
}

// Usable says why the image of x could not run on an engine of arch.
func (x Executable) Usable(arch string) error {
	if !x.Static {
		return fmt.Errorf("the edge runs this wbd binary (%s) in its container, and it is dynamically linked: build wbd with CGO_ENABLED=0 (make build does)", x.Path)
	}
	if arch != "" && x.Arch != "" && arch != x.Arch {
		return fmt.Errorf("the edge runs this wbd binary (%s, built for %s) in its container, and the engine runs on %s: run a wbd built for %s", x.Path, x.Arch, arch, arch)
	}
	return nil
}

// buildID reads the Go build ID note of f.
func buildID(f *elf.File) (string, error) {
	sec := f.Section(".note.go.buildid")
	if sec == nil {
		return "", errors.New("no Go build ID")
	}
	data, err := sec.Data()
	if err != nil {
		return "", err
	}
	// An ELF note: namesz, descsz, type, then name and desc, 4-aligned.
	if len(data) < 16 {
		return "", errors.New("short Go build ID note")
	}
	nameSize := f.ByteOrder.Uint32(data[0:])
	descSize := f.ByteOrder.Uint32(data[4:])
	off := 12 + (nameSize+3)&^3
	if uint64(off)+uint64(descSize) > uint64(len(data)) {
		return "", errors.New("malformed Go build ID note")
	}
	return string(data[off : off+descSize]), nil
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func machine(m elf.Machine) string {
	switch m {
	case elf.EM_X86_64:
		return "x86_64"
	case elf.EM_AARCH64:
		return "aarch64"
	case elf.EM_386:
		return "i686"
	case elf.EM_ARM:
		return "armv7l"
	case elf.EM_PPC64:
		return "ppc64le"
	case elf.EM_S390:
		return "s390x"
	case elf.EM_RISCV:
		return "riscv64"
	}
	return strings.ToLower(strings.TrimPrefix(m.String(), "EM_"))
}

// ImageChanges are the settings of the image, as `docker import --change`
// takes them.
func (x Executable) ImageChanges() []string {
	return []string{
		`ENTRYPOINT ["` + strings.Join(Entrypoint, `", "`) + `"]`,
		"USER " + User,
		"WORKDIR " + StateDir,
		fmt.Sprintf("EXPOSE %d/tcp", ListenPort),
		"LABEL org.opencontainers.image.title=wbd-edge",
		"LABEL io.wbd.edge.image=" + x.Ref,
	}
}

// WriteImage writes the image's file system as a tar: the binary, and the
// state directory the edge's user owns.
func (x Executable) WriteImage(w io.Writer) error {
	f, err := os.Open(x.Path)
	if err != nil {
		return fmt.Errorf("edge image: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("edge image: %w", err)
	}
	tw := tar.NewWriter(w)
	// A fixed time: the same binary makes the same layer.
	mtime := time.Unix(0, 0)
	dirs := []string{"var/", "var/lib/", strings.TrimPrefix(StateDir, "/") + "/"}
	for i, d := range dirs {
		h := &tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: mtime}
		if i == len(dirs)-1 {
			h.Mode, h.Uid, h.Gid = 0o700, 65534, 65534
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	h := &tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(Binary, "/"), Mode: 0o755, Size: fi.Size(), ModTime: mtime}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if n, err := io.Copy(tw, f); err != nil || n != fi.Size() {
		return fmt.Errorf("edge image: copy %s: %d of %d bytes: %v", x.Path, n, fi.Size(), err)
	}
	return tw.Close()
}
