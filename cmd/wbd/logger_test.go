package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The daemon's log reads the same in both formats: durations as "1m0s",
// and no time of its own when stderr is the journal's stream, which
// stamps every line; a JOURNAL_STREAM inherited by a process whose stderr
// is a file keeps the time.
func TestNewLogger(t *testing.T) {
	for _, tc := range []struct {
		format, journal string // journal: "", "inherited" or "ours"
		want            []string
		not             []string
	}{
		{"json", "", []string{`"resync":"1m0s"`, `"time":`}, []string{`60000000000`}},
		{"text", "", []string{`resync=1m0s`, `time=`}, nil},
		{"json", "ours", []string{`"resync":"1m0s"`}, []string{`"time":`}},
		{"text", "ours", []string{`resync=1m0s`}, []string{`time=`}},
		{"json", "inherited", []string{`"resync":"1m0s"`, `"time":`}, nil},
		{"text", "inherited", []string{`resync=1m0s`, `time=`}, nil},
	} {
		t.Run(tc.format+"/journal="+tc.journal, func(t *testing.T) {
			f, err := os.CreateTemp(t.TempDir(), "stderr")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			switch tc.journal {
			case "":
				t.Setenv("JOURNAL_STREAM", "")
			case "inherited":
				t.Setenv("JOURNAL_STREAM", "8:123")
			case "ours":
				var st syscall.Stat_t
				syscall.Fstat(int(f.Fd()), &st)
				t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
			}
			log, err := newLogger(f, tc.format, "info")
			if err != nil {
				t.Fatal(err)
			}
			log.Info("wbd run started", "resync", time.Minute)
			data, _ := os.ReadFile(f.Name())
			got := string(data)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("log %q lacks %s", got, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("log %q has %s", got, n)
				}
			}
		})
	}
	if _, err := newLogger(&bytes.Buffer{}, "xml", "info"); err == nil {
		t.Error("--log-format xml accepted")
	}
}

// No line of the daemon's log carries an endpoint's user or password,
// whichever package logs it and whether as a value or inside an error.
func TestLoggerRedactsUserinfo(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log, err := newLogger(&buf, format, "info")
		if err != nil {
			t.Fatal(err)
		}
		log.Warn("docker engine does not answer", "host", "tcp://ops:hunter2@box:2375",
			"error", errors.New(`docker host ssh://ops:hunter2@box does not answer: Get "http://ops:hunter2@box/_ping": EOF`))
		if got := buf.String(); strings.Contains(got, "hunter2") || strings.Contains(got, "ops") || !strings.Contains(got, "tcp://box:2375") {
			t.Errorf("%s log: %s", format, got)
		}
	}
}

// --log-format auto logs to the journal when stderr is the stream that
// JOURNAL_STREAM names, and text lines to anything else.
func TestAutoLogFormatFollowsTheJournalStream(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	syscall.Fstat(int(f.Fd()), &st)
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	log, err := newLogger(f, "auto", "info")
	if err != nil {
		t.Fatal(err)
	}
	if _, text := log.Handler().(*slog.TextHandler); text {
		t.Error("stderr is the journal's stream, yet auto logs text")
	}
	var buf bytes.Buffer
	log, _ = newLogger(&buf, "auto", "info")
	log.Info("hello", "instance", "testing")
	if !strings.Contains(buf.String(), "msg=hello instance=testing") {
		t.Errorf("auto to a pipe: %q, want text lines", buf.String())
	}
}
