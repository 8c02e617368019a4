package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A Postgres server shared by the package's tests, started on first use
// (initdb takes seconds) and stopped by TestMain. Each test gets its own
// database on it.
var (
	pgOnce   sync.Once
	pgServer *postgresServer
	pgErr    error
	pgSkip   string
	pgDBs    atomic.Int64
)

type postgresServer struct {
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// testDatabase returns the config of a fresh, empty database, skipping the
// test (failing it when CI is set) if Postgres cannot be run here.
func testDatabase(t testing.TB) postgresConfig {
	t.Helper()
	pgOnce.Do(func() { pgServer, pgSkip, pgErr = startPostgres() })
	if pgSkip != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("postgres unavailable (CI is set, so not skipping): %s", pgSkip)
		}
		t.Skip("postgres unavailable: " + pgSkip)
	}
	if pgErr != nil {
		t.Fatalf("start postgres: %v", pgErr)
	}
	pc := postgresConfig{Host: "127.0.0.1", Port: pgServer.port, User: "postgres", Database: "postgres"}
	conn, err := pgx.Connect(t.Context(), pc.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	pc.Database = fmt.Sprintf("refapp_test_%d", pgDBs.Add(1))
	if _, err := conn.Exec(t.Context(), "CREATE DATABASE "+pc.Database); err != nil {
		t.Fatal(err)
	}
	return pc
}

// postgresBinDir finds the directory of initdb and postgres.
func postgresBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { // newest major version first
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("initdb not on PATH nor in /usr/lib/postgresql/*/bin")
}

// startPostgres runs initdb and postgres in a temporary directory, on a
// free loopback port, as the postgres user when running as root (Postgres
// refuses to run as root).
func startPostgres() (srv *postgresServer, skip string, err error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err.Error(), nil
	}
	var cred *syscall.Credential
	dir, err := os.MkdirTemp("", "refapp-pg-")
	if err != nil {
		return nil, "", err
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, "running as root and there is no postgres user to run Postgres as", nil
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, "", err
		}
	}
	cmd := func(name string, args ...string) *exec.Cmd {
		c := exec.Command(filepath.Join(bin, name), args...)
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		c.Dir = dir
		return c
	}
	data := filepath.Join(dir, "data")
	if out, err := cmd("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	srv = &postgresServer{port: port, dir: dir, done: make(chan struct{})}
	srv.cmd = cmd("postgres", "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	logFile, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return nil, "", err
	}
	srv.cmd.Stdout, srv.cmd.Stderr = logFile, logFile
	if err := srv.cmd.Start(); err != nil {
		return nil, "", err
	}
	go func() { srv.cmd.Wait(); logFile.Close(); close(srv.done) }()

	url := postgresConfig{Host: "127.0.0.1", Port: port, User: "postgres", Database: "postgres"}.URL()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, url)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return srv, "", nil
		}
		select {
		case <-srv.done:
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			return nil, "", fmt.Errorf("postgres exited during start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			srv.stop()
			return nil, "", fmt.Errorf("postgres did not answer within 60s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop asks for a fast shutdown, kills after a deadline, and removes the
// directory.
func (s *postgresServer) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	os.RemoveAll(s.dir)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pgServer != nil {
		pgServer.stop()
	}
	os.Exit(code)
}
