package instdir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/wbd-dev/wbd/spec"
)

// SecretEnvFile is the env file, under an instance's secrets directory,
// that carries its secret_env to the app: compose reads it (env_file), so
// that no value is in compose.yaml, labels or logs.
const SecretEnvFile = "app.env"

// SecretEnvPath is the env file of in.
func SecretEnvPath(in *spec.Instance) string { return SecretPath(in, SecretEnvFile) }

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// SecretEnv is the content of in's env file: one NAME="value" line per
// entry of in.SecretEnv, sorted by name, password being the content of its
// postgres password file. Values are double-quoted with \, " and $
// escaped, which compose's env file parser reads back exactly.
func SecretEnv(in *spec.Instance, password []byte) ([]byte, error) {
	pw := strings.TrimSuffix(string(password), "\n")
	if pw == "" {
		return nil, fmt.Errorf("instance %s: %s is empty, not a password file", in.Name, SecretPath(in, PostgresPassword))
	}
	if strings.ContainsAny(pw, "\n\r\x00") {
		return nil, fmt.Errorf("instance %s: the password in %s holds a line break or a NUL byte, which an environment variable cannot carry: "+
			"give the database a one-line password", in.Name, SecretPath(in, PostgresPassword))
	}
	var b bytes.Buffer
	for _, name := range slices.Sorted(maps.Keys(in.SecretEnv)) {
		if !envName.MatchString(name) {
			return nil, fmt.Errorf("instance %s: secret_env: %q is not an environment variable name", in.Name, name)
		}
		var v string
		switch secret := in.SecretEnv[name]; secret {
		case spec.SecretPostgresPassword:
			v = pw
		case spec.SecretPostgresURL:
			u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", pw), Host: in.Name + "-postgres:5432", Path: "/postgres"}
			v = u.String()
		default:
			return nil, fmt.Errorf("instance %s: secret_env: %s: no secret is named %q", in.Name, name, secret)
		}
		fmt.Fprintf(&b, "%s=\"%s\"\n", name, envQuoter.Replace(v))
	}
	return b.Bytes(), nil
}

// envQuoter escapes a value for double quotes in compose's env file format:
// \$ is read as a literal $, never a variable.
var envQuoter = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`)

// writeSecretEnv writes in's env file when it has a secret_env, replacing
// it only when its content changes. The secrets directory is private by
// then; the file is SecretMode, like the secrets it repeats.
func writeSecretEnv(ctx context.Context, files Files, in *spec.Instance) error {
	if len(in.SecretEnv) == 0 {
		return nil
	}
	pw, err := files.ReadFile(ctx, SecretPath(in, PostgresPassword))
	if err != nil {
		return fmt.Errorf("instance %s: %w", in.Name, err)
	}
	data, err := SecretEnv(in, pw)
	if err != nil {
		return err
	}
	path := SecretEnvPath(in)
	cur, err := files.ReadFile(ctx, path)
	switch {
	case err == nil && bytes.Equal(cur, data):
		return nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("instance %s: %w", in.Name, err)
	}
	if err := files.WriteFile(ctx, path, data, SecretMode); err != nil {
		return fmt.Errorf("instance %s: %w", in.Name, err)
	}
	return nil
}
