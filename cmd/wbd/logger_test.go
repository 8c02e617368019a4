package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The daemon's log reads the same in both formats: durations as "1m0s",
// and no time of its own under journald, which stamps every line.
func TestNewLogger(t *testing.T) {
	for _, tc := range []struct {
		format, journal string
		want            []string
		not             []string
	}{
		{"json", "", []string{`"resync":"1m0s"`, `"time":`}, []string{`60000000000`}},
		{"text", "", []string{`resync=1m0s`, `time=`}, nil},
		{"json", "8:123", []string{`"resync":"1m0s"`}, []string{`"time":`}},
		{"text", "8:123", []string{`resync=1m0s`}, []string{`time=`}},
	} {
		t.Run(tc.format+"/journal="+tc.journal, func(t *testing.T) {
			t.Setenv("JOURNAL_STREAM", tc.journal)
			var buf bytes.Buffer
			log, err := newLogger(&buf, tc.format, "info")
			if err != nil {
				t.Fatal(err)
			}
			log.Info("wbd run started", "resync", time.Minute)
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("log %q lacks %s", buf.String(), w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(buf.String(), n) {
					t.Errorf("log %q has %s", buf.String(), n)
				}
			}
		})
	}
	if _, err := newLogger(&bytes.Buffer{}, "xml", "info"); err == nil {
		t.Error("--log-format xml accepted")
	}
}
