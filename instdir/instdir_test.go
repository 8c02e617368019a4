package instdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wbd-dev/wbd/spec"
)

func TestPrepare(t *testing.T) {
	root := t.TempDir()
	in := &spec.Instance{Name: "testing", Dir: filepath.Join(root, "testing"), Admin: &spec.Admin{Port: 5051}}
	// An existing instance: some data already there, other subdirectories
	// missing. postgres keeps its data directory 0700: Prepare must leave it
	// so. (A database with PG_VERSION and no secret is refused: see below.)
	if err := os.MkdirAll(in.Path("databases"), 0o700); err != nil {
		t.Fatal(err)
	}
	data := in.Path("databases/postgresql.conf")
	if err := os.WriteFile(data, []byte("17\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Prepare(t.Context(), Local, in); err != nil {
		t.Fatal(err)
	}
	for _, sub := range Subdirectories {
		if fi, err := os.Stat(in.Path(sub)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", sub, err)
		}
	}
	if fi, err := os.Stat(in.Path("databases")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("existing databases/ changed: %v, %v; want mode 0700 kept", fi.Mode(), err)
	}
	if b, err := os.ReadFile(data); err != nil || string(b) != "17\n" {
		t.Errorf("existing data changed: %q, %v", b, err)
	}
	pw := SecretPath(in, PostgresPassword)
	first, err := os.ReadFile(pw)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) < 20 {
		t.Errorf("secret %q is too short", first)
	}
	for _, name := range []string{PostgresPassword, AdminPassword} {
		fi, err := os.Stat(SecretPath(in, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != SecretMode {
			t.Errorf("%s mode=%v, want %v", name, got, SecretMode)
		}
	}
	if fi, err := os.Stat(in.Path("secrets")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("secrets directory: %v, %v; want mode 0700", fi.Mode(), err)
	}
	// A secret made 0600 by an operator is kept as it is: wbd never widens
	// a file's mode (with a warning: see TestPrepareKeepsAnUnreadableSecret).
	if err := os.Chmod(pw, 0o600); err != nil {
		t.Fatal(err)
	}
	// A second Prepare keeps the secret: postgres keeps the first password.
	if err := Prepare(t.Context(), Local, in); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(pw); string(again) != string(first) {
		t.Errorf("secret regenerated: %q, then %q", first, again)
	}
	if fi, err := os.Stat(pw); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("0600 secret after Prepare: %v, %v; want it kept 0600", fi.Mode(), err)
	}
}

func TestEnsureSecretRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	var wg sync.WaitGroup
	created := make(chan bool, 20)
	for range 20 {
		wg.Go(func() {
			c, err := EnsureSecret(path)
			if err != nil {
				t.Error(err)
			}
			created <- c
		})
	}
	wg.Wait()
	close(created)
	n := 0
	for c := range created {
		if c {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d callers created the secret, want 1", n)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".s.tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "compose.yaml")
	for _, content := range []string{"one\n", "two\n"} {
		if err := WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Errorf("content=%q, want %q", b, content)
		}
	}
}

func TestLock(t *testing.T) {
	in := &spec.Instance{Name: "testing", Dir: filepath.Join(t.TempDir(), "testing")}
	unlock, err := Lock(in, "wbd run")
	if err != nil {
		t.Fatal(err)
	}
	// flock is per open file, so a second Lock in this process conflicts
	// just as another process would.
	_, err = Lock(in, "wbd apply")
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Lock: err=%v, want a LockedError", err)
	}
	if !strings.Contains(le.Holder, "wbd run (pid ") {
		t.Errorf("holder=%q, want it to name wbd run and its pid", le.Holder)
	}
	unlock()
	unlock2, err := Lock(in, "wbd apply")
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	unlock2()
}

// A database that exists without its password file (the old CLI kept it
// elsewhere) must not get a new one: postgres keeps the first, and the app
// could not log in. Prepare refuses, whoever calls it, and creates nothing.
func TestPrepareRefusesADatabaseWithoutItsPassword(t *testing.T) {
	in := &spec.Instance{Name: "testing", Dir: filepath.Join(t.TempDir(), "testing")}
	if err := os.MkdirAll(in.Path("databases"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in.Path("databases/PG_VERSION"), []byte("17\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Prepare(t.Context(), Local, in)
	if err == nil || !strings.Contains(err.Error(), SecretPath(in, PostgresPassword)) {
		t.Fatalf("Prepare = %v, want an error naming the missing secret file", err)
	}
	if _, err := os.Stat(in.Path("secrets")); !os.IsNotExist(err) {
		t.Errorf("Prepare made secrets/ (%v) for a database it refused", err)
	}
}
