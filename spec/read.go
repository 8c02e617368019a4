package spec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// MaxFileSize is the most an instances.yaml may hold: far above any real
// file (a hundred instances take a few kilobytes), far below what would
// make the daemon, which re-reads it on every save, a memory hog.
const MaxFileSize = 4 << 20

// ErrFile is what an instances file that cannot be read as one unwraps to:
// not a regular file, or larger than MaxFileSize.
var ErrFile = errors.New("not a readable instances file")

// Load reads and parses the file at path.
func Load(path string) (*Config, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseFile(path, data)
}

// ReadFile reads the instances file at path: only a regular file, and at
// most MaxFileSize bytes of it. A FIFO, a device or a directory is refused
// without being read, and without blocking on a FIFO that has no writer.
func ReadFile(path string) ([]byte, error) { return readConfig(path, "instances.yaml") }

// ReadTemplate reads a compose template of the file's templates directory
// under the same rules as ReadFile: it is as much the operator's input.
func ReadTemplate(path string) ([]byte, error) { return readConfig(path, "a template") }

// readConfig reads path as ReadFile does; what names the kind of file in
// the size message.
func readConfig(path, what string) ([]byte, error) {
	// O_NONBLOCK makes opening a FIFO return at once; on the regular file
	// this goes on to read it changes nothing.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fileError(path, "is %s, not a regular file", fileKind(fi.Mode()))
	}
	if fi.Size() > MaxFileSize {
		return nil, tooLarge(path, what, fmt.Sprintf("%d bytes", fi.Size()))
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(path, what, fmt.Sprintf("more than %d bytes", MaxFileSize)) // it grew while read
	}
	return data, nil
}

func tooLarge(path, what, size string) error {
	return fileError(path, "is %s; %s may be at most %d MiB", size, what, MaxFileSize>>20)
}

func fileError(path, format string, args ...any) error {
	return ErrorList{{File: path, Err: ErrFile, Msg: fmt.Sprintf(format, args...)}}
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a file of type " + m.Type().String()
}
