package spec

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ParseFile parses data read from the file at path: as Parse, with a
// relative templates directory taken relative to the file's own directory.
func ParseFile(path string, data []byte) (*Config, error) {
	cfg, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if cfg.Templates != "" && !filepath.IsAbs(cfg.Templates) {
		abs, err := filepath.Abs(filepath.Join(filepath.Dir(path), cfg.Templates))
		if err != nil {
			return nil, fmt.Errorf("%s: templates: %w", path, err)
		}
		cfg.Templates = abs
	}
	return cfg, nil
}

// Parse parses data as an instances.yaml. name only appears in messages. On
// failure the error is an ErrorList holding every problem in the file.
func Parse(name string, data []byte) (*Config, error) {
	p := &parser{file: name}
	cfg := p.parse(data)
	if len(p.errs) > 0 {
		sortErrors(p.errs)
		return nil, p.errs
	}
	return cfg, nil
}

type parser struct {
	file string
	errs ErrorList
	seen map[Error]bool // errs by value, to say each once
}

func (p *parser) errorf(n *yaml.Node, field string, sentinel error, format string, args ...any) {
	e := &Error{File: p.file, Field: field, Err: sentinel, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	// A bad value under defaults is met once per instance; say it once.
	if p.seen[*e] {
		return
	}
	if p.seen == nil {
		p.seen = map[Error]bool{}
	}
	p.seen[*e] = true
	p.errs = append(p.errs, e)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *parser) parse(data []byte) *Config {
	if !p.source(data) {
		return nil
	}
	doc := p.document(data)
	if doc == nil {
		return nil
	}
	top := resolve(doc.Content[0])
	if top.Kind != yaml.MappingNode {
		p.errorf(top, "", ErrType, "must be a mapping with version, root and instances")
		return nil
	}

	cfg := &Config{File: p.file, Networks: DefaultNetworks}
	var version, defaults, instances *yaml.Node
	p.eachPair(top, "", func(key, val *yaml.Node, field string) {
		switch key.Value {
		case "version":
			version = val
		case "root":
			cfg.Root = p.root(val, field)
		case "templates":
			if v, ok := p.str(val, field); ok {
				cfg.Templates = v
				if v == "" {
					p.errorf(val, field, ErrPath, "must name a directory")
				}
			}
		case "networks":
			cfg.Networks = p.networks(val, field)
		case "defaults":
			defaults = val
		case "instances":
			instances = val
		default:
			p.unknown(key, field, "version, root, templates, networks, defaults, instances")
		}
	})
	p.version(top, version)
	if cfg.Root == "" && !p.has(top, "root") {
		p.errorf(top, "root", ErrRequired, "required: the absolute directory that holds one directory per instance")
	}
	var def layer
	if defaults != nil {
		def = p.layer(defaults, "defaults")
		p.decode(def, nil, nil, "defaults") // report bad defaults even with no instance
	}
	if instances == nil {
		p.errorf(top, "instances", ErrRequired, "required: a mapping of instance name to its fields")
		return cfg
	}
	cfg.Instances = p.instances(instances, def, cfg.Root)
	return cfg
}

// document returns the file's one document, reporting a second one: a
// parser that read only the first would quietly drop the instances of
// the rest, and wbd run would take them down. Documents that hold nothing
// (a trailing ---, one with every line commented out) are no content.
func (p *parser) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc *yaml.Node
	for {
		var d yaml.Node
		err := dec.Decode(&d)
		if err == io.EOF {
			break
		}
		if err != nil {
			e := &Error{File: p.file, Err: ErrSyntax, Msg: err.Error()}
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				e.Line, _ = strconv.Atoi(m[1])
				e.Col, e.Msg = 1, m[2]
			}
			p.errs = append(p.errs, e)
			return nil
		}
		if emptyDocument(&d) {
			continue
		}
		if doc != nil {
			p.errorf(&d, "", ErrDocument, "a second YAML document starts here; instances.yaml is one document: remove the --- and put every instance under the one instances:")
			return nil
		}
		doc = &d
	}
	if doc == nil {
		p.errorf(nil, "", ErrRequired, "file is empty; it needs version: %d, root and instances", Version)
	}
	return doc
}

func emptyDocument(d *yaml.Node) bool {
	if len(d.Content) == 0 {
		return true
	}
	n := d.Content[0]
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Value == "" && n.Style == 0
}

