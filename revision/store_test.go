package revision

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStoreNumbersKeepsAndSkips(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	if h, errs := s.Load(); len(h) != 0 || len(errs) != 0 {
		t.Fatalf("new store: %v %v", h, errs)
	}
	first, err := s.Add(Revision{Verdict: Healthy, SpecHash: "a", Project: "a", Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range Keep + 5 {
		if _, err := s.Add(Revision{Verdict: RolledBack, SpecHash: "b", Project: "b" + strings.Repeat("x", i)}); err != nil {
			t.Fatal(err)
		}
	}
	h, errs := s.Load()
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if got, want := len(h), Keep+1; got != want {
		t.Fatalf("kept %d revisions, want %d (the last %d and the healthy one they would roll back to)", got, want, Keep)
	}
	if got, want := h.Newest().Number, Keep+6; got != want {
		t.Fatalf("newest=%d, want %d", got, want)
	}
	if cur := h.Current(); cur == nil || cur.Number != first.Number {
		t.Fatalf("current=%v, want the first, healthy revision kept", cur)
	}

	// A corrupt file and one of a newer wbd are skipped with a warning,
	// and their numbers are not reused.
	if err := os.WriteFile(s.Path(100), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Path(101), []byte(`{"format": 99, "revision": 101}`), 0o644); err != nil {
		t.Fatal(err)
	}
	h, errs = s.Load()
	if len(errs) != 2 || !strings.Contains(errs[0].Error()+errs[1].Error(), "newer wbd") {
		t.Fatalf("errors=%v, want the corrupt and the newer file named", errs)
	}
	if h.Newest().Number != Keep+6 {
		t.Fatalf("newest=%d after skipping", h.Newest().Number)
	}
	r, err := s.Add(Revision{Verdict: Pending})
	if err != nil {
		t.Fatal(err)
	}
	if r.Number != 102 {
		t.Fatalf("number=%d, want 102: numbers of skipped files are not reused", r.Number)
	}
	r.Verdict = Healthy
	if err := s.Write(r); err != nil {
		t.Fatal(err)
	}
	h, _ = s.Load()
	if h.Get(102).Verdict != Healthy {
		t.Fatalf("verdict not written: %+v", h.Get(102))
	}
	if _, err := os.Stat(filepath.Join(dir, Dir)); err != nil {
		t.Fatal(err)
	}
}
