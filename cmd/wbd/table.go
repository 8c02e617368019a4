package main

import (
	"bytes"
	"io"
	"text/tabwriter"
)

// table lays out wbd's tables: columns two spaces apart, as tabwriter
// does, and lines that end at their last character. tabwriter pads every
// cell but a line's last one, so a line whose last cell is empty (a plan's
// unchanged service has no why) ended in spaces, which diffs, copies and
// `grep ' $'` all show.
type table struct {
	w   io.Writer
	buf bytes.Buffer
	tw  *tabwriter.Writer
}

func newTable(w io.Writer) *table {
	t := &table{w: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	return t
}

func (t *table) Write(p []byte) (int, error) { return t.tw.Write(p) }

// Flush writes the lines so far, each without its trailing spaces.
func (t *table) Flush() error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	var out bytes.Buffer
	for line := range bytes.Lines(t.buf.Bytes()) {
		end := bytes.TrimRight(line, "\n")
		out.Write(bytes.TrimRight(end, " "))
		if len(end) < len(line) {
			out.WriteByte('\n')
		}
	}
	t.buf.Reset()
	_, err := t.w.Write(out.Bytes())
	return err
}
