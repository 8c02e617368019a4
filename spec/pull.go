package spec

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

// pullKey prefixes the flattened entries of a pull list: pull.IMAGE, so
// that defaults and an instance merge as maps do, key by key, and an
// instance's list adds to the defaults' instead of replacing it.
const pullKey = "pull."

// pullList flattens a pull list into l, refusing what is not a list of
// strings, and an image listed twice in one list.
func (p *parser) pullList(l layer, key, val *yaml.Node, field string) {
	if val.Kind != yaml.SequenceNode {
		p.errorf(val, field, ErrType, "must be a list of image references, e.g. [timroberton/comb:wb-hmis-r-linux], got %s", kind(val))
		return
	}
	first := map[string]*yaml.Node{}
	for i, n := range val.Content {
		n = resolve(n)
		f := fmt.Sprintf("%s[%d]", field, i)
		ref, ok := p.str(n, f)
		if !ok {
			continue
		}
		if prev, dup := first[ref]; dup {
			p.errorf(n, f, ErrDuplicate, "image %q is listed twice, first at line %d", ref, prev.Line)
			continue
		}
		first[ref] = n
		l[pullKey+ref] = source{key, n, f}
	}
}

// pulls returns the merged pull list of l, each a valid image reference,
// sorted: the defaults' images and the instance's own, each once.
func (p *parser) pulls(l layer) []string {
	var out []string
	for _, k := range sortedKeys(l, pullKey) {
		if ref := p.image(l[k]); ref != "" {
			out = append(out, ref)
		}
	}
	return slices.Compact(out)
}
