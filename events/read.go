package events

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/wbd-dev/wbd/instdir"
)

// maxLine bounds one line: an event is a few hundred bytes.
const maxLine = 64 << 10

// Filter selects events; the zero Filter selects all.
type Filter struct {
	Instance string
}

func (f Filter) match(e Event) bool { return f.Instance == "" || e.Instance == f.Instance }

// Read returns the events of root's log, oldest first: the rotated file,
// then the current one. A root with no log has no events. A line that is
// not an event is skipped and reported to bad (FILE:LINE: why).
func Read(root string, f Filter, bad func(error)) ([]Event, error) {
	var out []Event
	for _, p := range []string{Path(root) + ".1", Path(root)} {
		file, err := instdir.OpenIn(root, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return out, err
		}
		_, err = scan(file, p, 0, f, bad, func(e Event) { out = append(out, e) })
		file.Close()
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// Last returns the n newest events of root's log that f selects, oldest
// first. It reads the log from its end, as much as it takes: a status page
// refreshing every few seconds does not read megabytes each time.
func Last(root string, n int, f Filter) ([]Event, error) {
	var out []Event
	for _, p := range []string{Path(root), Path(root) + ".1"} {
		if len(out) >= n {
			break
		}
		file, err := instdir.OpenIn(root, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return out, err
		}
		evs, err := tail(file, p, n-len(out), f)
		file.Close()
		if err != nil {
			return out, err
		}
		out = append(evs, out...)
	}
	return out, nil
}

// tail returns the last n events of file that f selects, reading chunks
// from its end, each four times the one before.
func tail(file *os.File, path string, n int, f Filter) ([]Event, error) {
	fi, err := file.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	for chunk := int64(64 << 10); ; chunk *= 4 {
		off := max(size-chunk, 0)
		buf := make([]byte, size-off)
		if _, err := file.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if off > 0 {
			// The chunk's first line began before it.
			nl := bytes.IndexByte(buf, '\n')
			if nl < 0 {
				continue
			}
			buf = buf[nl+1:]
		}
		var evs []Event
		if _, err := scan(bytes.NewReader(buf), path, 0, f, nil, func(e Event) { evs = append(evs, e) }); err != nil {
			return nil, err
		}
		if len(evs) >= n || off == 0 {
			if len(evs) > n {
				evs = evs[len(evs)-n:]
			}
			return evs, nil
		}
	}
}

// scan reads complete lines of r from line number line on, and returns how
// many bytes it consumed: a line not ended yet is left for the next scan.
func scan(r io.Reader, path string, line int, f Filter, bad func(error), fn func(Event)) (int64, error) {
	br := bufio.NewReaderSize(r, maxLine)
	var used int64
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// Too long to be an event: skip to its end.
			n := int64(len(b))
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = br.ReadSlice('\n')
				n += int64(len(b))
			}
			if err != nil {
				return used, nilEOF(err)
			}
			used += n
			line++
			report(bad, fmt.Errorf("%s:%d: a line longer than %d bytes is not an event", path, line, maxLine))
			continue
		}
		if err != nil {
			return used, nilEOF(err)
		}
		used += int64(len(b))
		line++
		var e Event
		if jerr := json.Unmarshal(b, &e); jerr != nil || e.Instance == "" || e.Action == "" {
			if jerr == nil {
				jerr = errors.New("no instance or action")
			}
			report(bad, fmt.Errorf("%s:%d: not an event: %w", path, line, jerr))
			continue
		}
		if f.match(e) {
			fn(e)
		}
	}
}

func nilEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func report(bad func(error), err error) {
	if bad != nil {
		bad(err)
	}
}

// Follow calls fn with every event f selects that is appended to root's log
// from now on, following it across rotations, until ctx ends. It looks
// every poll.
func Follow(ctx context.Context, root string, poll time.Duration, f Filter, bad func(error), fn func(Event)) error {
	path := Path(root)
	var (
		cur *os.File
		off int64 // consumed of cur: complete lines only
	)
	defer func() {
		if cur != nil {
			cur.Close()
		}
	}()
	open := func(atEnd bool) error {
		file, err := instdir.OpenIn(root, path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // not written yet
		}
		if err != nil {
			return err
		}
		off = 0
		if atEnd {
			fi, err := file.Stat()
			if err != nil {
				file.Close()
				return err
			}
			off = fi.Size()
		}
		cur = file
		return nil
	}
	readNew := func() error {
		n, err := scan(io.NewSectionReader(cur, off, 1<<62), path, 0, f, bad, fn)
		off += n
		return err
	}
	if err := open(true); err != nil {
		return err
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if cur == nil {
			if err := open(false); err != nil {
				return err
			}
		}
		if cur != nil {
			if err := readNew(); err != nil {
				return err
			}
			if rotated(root, path, cur) {
				// What reached the old file before it moved is read;
				// the new one is read from its start.
				if err := readNew(); err != nil {
					return err
				}
				cur.Close()
				cur = nil
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// rotated reports whether path is no longer the file f.
func rotated(root, path string, f *os.File) bool {
	g, err := instdir.OpenIn(root, path)
	if err != nil {
		return false
	}
	defer g.Close()
	a, err1 := f.Stat()
	b, err2 := g.Stat()
	return err1 == nil && err2 == nil && !os.SameFile(a, b)
}
