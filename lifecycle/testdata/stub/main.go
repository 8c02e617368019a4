// Command stub stands in for postgres, redis, admin and the app in the tests
// of package lifecycle. Built static, it is the whole content of a test image.
//
//	stub health        exit 0 (the healthcheck)
//	stub fail          exit 3 at once
//	stub ARGS...       print ARGS, then run until SIGTERM
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 {
		switch args[0] {
		case "health":
			return
		case "fail":
			fmt.Println("stub failing on purpose")
			os.Exit(3)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	fmt.Printf("stub started: %s\n", strings.Join(args, " "))
	<-sig
	fmt.Println("stub stopping")
}
