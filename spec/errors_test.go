package spec

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// manyUnknownKeys is a file with n unknown top-level fields, each an error.
func manyUnknownKeys(n int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nroot: /srv/wbd\ninstances: {}\n")
	for i := range n {
		fmt.Fprintf(&b, "k%d: 1\n", i)
	}
	return []byte(b.String())
}

// TestManyErrors holds that every error of a large file is reported, each
// once: the daemon re-parses on every save, so reporting must stay linear.
func TestManyErrors(t *testing.T) {
	const n = 100_000
	_, err := Parse("x.yaml", manyUnknownKeys(n))
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Parse error=%v, want an ErrorList", err)
	}
	if len(list) != n {
		t.Fatalf("got %d errors, want %d", len(list), n)
	}
	if got, want := list[n-1].Error(), fmt.Sprintf("x.yaml:%d:1: k%d: unknown field \"k%d\" (known: version, root, templates, networks, defaults, instances)", n+3, n-1, n-1); got != want {
		t.Fatalf("last error:\n got %s\nwant %s", got, want)
	}
}

func BenchmarkManyErrors(b *testing.B) {
	data := manyUnknownKeys(100_000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("x.yaml", data); err == nil {
			b.Fatal("want errors")
		}
	}
}
