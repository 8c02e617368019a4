package reconcile

import (
	"fmt"
	"strings"

	"github.com/wbd-dev/wbd/lifecycle"
)

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

// describePlan says what a plan would change: "app recreate (image: a -> b)".
func describePlan(p lifecycle.Plan) string {
	var parts []string
	if len(p.Legacy) > 0 {
		parts = append(parts, fmt.Sprintf("%d legacy containers in the way", len(p.Legacy)))
	}
	for _, m := range p.Renames {
		parts = append(parts, m.Service+" rename ("+m.Name+" -> "+m.Want+")")
	}
	for _, s := range p.Services {
		if s.Action == lifecycle.ActionUnchanged {
			continue
		}
		part := s.Service + " " + string(s.Action)
		if len(s.Changes) > 0 {
			why := make([]string, len(s.Changes))
			for i, c := range s.Changes {
				why[i] = c.String()
			}
			part += " (" + strings.Join(why, "; ") + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}
