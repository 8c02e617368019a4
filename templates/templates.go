// Package templates holds wbd's default compose template, embedded in the
// binary. A user's own templates directory replaces it: it needs a file named
// compose.yaml.tmpl and may hold more *.tmpl files that it includes.
package templates

import "embed"

// Main is the template every instance is rendered from.
const Main = "compose.yaml.tmpl"

// FS holds the default templates.
//
//go:embed *.tmpl
var FS embed.FS
