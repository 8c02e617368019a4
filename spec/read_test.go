package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte(strings.Repeat("#", MaxFileSize+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	limit := filepath.Join(dir, "limit.yaml")
	if err := os.WriteFile(limit, []byte("version: 1\nroot: /srv\ninstances: {}\n"+strings.Repeat("#", MaxFileSize-36)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want string // "" when the file loads
	}{
		{fifo, fifo + ": is a named pipe (FIFO), not a regular file"},
		{dir, dir + ": is a directory, not a regular file"},
		{"/dev/zero", "/dev/zero: is a character device, not a regular file"},
		{big, big + ": is 4194305 bytes; instances.yaml may be at most 4 MiB"},
		{limit, ""},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := Load(tt.path)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("Load(%s) blocks", tt.path)
			}
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Load error:\n got %v\nwant %s", err, tt.want)
			}
			if !errors.Is(err, ErrFile) {
				t.Errorf("errors.Is(err, ErrFile)=false")
			}
		})
	}
}
