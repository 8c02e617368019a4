package main

import (
	"context"
	"fmt"
	"io"

	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/spec"
)

// pullStatus is one image of an instance's pull list, as status shows it.
type pullStatus struct {
	Image   string `json:"image"`
	Present bool   `json:"present"`
}

// pullStatusOf tells which images of in's pull list eng has.
func pullStatusOf(ctx context.Context, eng *lifecycle.Engine, in *spec.Instance) ([]pullStatus, error) {
	if len(in.Pull) == 0 {
		return nil, nil
	}
	present, err := eng.ImagesPresent(ctx, in.Pull)
	if err != nil {
		return nil, err
	}
	out := make([]pullStatus, len(in.Pull))
	for i, img := range in.Pull {
		out[i] = pullStatus{Image: img, Present: present[img]}
	}
	return out, nil
}

// printPullStatus lists the pull lists' images and whether each is on its
// instance's engine, when any instance has one.
func printPullStatus(w io.Writer, sts []instanceStatus) {
	var any bool
	for _, st := range sts {
		any = any || len(st.Pull) > 0
	}
	if !any {
		return
	}
	fmt.Fprintln(w)
	tw := newTable(w)
	fmt.Fprintln(tw, "INSTANCE\tPULLED, NEVER RUN\tPRESENT")
	for _, st := range sts {
		for _, p := range st.Pull {
			present := "yes"
			if !p.Present {
				present = "no: wbd pull or apply fetches it"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", st.Instance, p.Image, present)
		}
	}
	tw.Flush()
}
