package revision

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/wbd-dev/wbd/instdir"
)

// Dir is where an instance keeps its revisions, under its directory.
const Dir = ".wbd/revisions"

// Store reads and writes one instance's revisions. Callers hold the
// instance's lock while they write.
type Store struct {
	root string // the instance directory's parent: no link below it is followed
	dir  string
}

// Open returns the store of the instance whose directory is instanceDir.
func Open(instanceDir string) *Store {
	return &Store{root: filepath.Dir(filepath.Clean(instanceDir)), dir: filepath.Join(instanceDir, Dir)}
}

// Path is the file of revision n.
func (s *Store) Path(n int) string {
	return filepath.Join(s.dir, fmt.Sprintf("%06d.json", n))
}

// Load reads the history, newest first. A file that cannot be read, is not
// JSON or was written by a newer wbd is skipped, with a warning in the
// returned error list; it never stops the rest from loading.
func (s *Store) Load() (History, []error) {
	ents, err := instdir.ReadDirIn(s.root, s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, []error{fmt.Errorf("revisions: %w", err)}
	}
	var (
		h    History
		errs []error
	)
	for _, e := range ents {
		n, ok := number(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		r, err := s.read(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		h = append(h, r)
	}
	slices.SortFunc(h, func(a, b Revision) int { return b.Number - a.Number })
	return h, errs
}

func (s *Store) read(n int) (Revision, error) {
	path := s.Path(n)
	data, err := instdir.ReadFileIn(s.root, path)
	if err != nil {
		return Revision{}, fmt.Errorf("revision %d: %w", n, err)
	}
	var r Revision
	if err := json.Unmarshal(data, &r); err != nil {
		return Revision{}, fmt.Errorf("revision %d: %s is corrupt, skipped: %w", n, path, err)
	}
	if r.Format > Format {
		return Revision{}, fmt.Errorf("revision %d: %s has format %d, written by a newer wbd (this one reads %d), skipped", n, path, r.Format, Format)
	}
	if r.Number != n {
		return Revision{}, fmt.Errorf("revision %d: %s says it is revision %d, skipped", n, path, r.Number)
	}
	return r, nil
}

func number(name string) (int, bool) {
	base, ok := strings.CutSuffix(name, ".json")
	if !ok || len(base) != 6 {
		return 0, false
	}
	n, err := strconv.Atoi(base)
	return n, err == nil && n > 0
}

// Add writes r as the revision after the newest on disk (skipped files
// count: a number is never reused) and prunes the history to Keep. It
// returns r with its number.
func (s *Store) Add(r Revision) (Revision, error) {
	if err := instdir.MkdirAllIn(s.root, s.dir, 0o755); err != nil {
		return r, fmt.Errorf("revisions: %w", err)
	}
	ents, err := instdir.ReadDirIn(s.root, s.dir)
	if err != nil {
		return r, fmt.Errorf("revisions: %w", err)
	}
	last := 0
	for _, e := range ents {
		if n, ok := number(e.Name()); ok {
			last = max(last, n)
		}
	}
	r.Number, r.Format = last+1, Format
	if err := s.Write(r); err != nil {
		return r, err
	}
	return r, s.prune()
}

// Write replaces revision r.Number on disk, atomically.
func (s *Store) Write(r Revision) error {
	r.Format = Format
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := instdir.WriteFileIn(s.root, s.Path(r.Number), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("revision %d: %w", r.Number, err)
	}
	return nil
}

// prune removes revisions past Keep, but never the newest healthy one.
func (s *Store) prune() error {
	h, _ := s.Load()
	if len(h) <= Keep {
		return nil
	}
	cur := h.Current()
	for _, r := range h[Keep:] {
		if cur != nil && r.Number == cur.Number {
			continue
		}
		if err := instdir.RemoveIn(s.root, s.Path(r.Number)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("revisions: %w", err)
		}
	}
	return nil
}
