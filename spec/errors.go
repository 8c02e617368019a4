package spec

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; every Error unwraps to one of them.
var (
	ErrSyntax       = errors.New("invalid YAML")
	ErrDocument     = errors.New("more than one YAML document")
	ErrVersion      = errors.New("unsupported version")
	ErrRequired     = errors.New("required")
	ErrUnknownField = errors.New("unknown field")
	ErrDuplicate    = errors.New("duplicate key")
	ErrType         = errors.New("wrong type")
	ErrName         = errors.New("invalid instance name")
	ErrPath         = errors.New("invalid path")
	ErrPort         = errors.New("invalid port")
	ErrPortConflict = errors.New("port already published")
	ErrImage        = errors.New("invalid image reference")
	ErrEnv          = errors.New("invalid environment variable")
	ErrSecret       = errors.New("secret in the file")
	ErrHost         = errors.New("invalid Docker endpoint")
)

// Error is one problem in a file, at a position and a field path such as
// instances.testing.port.
type Error struct {
	File      string
	Line, Col int
	Field     string
	Msg       string
	Err       error // a sentinel above
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every problem found in one file, in file order.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.Is find any entry's sentinel.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}
