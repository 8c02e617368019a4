package instdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/wbd-dev/wbd/spec"
)

func testInstance(t *testing.T) (root string, in *spec.Instance) {
	root = t.TempDir()
	return root, &spec.Instance{Name: "x", Dir: filepath.Join(root, "x"), Admin: &spec.Admin{Port: 5051}}
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// The secrets directory an operator made with mkdir -p (0755) is narrowed
// to 0700 before any secret is kept or created in it; a password the
// operator wrote 0600 is kept as it is, never widened, with a warning.
func TestPrepareNarrowsTheSecretsDirectory(t *testing.T) {
	_, in := testInstance(t)
	pw := SecretPath(in, PostgresPassword)
	if err := os.MkdirAll(in.Path("secrets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pw, []byte("operator's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Prepare(t.Context(), Local, in); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, in.Path("secrets")); got != 0o700 {
		t.Errorf("secrets/ mode %#o, want 0700", got)
	}
	if got := mode(t, pw); got != 0o600 {
		t.Errorf("postgres-password mode %#o, want 0600 kept", got)
	}
	if b, _ := os.ReadFile(pw); string(b) != "operator's\n" {
		t.Errorf("postgres-password = %q, want kept", b)
	}
	if got := mode(t, SecretPath(in, AdminPassword)); got != SecretMode {
		t.Errorf("admin-password mode %#o, want %#o", got, SecretMode)
	}
	_, err := EnsureSecret(pw)
	var unreadable *UnreadableSecretError
	want := pw + " is mode 0600: containers that do not run as root (pgAdmin runs as uid 5050) cannot read it; " +
		"run chmod 0444 " + pw + " (the secrets directory, 0700, keeps it from other users)"
	if !errors.As(err, &unreadable) || err.Error() != want {
		t.Errorf("EnsureSecret = %v, want %q", err, want)
	}
}

func TestPrepareRefusesASecretsDirectoryOfAnotherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a directory away")
	}
	_, in := testInstance(t)
	if err := os.MkdirAll(in.Path("secrets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(in.Path("secrets"), 1234, 1234); err != nil {
		t.Fatal(err)
	}
	err := Prepare(t.Context(), Local, in)
	want := "instance x: " + in.Path("secrets") + " is owned by uid 1234, not by uid 0 that runs wbd, so wbd cannot keep its secrets private: " +
		"run chown 0 " + in.Path("secrets") + ", or run wbd as its owner"
	if err == nil || err.Error() != want {
		t.Errorf("Prepare = %v\nwant %q", err, want)
	}
	if got := mode(t, in.Path("secrets")); got != 0o755 {
		t.Errorf("secrets/ of another user changed to %#o", got)
	}
	if _, err := os.Lstat(SecretPath(in, PostgresPassword)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a secret was created in it: %v", err)
	}
}

// Links below the root are never followed: not to write a password, not to
// chmod a file, not to make a directory the containers would mount.
func TestPrepareRefusesLinks(t *testing.T) {
	for _, c := range []struct {
		name string
		link string // below the instance directory
		dir  bool   // the outside target is a directory
		want string // after "instance x: ROOT/x/"
	}{
		{"secrets directory", "secrets", true, "secrets is a symbolic link, not a directory: wbd follows no links under its root"},
		{"password file", "secrets/postgres-password", false, "secrets/postgres-password is a symbolic link, not a password file: wbd follows no links under its root"},
		{"admin password file", "secrets/admin-password", false, "secrets/admin-password is a symbolic link, not a password file: wbd follows no links under its root"},
		{"env file", "secrets/app.env", false, "secrets/app.env is a symbolic link, not a regular file: wbd follows no links under its root"},
		{"redis directory", "redis", true, "redis is a symbolic link, not a directory: wbd follows no links under its root"},
		{"databases directory", "databases", true, "databases is a symbolic link, not a directory: wbd follows no links under its root"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root, in := testInstance(t)
			in.SecretEnv = map[string]string{"PGPASSWORD": spec.SecretPostgresPassword}
			var out *outside
			target := t.TempDir()
			if c.dir {
				if err := os.Chmod(target, 0o755); err != nil {
					t.Fatal(err)
				}
			} else {
				out = newOutside(t, 0o600)
				target = out.path
			}
			if c.link != "secrets" {
				if err := os.MkdirAll(in.Path("secrets"), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			if c.link != "secrets" && c.link != "secrets/postgres-password" {
				os.WriteFile(SecretPath(in, PostgresPassword), []byte("pw\n"), 0o444)
			}
			symlink(t, target, in.Path(c.link))
			err := Prepare(t.Context(), Local, in)
			if want := "instance x: " + filepath.Join(root, "x", c.want); err == nil || err.Error() != want {
				t.Errorf("Prepare = %v\nwant %q", err, want)
			}
			if !errors.Is(err, ErrSymlink) {
				t.Errorf("error does not match ErrSymlink")
			}
			if c.dir {
				if ents, _ := os.ReadDir(target); len(ents) != 0 || mode(t, target) != 0o755 {
					t.Errorf("outside directory changed: %v, mode %#o", ents, mode(t, target))
				}
			} else {
				out.check(t)
			}
		})
	}
}

// The instance directory itself a link: Prepare creates nothing there.
func TestPrepareRefusesALinkedInstanceDirectory(t *testing.T) {
	_, in := testInstance(t)
	target := t.TempDir()
	symlink(t, target, in.Dir)
	err := Prepare(t.Context(), Local, in)
	if want := "instance x: " + in.Dir + " is a symbolic link, not a directory: wbd follows no links under its root"; err == nil || err.Error() != want {
		t.Errorf("Prepare = %v\nwant %q", err, want)
	}
	if ents, _ := os.ReadDir(target); len(ents) != 0 {
		t.Errorf("written through the link: %v", ents)
	}
}

// A password path that is not a password file is an error, not kept.
func TestPrepareRefusesWhatIsNotAPasswordFile(t *testing.T) {
	for _, c := range []struct {
		name string
		make func(p string) error
		want string
	}{
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }, "is a directory, not a password file"},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }, "is a FIFO, not a password file"},
		{"empty", func(p string) error { return os.WriteFile(p, nil, 0o444) }, "is empty, not a password file: write the password there, or remove it to have wbd generate one"},
		{"dangling link", func(p string) error { return os.Symlink("nowhere", p) }, "is a symbolic link, not a password file: wbd follows no links under its root"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, in := testInstance(t)
			pw := SecretPath(in, PostgresPassword)
			if err := os.MkdirAll(in.Path("secrets"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := c.make(pw); err != nil {
				t.Fatal(err)
			}
			err := Prepare(t.Context(), Local, in)
			if want := "instance x: " + pw + " " + c.want; err == nil || err.Error() != want {
				t.Errorf("Prepare = %v\nwant %q", err, want)
			}
		})
	}
}

// A root others may write is refused, unless it is sticky and ours.
func TestRootOthersMayWrite(t *testing.T) {
	for _, c := range []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o700, true}, {0o755, true}, {0o775, false}, {0o777, false}, {0o777 | os.ModeSticky, true},
	} {
		root := t.TempDir()
		if err := os.Chmod(root, c.mode); err != nil {
			t.Fatal(err)
		}
		in := &spec.Instance{Name: "x", Dir: filepath.Join(root, "x")}
		err := Prepare(t.Context(), Local, in)
		if c.ok {
			if err != nil {
				t.Errorf("root %v: %v", c.mode, err)
			}
			continue
		}
		want := "instance x: root " + root + " is writable by other users (mode " + fmt.Sprintf("%#o", c.mode.Perm()) +
			"): they could replace what wbd writes there; run chmod go-w " + root
		if err == nil || err.Error() != want {
			t.Errorf("root %v: Prepare = %v\nwant %q", c.mode, err, want)
		}
		if _, err := Lock(in, "wbd"); err == nil {
			t.Errorf("root %v: Lock took it", c.mode)
		}
	}
}
