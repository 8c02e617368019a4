package render

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"
)

// funcs are the functions a template has to put values into compose YAML.
// Every value wbd renders goes through one of them, so that it reaches the
// container exactly as instances.yaml wrote it.
var funcs = template.FuncMap{
	"yaml": yamlValue,
	"key":  yamlKey,
	// json is yaml: what it writes always lands in compose YAML, where a
	// JSON string is a YAML one, and so needs the same escapes.
	"json":    yamlValue,
	"prepend": func(first string, rest []string) []string { return append([]string{first}, rest...) },
}

// yamlValue writes v as a YAML flow node that compose-go reads back as v: a
// string double-quoted with every character YAML could read otherwise
// escaped and each $ doubled, since compose interpolates ${VAR} in values
// (not in keys) and $$ is its literal $; a list or map as a flow
// collection of such strings; numbers and booleans as themselves.
func yamlValue(v any) (string, error) {
	return flow(reflect.ValueOf(v), true)
}

// yamlKey writes s as a quoted mapping key. Compose does not interpolate
// keys, so $ stays single; the quotes keep names such as 2024, true, NULL
// or Y strings.
func yamlKey(s string) (string, error) {
	return quote(s, false)
}

func flow(v reflect.Value, dollars bool) (string, error) {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "null", nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return quote(v.String(), dollars)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), nil
	case reflect.Slice, reflect.Array:
		items := make([]string, v.Len())
		for i := range items {
			s, err := flow(v.Index(i), dollars)
			if err != nil {
				return "", err
			}
			items[i] = s
		}
		return "[" + strings.Join(items, ", ") + "]", nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			break
		}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		slices.Sort(keys)
		items := make([]string, len(keys))
		for i, k := range keys {
			qk, err := quote(k, false)
			if err != nil {
				return "", err
			}
			val, err := flow(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())), dollars)
			if err != nil {
				return "", err
			}
			items[i] = qk + ": " + val
		}
		return "{" + strings.Join(items, ", ") + "}", nil
	}
	return "", fmt.Errorf("cannot write a %s into YAML", v.Type())
}

// quote writes s as a YAML double-quoted scalar. Only printable characters
// that are no line break in any YAML version are written as themselves:
// U+0085, U+2028 and U+2029 would be folded into spaces, U+FEFF dropped,
// and control characters, U+FFFE and U+FFFF are not allowed in a YAML
// stream at all.
func quote(s string, dollars bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%q is not valid UTF-8, which YAML cannot hold", s)
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '$' && dollars:
			b.WriteString("$$")
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case plain(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02X`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			fmt.Fprintf(&b, `\U%08X`, r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

// plain reports whether r may stand for itself inside double quotes.
func plain(r rune) bool {
	switch {
	case r >= 0x20 && r <= 0x7e:
		return true
	case r == 0x2028 || r == 0x2029 || r == 0xfeff:
		return false
	case r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}
