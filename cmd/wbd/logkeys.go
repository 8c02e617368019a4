package main

// Log keys of the daemon's own lines; under systemd each is a journal
// field (INSTANCE=, ERROR=...), so one spelling per idea.
const (
	keyFile     = "file"
	keyPID      = "pid"
	keyParallel = "parallel"
	keyResync   = "resync"
	keyDeadline = "deadline"
	keySignal   = "signal"
	keySince    = "since"
	keyAddr     = "addr"
	keyError    = "error"
)
