package main

import (
	"testing"

	"github.com/wbd-dev/wbd/lifecycle"
)

// The flags mean what docker compose's mean, NO_COLOR included.
func TestOutputFlags(t *testing.T) {
	on, off := new(true), new(false)
	for _, tc := range []struct {
		ansi, progress string
		noColor        bool
		want           output // progress, color, logColor
		wantErr        string
	}{
		{ansi: "auto", progress: "auto", want: output{"auto", true, nil}},
		{ansi: "auto", progress: "auto", noColor: true, want: output{"auto", false, off}},
		{ansi: "never", progress: "auto", want: output{"plain", true, off}},
		{ansi: "always", progress: "auto", want: output{"auto", true, on}},
		{ansi: "always", progress: "auto", noColor: true, want: output{"auto", false, off}},
		{ansi: "always", progress: "tty", want: output{"tty", true, on}},
		{ansi: "auto", progress: "tty", noColor: true, want: output{"tty", false, off}},
		{ansi: "never", progress: "plain", want: output{"plain", true, off}},
		{ansi: "never", progress: "json", want: output{"json", true, off}},
		{ansi: "always", progress: "quiet", want: output{"quiet", true, on}},
		{ansi: "never", progress: "tty", wantErr: "--progress tty redraws with ANSI control characters, which --ansi never turns off"},
		{ansi: "always", progress: "plain", wantErr: "--progress plain prints no ANSI control characters, which --ansi always forces"},
		{ansi: "sometimes", progress: "auto", wantErr: `--ansi "sometimes": want auto, never or always`},
		{ansi: "auto", progress: "fancy", wantErr: `--progress "fancy": want auto, tty, plain, json or quiet`},
	} {
		o := outputFlags{ansi: tc.ansi, progress: tc.progress}
		err := o.resolve(tc.noColor)
		if tc.wantErr != "" {
			if _, usage := err.(usageError); err == nil || err.Error() != tc.wantErr || !usage {
				t.Errorf("--ansi %s --progress %s: error %v, want usage error %q", tc.ansi, tc.progress, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("--ansi %s --progress %s: %v", tc.ansi, tc.progress, err)
			continue
		}
		got := o.out
		if got.progress != tc.want.progress || got.color != tc.want.color || !sameBool(got.logColor, tc.want.logColor) {
			t.Errorf("--ansi %s --progress %s NO_COLOR=%v: %s, want %s", tc.ansi, tc.progress, tc.noColor, got, tc.want)
		}
	}
	if got := len(lifecycle.ProgressModes); got != 5 {
		t.Errorf("%d progress modes, want compose's five", got)
	}
}

func sameBool(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func (o output) String() string {
	log := "terminal"
	if o.logColor != nil {
		log = map[bool]string{true: "on", false: "off"}[*o.logColor]
	}
	return "progress " + o.progress + ", display color " + map[bool]string{true: "on", false: "off"}[o.color] + ", log color " + log
}
