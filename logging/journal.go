// Package logging is how wbd logs under systemd: through the journal's
// own protocol, with a priority per level and the attributes as fields
// (INSTANCE=, HOST=, REVISION=...), so that `journalctl -u wbd -p err` and
// `journalctl INSTANCE=testing` find what they ask for.
package logging

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"

	slogjournal "github.com/systemd/slog-journal"
)

// IsJournalStream reports whether f is the stream systemd connected to the
// journal, as JOURNAL_STREAM (DEVICE:INODE) names it: only then is the
// journal where the output would go anyway. A JOURNAL_STREAM inherited by
// a process whose stderr was redirected elsewhere does not match.
func IsJournalStream(f *os.File) bool {
	env := os.Getenv("JOURNAL_STREAM")
	if env == "" || f == nil {
		return false
	}
	var dev, ino uint64
	if _, err := fmt.Sscanf(env, "%d:%d", &dev, &ino); err != nil {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return uint64(st.Dev) == dev && uint64(st.Ino) == ino
}

// Journal returns a handler sending each record to the journal: MESSAGE is
// the message followed by its attributes as the text format writes them
// (what `journalctl -u wbd` shows), PRIORITY follows the level, and every
// attribute is a field too, its key in upper case ("instance" becomes
// INSTANCE=). replace, when set, sees every attribute first (redaction).
func Journal(level slog.Leveler, replace func(groups []string, a slog.Attr) slog.Attr) (slog.Handler, error) {
	j, err := slogjournal.NewHandler(&slogjournal.Options{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if replace != nil {
				a = replace(groups, a)
			}
			a.Key = fieldName(a.Key)
			return a
		},
		ReplaceGroup: fieldName,
	})
	if err != nil {
		return nil, err
	}
	return &withText{j: j, level: level, replace: replace}, nil
}

// fieldName is key as a journal field name: upper case, [A-Z0-9_] only,
// not starting with a digit or "_" (those are the journal's own).
func fieldName(key string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(key) {
		switch {
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.TrimLeft(b.String(), "_")
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		s = "X" + s
	}
	return s
}

// withText puts the attributes into MESSAGE as well as into fields: the
// journal's default view shows MESSAGE alone, and "reconcile failed" says
// little without its instance and error.
type withText struct {
	j       slog.Handler
	level   slog.Leveler
	replace func([]string, slog.Attr) slog.Attr
	ops     []op // WithAttrs and WithGroup, in order, for the text
}

type op struct {
	attrs []slog.Attr
	group string
}

func (h *withText) Enabled(ctx context.Context, l slog.Level) bool { return h.j.Enabled(ctx, l) }

func (h *withText) Handle(ctx context.Context, r slog.Record) error {
	var buf bytes.Buffer
	var t slog.Handler = slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
				return slog.Attr{}
			}
			if h.replace != nil {
				return h.replace(groups, a)
			}
			return a
		},
	})
	for _, o := range h.ops {
		if o.group != "" {
			t = t.WithGroup(o.group)
		} else {
			t = t.WithAttrs(o.attrs)
		}
	}
	rt := slog.NewRecord(r.Time, r.Level, "", 0)
	r.Attrs(func(a slog.Attr) bool { rt.AddAttrs(a); return true })
	if err := t.Handle(ctx, rt); err != nil {
		return err
	}
	msg := r.Message
	if text := strings.TrimSpace(buf.String()); text != "" {
		msg += " " + text
	}
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	r.Attrs(func(a slog.Attr) bool { out.AddAttrs(a); return true })
	return h.j.Handle(ctx, out)
}

func (h *withText) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.j = h.j.WithAttrs(attrs)
	c.ops = append(append([]op(nil), h.ops...), op{attrs: attrs})
	return &c
}

func (h *withText) WithGroup(name string) slog.Handler {
	c := *h
	c.j = h.j.WithGroup(name)
	c.ops = append(append([]op(nil), h.ops...), op{group: name})
	return &c
}