// eachPair walks a mapping's keys, reporting duplicates and non-string keys.
func (p *parser) eachPair(m *yaml.Node, path string, fn func(key, val *yaml.Node, field string)) {
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := resolve(m.Content[i]), resolve(m.Content[i+1])
		field := join(path, key.Value)
		if key.Kind != yaml.ScalarNode {
			p.errorf(key, path, ErrType, "keys must be plain strings")
			continue
		}
		if key.Value == "<<" {
			p.errorf(key, field, ErrUnknownField, "YAML merge keys are not supported; put shared fields under defaults")
			continue
		}
		if first, ok := seen[key.Value]; ok {
			p.errorf(key, field, ErrDuplicate, "duplicate key, first set at line %d", first.Line)
			continue
		}
		seen[key.Value] = key
		fn(key, val, field)
	}
}

func (p *parser) has(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return true
		}
	}
	return false
}

func (p *parser) unknown(key *yaml.Node, field, known string) {
	p.errorf(key, field, ErrUnknownField, "unknown field %q (known: %s)", key.Value, known)
}

func (p *parser) version(top, n *yaml.Node) {
	if n == nil {
		p.errorf(top, "version", ErrRequired, "required: this wbd reads version: %d", Version)
		return
	}
	if n.Kind == yaml.ScalarNode && isNumber(n) && !decimalRE.MatchString(n.Value) {
		p.errorf(n, "version", ErrVersion, "%s; this wbd reads version: %d", notDecimal(n), Version)
		return
	}
	if n.Kind != yaml.ScalarNode || n.Value != strconv.Itoa(Version) {
		p.errorf(n, "version", ErrVersion, "unsupported version %q: this wbd reads version: %d", n.Value, Version)
	}
}

// decimalRE is an integer as instances.yaml writes one. YAML 1.1 reads
// 07001 as octal and accepts 0x, 0o, 0b, '_' and '+'; YAML 1.2 reads
// 07001 as 7001. Refusing all of them leaves one meaning for every number.
var decimalRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// isNumber reports a scalar YAML reads as a number written with digits
// (not .inf or .nan).
func isNumber(n *yaml.Node) bool {
	return (n.Tag == "!!int" || n.Tag == "!!float") && strings.ContainsAny(n.Value, "0123456789")
}

func notDecimal(n *yaml.Node) string {
	return fmt.Sprintf("integers in instances.yaml are decimal, got %s: write it without leading zeros, 0x, 0o, '_', '+' or a fraction", n.Value)
}

func (p *parser) root(n *yaml.Node, field string) string {
	root, ok := p.str(n, field)
	switch {
	case !ok:
		return ""
	case root == "":
		p.errorf(n, field, ErrPath, "must be an absolute directory, got an empty value")
	case !filepath.IsAbs(root):
		p.errorf(n, field, ErrPath, "must be an absolute directory, got %q", root)
	case filepath.Clean(root) != root:
		p.errorf(n, field, ErrPath, "must be a clean path, got %q (did you mean %q?)", root, filepath.Clean(root))
	case systemDir(root):
		p.errorf(n, field, ErrPath, "%s is a system directory; wbd keeps a directory per instance under root, so give it one of its own, such as /srv/wbd", root)
	}
	return root
}

// systemDirs may not be root; neither may anything under the ones marked
// true, which belong to the system or to the Docker engine.
var systemDirs = map[string]bool{
	"/": false, "/var": false, "/run": false, "/var/run": false, "/var/lib": false,
	"/home": false, "/root": false,
	"/etc": true, "/proc": true, "/dev": true, "/sys": true, "/usr": true, "/boot": true,
	"/bin": true, "/sbin": true, "/lib": true, "/lib32": true, "/lib64": true, "/libx32": true,
	"/var/lib/docker": true,
}

func systemDir(root string) bool {
	if _, ok := systemDirs[root]; ok {
		return true
	}
	for d := filepath.Dir(root); d != "/"; d = filepath.Dir(d) {
		if systemDirs[d] {
			return true
		}
	}
	return false
}

// str returns a scalar's text as written, whatever type YAML reads it as;
// null is "". It reports false when it has reported the value.
func (p *parser) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, field, ErrType, "must be a string, got %s", kind(n))
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	if !p.text(n, field) {
		return "", false
	}
	return n.Value, true
}

// port returns a port number, reporting anything outside 1-65535.
func (p *parser) port(n *yaml.Node, field string) int {
	if n.Kind == yaml.ScalarNode && isNumber(n) && !decimalRE.MatchString(n.Value) {
		p.errorf(n, field, ErrPort, "%s", notDecimal(n))
		return 0
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		p.errorf(n, field, ErrPort, "must be a port number 1-65535, got %s", describe(n))
		return 0
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil || v < 1 || v > 65535 {
		p.errorf(n, field, ErrPort, "must be 1-65535, got %s", n.Value)
		return 0
	}
	return int(v)
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		switch n.Tag {
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		}
		return "a string"
	}
	return "unknown YAML"
}

func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return strconv.Quote(n.Value)
	}
	return kind(n)
}
