package spec

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Characters a file may not hold as written. YAML reads U+0085, U+2028 and
// U+2029 as line breaks in some places and keeps or folds them into a space
// in others, so a value holding one would not mean what it shows; written
// as the escapes \N, \L and \P inside double quotes they are kept exactly.
var lineBreaks = map[rune]string{
	'\u0085': `U+0085 (NEL), which YAML reads as a line break; to mean the character, write it as \N inside double quotes`,
	'\u2028': `U+2028 (LINE SEPARATOR), which YAML reads as a line break; to mean the character, write it as \L inside double quotes`,
	'\u2029': `U+2029 (PARAGRAPH SEPARATOR), which YAML reads as a line break; to mean the character, write it as \P inside double quotes`,
}

// source reports, with their positions, characters YAML would refuse with
// no position or read as something other than what an editor shows. It
// reports false when the file cannot be parsed as it stands.
func (p *parser) source(data []byte) bool {
	if len(data) >= 2 && (data[0] == 0xFE && data[1] == 0xFF || data[0] == 0xFF && data[1] == 0xFE) {
		return true // UTF-16, which the YAML reader decodes and checks itself
	}
	ok := true
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		msg := ""
		switch {
		case r == utf8.RuneError && size == 1:
			// Once is enough: the rest of the file is in the same encoding.
			p.errs = append(p.errs, &Error{File: p.file, Line: line, Col: col, Err: ErrSyntax,
				Msg: fmt.Sprintf("is not UTF-8 here (byte 0x%02X); save the file as UTF-8", data[i])})
			return false
		case lineBreaks[r] != "":
			msg = "contains " + lineBreaks[r]
		case r == 0, r == 0xFFFE, r == 0xFFFF:
			msg = "contains " + unwritable(r)
		case !yamlPrintable(r):
			msg = fmt.Sprintf(`contains U+%04X, a control character YAML does not allow as written; to mean it, write it as \u%04X inside double quotes`, r, r)
		}
		if msg != "" {
			p.errs = append(p.errs, &Error{File: p.file, Line: line, Col: col, Err: ErrSyntax, Msg: msg})
			ok = false
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return ok
}

// yamlPrintable is the set of characters a YAML stream may hold as written.
func yamlPrintable(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0x7E || r == 0x85 ||
		r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

func unwritable(r rune) string {
	if r == 0 {
		return "U+0000, which no environment variable, argument or path can carry"
	}
	return fmt.Sprintf("U+%04X, which YAML cannot carry", r)
}

// text checks a scalar's value on its way into an Instance, once YAML's
// escapes are read: one that cannot reach a container, an argument list or
// a path exactly is an error here rather than a failure later with no
// position. Escaped \N, \L and \P are kept.
func (p *parser) text(n *yaml.Node, field string) bool {
	i := strings.IndexFunc(n.Value, func(r rune) bool { return r == 0 || r == 0xFFFE || r == 0xFFFF })
	if i < 0 {
		return true
	}
	r, _ := utf8.DecodeRuneInString(n.Value[i:])
	p.errorf(n, field, ErrType, "contains %s", unwritable(r))
	return false
}
