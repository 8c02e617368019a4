// Package instdir keeps an instance's directory on disk: the subdirectories
// its containers bind-mount, its generated secrets and its rendered
// compose.yaml. It creates what is missing and never deletes anything.
package instdir

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/wbd-dev/wbd/spec"
)

// Subdirectories are created in every instance directory, as the plan's
// SUBDIRECTORIES.
var Subdirectories = []string{"databases", "sandbox", "exports", "assets", "redis"}

// ComposeFile is where apply leaves the rendered project, so that an
// operator can still run docker compose by hand.
const ComposeFile = "compose.yaml"

// Secrets wbd generates per instance, one file each under {root}/NAME/secrets.
const (
	PostgresPassword = "postgres-password"
	AdminPassword    = "admin-password"
)

// SecretPath is the file holding the named secret of in.
func SecretPath(in *spec.Instance, name string) string {
	return filepath.Join(in.Dir, "secrets", name)
}

// Prepare creates in's directory, its subdirectories and the secrets its
// project mounts on files, as `mkdir -p` would: an existing instance is no
// error, an existing directory is left as it is, and an existing secret is
// kept.
func Prepare(ctx context.Context, files Files, in *spec.Instance) error {
	return Batch(ctx, files, func(files Files) error { return prepare(ctx, files, in) })
}

func prepare(ctx context.Context, files Files, in *spec.Instance) error {
	for _, sub := range Subdirectories {
		if err := files.MkdirAll(ctx, in.Path(sub), 0o755); err != nil {
			return fmt.Errorf("instance %s: %w", in.Name, err)
		}
	}
	if err := files.MkdirAll(ctx, in.Path("secrets"), 0o700); err != nil {
		return fmt.Errorf("instance %s: %w", in.Name, err)
	}
	secrets := []string{PostgresPassword}
	if in.Admin != nil {
		secrets = append(secrets, AdminPassword)
	}
	for _, name := range secrets {
		if _, err := files.EnsureSecret(ctx, SecretPath(in, name)); err != nil {
			return fmt.Errorf("instance %s: %w", in.Name, err)
		}
	}
	return nil
}
