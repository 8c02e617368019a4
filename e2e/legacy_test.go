package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// An instance the imperative wb CLI started (docker run, no compose labels)
// stands in wbd's way until the operator adopts it; adoption keeps its data.
func TestAdoptHandsOverLegacyContainers(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	in := o.declare(nil)
	startLegacy(t, o, in, o.dirOf(in, "secrets", "postgres-password"))
	psql(t, in, "CREATE TABLE e2e_handover (v text); INSERT INTO e2e_handover VALUES ('row-"+in.Name+"')")
	if got := redisCLI(t, in, "SET", "cache:e2e:legacy", "key-"+in.Name); got != "OK" {
		t.Fatalf("redis SET = %q", got)
	}
	legacyNames := []string{in.Name, in.Name + "-redis", in.Name + "-postgres"}
	before := takeSnapshot(t, legacyNames...)

	_, legacy := o.plan(in)
	slices.Sort(legacy)
	if want := slices.Sorted(slices.Values(legacyNames)); !slices.Equal(legacy, want) {
		t.Errorf("wbd plan lists %v in the way, want %v", legacy, want)
	}

	r := o.wbd("apply", in.Name)
	if r.code != 1 || !strings.Contains(r.stderr, "--adopt") {
		t.Errorf("wbd apply over legacy containers: want exit 1 and a message naming --adopt, got\n%s", r)
	}
	requireUnchanged(t, "a refused apply", before, takeSnapshot(t, legacyNames...))

	o.mustWbd("apply", "--adopt", in.Name)

	for _, name := range legacyNames {
		c := inspect(t, name)
		if got := c.Config.Labels["com.docker.compose.project"]; got != in.Name {
			t.Errorf("%s: compose project label %q, want %q", name, got, in.Name)
		}
		if got := c.Config.Labels["io.wbd.managed"]; got != "true" {
			t.Errorf("%s: io.wbd.managed=%q, want true", name, got)
		}
	}
	if got, want := psql(t, in, "SELECT v FROM e2e_handover"), "row-"+in.Name; got != want {
		t.Errorf("after adoption the row is %q, want %q", got, want)
	}
	if got, want := redisCLI(t, in, "GET", "cache:e2e:legacy"), "key-"+in.Name; got != want {
		t.Errorf("after adoption the redis key is %q, want %q", got, want)
	}
	waitForHealth(t, in, "ok")
	if _, legacy := o.plan(in); len(legacy) != 0 {
		t.Errorf("plan after adoption still lists legacy containers %v", legacy)
	}
}

// Adoption must not take down a running legacy instance that wbd cannot
// bring back: here wbd does not know the database's password (the old CLI
// kept it elsewhere), so it refuses before touching anything.
func TestAdoptRefusesADatabaseWithoutItsPassword(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	in := o.declare(nil)
	startLegacy(t, o, in, filepath.Join(o.dir, in.Name+"-password"))
	legacyNames := []string{in.Name, in.Name + "-redis", in.Name + "-postgres"}
	before := takeSnapshot(t, legacyNames...)

	r := o.wbd("apply", "--adopt", in.Name)
	secret := o.dirOf(in, "secrets", "postgres-password")
	if r.code != 1 || !strings.Contains(r.stderr, secret) {
		t.Errorf("apply --adopt without the database's password: want exit 1 and a message naming %s, got\n%s", secret, r)
	}
	requireUnchanged(t, "a refused adoption", before, takeSnapshot(t, legacyNames...))
	waitForHealth(t, in, "ok")
}

// Adoption must not take down a running legacy instance that wbd cannot
// bring back: here the new app image cannot be pulled. Apply pulls before
// it adopts, so the failed pull leaves the legacy containers running.
func TestAdoptKeepsTheLegacyInstanceWhenAnImageIsMissing(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	in := o.declare(nil)
	startLegacy(t, o, in, o.dirOf(in, "secrets", "postgres-password"))
	legacyNames := []string{in.Name, in.Name + "-redis", in.Name + "-postgres"}
	before := takeSnapshot(t, legacyNames...)
	in.Images.App = "wbd.local/nope:1" // not here, and no registry to pull it from
	o.writeFile()

	r := o.wbd("apply", "--adopt", in.Name)
	if r.code != 1 || !strings.Contains(r.stderr, "wbd.local/nope:1") {
		t.Errorf("apply --adopt with a missing image: want exit 1 naming the image, got\n%s", r)
	}
	requireUnchanged(t, "an adoption that cannot pull its image", before, takeSnapshot(t, legacyNames...))
	if h, err := appHealth(in.Port); err != nil || h["postgres"] != "ok" {
		t.Errorf("the legacy app no longer serves after the failed adoption: %v %v", h, err)
	}
}

// startLegacy runs the instance as the plan's imperative CLI did: a network
// named NAME and docker run per container, data bind-mounted from
// {root}/NAME, the postgres password in the file passwordAt.
func startLegacy(t *testing.T, o *operator, in *instance, passwordAt string) {
	t.Helper()
	for _, d := range []string{"databases", "redis", "sandbox", "exports", "assets"} {
		if err := os.MkdirAll(o.dirOf(in, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(passwordAt), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(passwordAt, []byte("legacy-"+in.Name+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const secretIn = "/run/secrets/postgres_password"
	docker(t, "network", "create", in.Name)
	docker(t, "run", "-d", "--name", in.Name+"-postgres", "--network", in.Name,
		"-v", o.dirOf(in, "databases")+":/var/lib/postgresql/data",
		"-v", passwordAt+":"+secretIn+":ro",
		"-e", "POSTGRES_PASSWORD_FILE="+secretIn,
		imagePostgres)
	docker(t, "run", "--rm", "-dt", "--name", in.Name+"-redis", "--network", in.Name,
		"-v", o.dirOf(in, "redis")+":/data",
		imageRedis, "redis-server", "--appendonly", "yes")
	eventually(t, time.Minute, "legacy postgres accepts connections", func() error {
		out, err := dockerTry("exec", in.Name+"-postgres", "pg_isready", "-U", "postgres")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	docker(t, "run", "-d", "--name", in.Name, "--network", in.Name,
		"-p", strconv.Itoa(in.Port)+":8000",
		"-e", "REDIS_URL=redis://"+in.Name+"-redis:6379",
		"-e", "PGHOST="+in.Name+"-postgres",
		"-e", "POSTGRES_PASSWORD_FILE="+secretIn,
		"-e", "REFAPP_COMPUTE_DELAY=300ms",
		"-v", passwordAt+":"+secretIn+":ro",
		imageApp)
	waitForHealth(t, in, "ok")
}
