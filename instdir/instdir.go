// Package instdir keeps an instance's directory on disk: the subdirectories
// its containers bind-mount, its generated secrets and its rendered
// compose.yaml. It creates what is missing and deletes nothing of an
// instance's (RemoveIn is for the revisions wbd prunes).
//
// Everything below root is wbd's to write and no other user's: root must
// not be writable by others, no symbolic link below it is followed, and
// the secrets directory is kept 0700, owned by the user running wbd.
package instdir

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/wbd-dev/wbd/spec"
)

// Subdirectories are created in every instance directory, for the
// containers' bind mounts.
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
// kept. The secrets directory is the exception: wbd owns it, and narrows it
// to 0700 before any secret is created or kept in it. A secret that
// containers not running as root cannot read is kept, with a warning.
func Prepare(ctx context.Context, files Files, in *spec.Instance) error {
	if l, ok := files.(localFiles); ok {
		files = l.at(filepath.Dir(in.Dir))
	}
	return Batch(ctx, files, func(files Files) error { return prepare(ctx, files, in) })
}

func prepare(ctx context.Context, files Files, in *spec.Instance) error {
	if err := checkPostgresSecret(ctx, files, in); err != nil {
		return err
	}
	for _, sub := range Subdirectories {
		if err := files.MkdirAll(ctx, in.Path(sub), 0o755); err != nil {
			return fmt.Errorf("instance %s: %w", in.Name, err)
		}
	}
	if err := files.PrivateDir(ctx, in.Path("secrets")); err != nil {
		return fmt.Errorf("instance %s: %w", in.Name, err)
	}
	secrets := []string{PostgresPassword}
	if in.Admin != nil {
		secrets = append(secrets, AdminPassword)
	}
	for _, name := range secrets {
		_, err := files.EnsureSecret(ctx, SecretPath(in, name))
		var unreadable *UnreadableSecretError
		if errors.As(err, &unreadable) {
			slog.Warn("secret kept as it is", "instance", in.Name, "warning", err.Error())
			err = nil
		}
		if err != nil {
			return fmt.Errorf("instance %s: %w", in.Name, err)
		}
	}
	return writeSecretEnv(ctx, files, in)
}

// checkPostgresSecret refuses to generate a postgres password for a database
// that already exists (one the old CLI ran, or copied from elsewhere): the
// database keeps the password it was created with, so the app could not log
// in, and with apply --adopt the running old containers would already be
// gone.
func checkPostgresSecret(ctx context.Context, files Files, in *spec.Instance) error {
	secret := SecretPath(in, PostgresPassword)
	if ok, err := files.Exists(ctx, secret); err != nil || ok {
		return wrap(in, err)
	}
	if ok, err := files.Exists(ctx, filepath.Join(in.Path("databases"), "PG_VERSION")); err != nil || !ok {
		return wrap(in, err)
	}
	return fmt.Errorf("instance %s: %s holds a postgres database but %s does not exist: "+
		"write that database's postgres password there first, or the app could not log in with the one wbd would generate",
		in.Name, in.Path("databases"), secret)
}

func wrap(in *spec.Instance, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("instance %s: %w", in.Name, err)
}
