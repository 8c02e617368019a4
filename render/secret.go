package render

import (
	"path/filepath"

	"github.com/wbd-dev/wbd/spec"
)

// Secrets wbd generates per instance, one file each under {root}/NAME/secrets.
const (
	PostgresPassword = "postgres-password"
	AdminPassword    = "admin-password"
)

// SecretsDir is where an instance's generated secrets live.
func SecretsDir(in *spec.Instance) string { return in.Path("secrets") }

// SecretPath is the file holding the named secret of in.
func SecretPath(in *spec.Instance, name string) string {
	return filepath.Join(SecretsDir(in), name)
}

// SecretsFor lists the secrets in's project mounts.
func SecretsFor(in *spec.Instance) []string {
	if in.Admin != nil {
		return []string{PostgresPassword, AdminPassword}
	}
	return []string{PostgresPassword}
}
