// Command misbehave is the entrypoint of the stand-in images
// wbd.local/app-otherport:1 and wbd.local/app-closeearly:1: apps whose own
// healthcheck passes while whoever sends requests to their PORT gets no
// answer, as a release that listens on a port of its own choosing, or
// speaks something else than HTTP there, would.
//
//	misbehave otherport COMMAND...   run COMMAND with PORT+1: nothing listens on PORT
//	misbehave closeearly COMMAND...  the same, and accept on PORT, closing every
//	                                 connection before answering
//	misbehave shifted COMMAND...     run COMMAND with PORT+1 (their healthcheck)
//
// It keeps the rest of the app's contract: the environment reaches the child
// unchanged but for PORT, and SIGTERM or SIGINT are passed on to it, so
// `docker stop` stops the app gracefully and exits with its code.
package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"

	"github.com/wbd-dev/wbd/images/internal/child"
)

func main() {
	if len(os.Args) < 3 {
		fail(2, "usage: misbehave otherport|closeearly|shifted COMMAND [ARG...]")
	}
	mode, args := os.Args[1], os.Args[2:]
	port := 8000
	if s := os.Getenv("PORT"); s != "" {
		p, err := strconv.Atoi(s)
		if err != nil || p < 1 || p > 65534 {
			fail(2, "PORT: want 1-65534, got %q", s)
		}
		port = p
	}
	switch mode {
	case "otherport", "shifted":
	case "closeearly":
		ln, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
		if err != nil {
			fail(1, "%v", err)
		}
		go closeEach(ln)
	default:
		fail(2, "unknown mode %q: want otherport, closeearly or shifted", mode)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port+1))
	code, err := child.Start(cmd)
	if err != nil {
		fail(127, "%v", err)
	}
	os.Exit(<-code)
}

// closeEach closes every connection as soon as it is accepted.
func closeEach(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "misbehave: "+format+"\n", args...)
	os.Exit(code)
}
