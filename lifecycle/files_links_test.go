package lifecycle

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/spec"
)

// Through a Docker host's engine the secrets keep the rules they keep
// here: the secrets directory narrowed to 0700 first, an existing secret
// never widened, links below the root refused with their path, and
// nothing outside the root changed.
func TestHostFilesSecretsAndLinks(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	root := t.TempDir()
	h := &hostFiles{e: e, root: root}
	ctx := t.Context()
	inst := func(name string) *spec.Instance {
		return &spec.Instance{Name: name, Dir: filepath.Join(root, name), Admin: &spec.Admin{Port: 5051},
			SecretEnv: map[string]string{"PGPASSWORD": spec.SecretPostgresPassword}}
	}
	mkdir := func(p string, mode os.FileMode) {
		if err := os.MkdirAll(p, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
	}

	// An operator's mkdir -p and a password written 0600.
	a := inst("a")
	mkdir(a.Path("secrets"), 0o755)
	os.WriteFile(instdir.SecretPath(a, instdir.PostgresPassword), []byte("operator's $pw\n"), 0o600)

	// Links: the secrets directory, a password file, a subdirectory.
	outDir := t.TempDir()
	os.Chmod(outDir, 0o755)
	outFile := filepath.Join(t.TempDir(), "shadow")
	os.WriteFile(outFile, []byte("root:x:\n"), 0o600)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	os.Chtimes(outFile, old, old)
	b, c, d := inst("b"), inst("c"), inst("d")
	mkdir(b.Dir, 0o755)
	os.Symlink(outDir, b.Path("secrets"))
	mkdir(c.Path("secrets"), 0o700)
	os.Symlink(outFile, instdir.SecretPath(c, instdir.PostgresPassword))
	mkdir(d.Path("secrets"), 0o700)
	os.WriteFile(instdir.SecretPath(d, instdir.PostgresPassword), []byte("pw\n"), 0o444)
	os.Symlink(outDir, d.Path("redis"))

	host := "docker host " + e.Host() + ": "
	want := map[string]string{
		"b": "instance b: " + host + b.Path("secrets") + " is a symbolic link, not a directory: wbd follows no links under its root",
		"c": "instance c: " + host + instdir.SecretPath(c, instdir.PostgresPassword) + " is a symbolic link, not a password file: wbd follows no links under its root",
		"d": "instance d: " + host + d.Path("redis") + " is a symbolic link, not a directory: wbd follows no links under its root",
	}
	var read []byte
	var readErr error
	err := instdir.Batch(ctx, h, func(f instdir.Files) error {
		if err := instdir.Prepare(ctx, f, a); err != nil {
			return err
		}
		for _, in := range []*spec.Instance{b, c, d} {
			if err := instdir.Prepare(ctx, f, in); err == nil || err.Error() != want[in.Name] {
				t.Errorf("Prepare(%s) = %v\nwant %q", in.Name, err, want[in.Name])
			} else if !errors.Is(err, instdir.ErrSymlink) {
				t.Errorf("Prepare(%s): error does not match instdir.ErrSymlink", in.Name)
			}
		}
		read, readErr = f.ReadFile(ctx, instdir.SecretEnvPath(a))
		if _, err := f.ReadFile(ctx, a.Path("nope")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadFile(nope) = %v, want fs.ErrNotExist", err)
		}
		_, err := f.ReadFile(ctx, a.Path("secrets"))
		if want := host + a.Path("secrets") + " is a directory, not a regular file"; err == nil || err.Error() != want {
			t.Errorf("ReadFile(secrets) = %v\nwant %q", err, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	mode := func(p string) os.FileMode {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	if got := mode(a.Path("secrets")); got != 0o700 {
		t.Errorf("secrets/ mode %#o, want 0700", got)
	}
	pw := instdir.SecretPath(a, instdir.PostgresPassword)
	if got := mode(pw); got != 0o600 {
		t.Errorf("postgres-password mode %#o, want its 0600 kept", got)
	}
	if got := mode(instdir.SecretPath(a, instdir.AdminPassword)); got != instdir.SecretMode {
		t.Errorf("admin-password mode %#o, want %#o", got, instdir.SecretMode)
	}
	env, err := os.ReadFile(instdir.SecretEnvPath(a))
	if want := "PGPASSWORD=\"operator's \\$pw\"\n"; err != nil || string(env) != want {
		t.Errorf("app.env = %q, %v; want %q", env, err, want)
	}
	if got := mode(instdir.SecretEnvPath(a)); got != instdir.SecretMode {
		t.Errorf("app.env mode %#o, want %#o", got, instdir.SecretMode)
	}
	if readErr != nil || string(read) != string(env) {
		t.Errorf("ReadFile(app.env) = %q, %v; want %q", read, readErr, env)
	}

	if ents, _ := os.ReadDir(outDir); len(ents) != 0 || mode(outDir) != 0o755 {
		t.Errorf("outside directory changed: %v, mode %#o", ents, mode(outDir))
	}
	fi, _ := os.Stat(outFile)
	if data, _ := os.ReadFile(outFile); string(data) != "root:x:\n" || fi.Mode().Perm() != 0o600 || !fi.ModTime().Equal(old) {
		t.Errorf("outside file changed: %q, %v, %v", data, fi.Mode(), fi.ModTime())
	}
	if n := helpersOf(t, e, root); n != 0 {
		t.Errorf("%d helper containers left", n)
	}
}

// A root others may write is refused on a Docker host too.
func TestHostFilesRefuseARootOthersMayWrite(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	root := t.TempDir()
	if err := os.Chmod(root, 0o777); err != nil {
		t.Fatal(err)
	}
	h := &hostFiles{e: e, root: root}
	in := &spec.Instance{Name: "x", Dir: filepath.Join(root, "x")}
	err := instdir.Prepare(t.Context(), h, in)
	want := "docker host " + e.Host() + ": root " + root + " is writable by other users (mode 0777): they could replace what wbd writes there; run chmod go-w " + root
	if err == nil || err.Error() != want {
		t.Errorf("Prepare = %v\nwant %q", err, want)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 0 {
		t.Errorf("written under the refused root: %v", ents)
	}
}
