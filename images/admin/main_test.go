package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	refused := func(string, string, time.Duration) (net.Conn, error) {
		return nil, errors.New("connection refused")
	}
	opens := func(string, string, time.Duration) (net.Conn, error) {
		c1, c2 := net.Pipe()
		c2.Close()
		return c1, nil
	}
	tests := []struct {
		name, target, path string
		dial               dialFunc
		wantCode           int
		want               string
	}{
		{"no target", "", "/", refused, http.StatusOK, "PGADMIN_TARGET_HOST is not set"},
		{"reachable", "db", "/", opens, http.StatusOK, "postgres at db:5432: reachable"},
		{"unreachable", "db", "/", refused, http.StatusOK, "db:5432: unreachable (connection refused)"},
		{"ping", "", "/misc/ping", refused, http.StatusOK, "PING"},
		{"other path", "", "/browser/", refused, http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			newHandler(tt.target, tt.dial).ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			body, _ := io.ReadAll(rec.Result().Body)
			if got, want := rec.Code, tt.wantCode; got != want {
				t.Fatalf("GET %s: code=%d, want %d", tt.path, got, want)
			}
			if !strings.Contains(string(body), tt.want) {
				t.Fatalf("GET %s: body=%q, want it to contain %q", tt.path, body, tt.want)
			}
		})
	}
}

func TestCheckPassword(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, file, wantErr string
	}{
		{"unset", "", ""},
		{"readable", write("pw", "s3cret\n", 0o444), ""},
		{"empty", write("empty", "\n", 0o444), "is empty"},
		{"missing", filepath.Join(dir, "missing"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPassword(tt.file)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("checkPassword(%q) = %v, want error containing %q", tt.file, err, tt.wantErr)
			}
		})
	}
}
