package instdir

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/wbd-dev/wbd/spec"
)

// The env file carries secret_env to the app: compose's own parser must
// read back exactly the password and the URL, whatever the password holds.
func TestSecretEnvReadsBackExactly(t *testing.T) {
	for _, pw := range []string{
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
		`pa$$word`, `$HOME`, `${HOME}`, `a#b`, `a #b`, `"quoted"`, `'single'`, `it's`,
		` spaced out `, `back\slash`, `ends\`, `\"`, `\$x`, `\n`, `é✓`, "tab\there",
	} {
		in := &spec.Instance{Name: "testing", Dir: "/r/testing", SecretEnv: map[string]string{
			"PGPASSWORD": spec.SecretPostgresPassword, "DATABASE_URL": spec.SecretPostgresURL,
		}}
		data, err := SecretEnv(in, []byte(pw+"\n"))
		if err != nil {
			t.Fatalf("password %q: %v", pw, err)
		}
		got, err := dotenv.ParseWithLookup(bytes.NewReader(data), func(string) (string, bool) { return "SET-FROM-OUTSIDE", true })
		if err != nil {
			t.Fatalf("password %q: compose cannot read\n%s: %v", pw, data, err)
		}
		if got["PGPASSWORD"] != pw {
			t.Errorf("PGPASSWORD=%q, want %q; file:\n%s", got["PGPASSWORD"], pw, data)
		}
		u := got["DATABASE_URL"]
		if want := "postgres://postgres:"; !strings.HasPrefix(u, want) || !strings.HasSuffix(u, "@testing-postgres:5432/postgres") {
			t.Errorf("DATABASE_URL=%q, want postgres://postgres:…@testing-postgres:5432/postgres", u)
		}
		if len(got) != 2 {
			t.Errorf("variables %v, want 2", got)
		}
	}
}

func TestSecretEnvContent(t *testing.T) {
	in := &spec.Instance{Name: "testing", Dir: "/r/testing", SecretEnv: map[string]string{
		"PGPASSWORD": spec.SecretPostgresPassword, "DATABASE_URL": spec.SecretPostgresURL,
	}}
	data, err := SecretEnv(in, []byte("p@ss/w:rd$\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := `DATABASE_URL="postgres://postgres:p%40ss%2Fw%3Ard\$@testing-postgres:5432/postgres"
PGPASSWORD="p@ss/w:rd\$"
`
	if string(data) != want {
		t.Errorf("env file:\n%s\nwant:\n%s", data, want)
	}
	for pw, msg := range map[string]string{
		"":           "instance testing: /r/testing/secrets/postgres-password is empty, not a password file",
		"two\nlines": "instance testing: the password in /r/testing/secrets/postgres-password holds a line break or a NUL byte, which an environment variable cannot carry: give the database a one-line password",
	} {
		if _, err := SecretEnv(in, []byte(pw)); err == nil || err.Error() != msg {
			t.Errorf("password %q: err=%v, want %q", pw, err, msg)
		}
	}
}

// Prepare writes the env file 0444 in the private secrets directory, and
// leaves it alone while its content is right.
func TestPrepareWritesTheSecretEnvFile(t *testing.T) {
	root := t.TempDir()
	in := &spec.Instance{Name: "testing", Dir: filepath.Join(root, "testing"),
		SecretEnv: map[string]string{"PGPASSWORD": spec.SecretPostgresPassword}}
	if err := Prepare(t.Context(), Local, in); err != nil {
		t.Fatal(err)
	}
	pw, err := os.ReadFile(SecretPath(in, PostgresPassword))
	if err != nil {
		t.Fatal(err)
	}
	path := SecretEnvPath(in)
	if path != filepath.Join(root, "testing/secrets/app.env") {
		t.Errorf("SecretEnvPath=%s", path)
	}
	got, err := os.ReadFile(path)
	if want := `PGPASSWORD="` + string(pw) + "\"\n"; err != nil || string(got) != want {
		t.Fatalf("app.env=%q, %v; want %q", got, err, want)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != SecretMode {
		t.Errorf("app.env mode %v, want %v", fi.Mode().Perm(), SecretMode)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	os.Chtimes(path, old, old)
	if err := Prepare(t.Context(), Local, in); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); !fi.ModTime().Equal(old) {
		t.Errorf("app.env rewritten though its content was right")
	}
	in.SecretEnv["DB"] = spec.SecretPostgresPassword
	if err := Prepare(t.Context(), Local, in); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(path)
	if want := `DB="` + string(pw) + "\"\nPGPASSWORD=\"" + string(pw) + "\"\n"; string(got) != want {
		t.Errorf("app.env=%q, want %q", got, want)
	}
	data, err := LocalAt(root).ReadFile(t.Context(), path)
	if err != nil || !bytes.Equal(data, got) {
		t.Errorf("ReadFile=%q, %v", data, err)
	}
}

// Whatever one-line password the operator wrote, compose reads back
// exactly that from the env file.
func FuzzSecretEnv(f *testing.F) {
	for _, pw := range []string{"abc", `a\"b`, `$$`, `\`, `'`, `#`, "\t", `\0123`, `${X:-y}`} {
		f.Add(pw)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		in := &spec.Instance{Name: "x", Dir: "/r/x", SecretEnv: map[string]string{"P": spec.SecretPostgresPassword}}
		data, err := SecretEnv(in, []byte(pw))
		if err != nil {
			return // empty, or a line break: refused
		}
		got, err := dotenv.ParseWithLookup(bytes.NewReader(data), func(string) (string, bool) { return "OUTSIDE", true })
		if err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		if want := strings.TrimSuffix(pw, "\n"); got["P"] != want {
			t.Fatalf("P=%q, want %q; file %q", got["P"], want, data)
		}
	})
}
