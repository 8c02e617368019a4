package render

import (
	"bytes"
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"
)

// ExtensionPull is the top-level key of a rendered project listing the
// images its instance pulls and never runs (spec.Instance.Pull). Render
// writes it after the template's output, whatever the template, so that
// compose.yaml, its revisions and `wbd render` say what is pulled, and a
// change of the list is a change of the instance. Compose ignores x- keys.
const ExtensionPull = "x-wbd-pull"

// withPull appends the pull list to a template's output.
func withPull(out []byte, pull []string) ([]byte, error) {
	if len(pull) == 0 {
		return out, nil
	}
	var b bytes.Buffer
	b.Write(out)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		b.WriteByte('\n')
	}
	b.WriteString("\n# Pulled by wbd with the services' images, never run.\n" + ExtensionPull + ":\n")
	for _, ref := range pull {
		q, err := yamlValue(ref)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ExtensionPull, err)
		}
		fmt.Fprintf(&b, "  - %s\n", q)
	}
	return b.Bytes(), nil
}

// PullImages returns the images a project lists under ExtensionPull.
func PullImages(p *types.Project) []string {
	list, _ := p.Extensions[ExtensionPull].([]any)
	var out []string
	for _, v := range list {
		if s, ok := v.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}
