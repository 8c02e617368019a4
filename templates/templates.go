// Package templates holds wbd's default compose template, embedded in the
// binary. A user's own templates directory replaces it: it needs a file named
// compose.yaml.tmpl and may hold more *.tmpl files that it includes.
//
// A template sees render.Data and has these functions to write it into
// YAML exactly: yaml quotes any value (string, list, map, number) and
// doubles its $ so that compose does not interpolate it; key quotes a
// mapping key (compose does not interpolate keys), so that names such as
// 2024 or NULL stay strings; json is yaml. A value written bare, or inside
// quotes of the template's own, is read as YAML and compose read it, not as written. wbd sets
// its ownership labels on every service and network after loading the
// output; secret_env's values are never in Data, only the env file's path
// (Secrets.AppEnv) and the variables' names (SecretEnv).
package templates

import "embed"

// Main is the template every instance is rendered from.
const Main = "compose.yaml.tmpl"

// FS holds the default templates.
//
//go:embed *.tmpl
var FS embed.FS
