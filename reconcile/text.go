package reconcile

import "strings"

// oneLine is err on one line, for a log or status field: the entries of a
// spec.ErrorList are joined with "; ".
func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}

func joinShort(names []string) string {
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + ", …"
	}
	return strings.Join(names, ", ")
}
