package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"text/template"
)

var funcs = template.FuncMap{
	"yaml":    yamlString,
	"json":    jsonValue,
	"prepend": func(first string, rest []string) []string { return append([]string{first}, rest...) },
}

// yamlString quotes s as a YAML double-quoted scalar (JSON's escapes are
// YAML's) with $ doubled, so compose takes it literally, not as ${VAR}.
func yamlString(s string) (string, error) {
	q, err := jsonValue(s)
	return strings.ReplaceAll(q, "$", "$$"), err
}

func jsonValue(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
