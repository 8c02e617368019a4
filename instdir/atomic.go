package instdir

import (
	"context"
	"io/fs"
	"path/filepath"
)

// WriteFile replaces path with data in one step: a reader sees the old file
// or the new one, never a part, even if the machine stops half-way. A link
// at path is replaced, not written through. Under a root, use WriteFileIn:
// it follows no link below the root either.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return WriteFileIn(filepath.Dir(path), path, data, perm)
}

// EnsureSecret creates path holding a new random secret, mode SecretMode,
// unless it exists: a secret is never regenerated, since the database keeps
// the first. Two callers racing get the same secret: the file appears
// whole, once.
func EnsureSecret(path string) (created bool, err error) {
	return Local.EnsureSecret(context.Background(), path)
}
