package events

import (
	"testing"
)

// BenchmarkRecord is the cost of one event: open below the root without
// links, lock, append, close.
func BenchmarkRecord(b *testing.B) {
	root := b.TempDir()
	l := Open(root, DaemonActor(), Options{})
	e := Event{Instance: "testing", Action: Apply, From: 3, To: 4, Result: OK, Duration: 4.2, Detail: "postgres, redis unchanged; app recreated"}
	for b.Loop() {
		if err := l.Record(e); err != nil {
			b.Fatal(err)
		}
	}
}
